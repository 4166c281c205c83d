//! `mmiodrv ivshmem ...` and `mmiodrv ivshmem-server` (being written; see issue 6).

use clap::Args;
use mmiodrv::error::{Error, Result};

use crate::args::Cli;

#[derive(Args, Debug)]
pub struct IvshmemArgs {}

#[derive(Args, Debug)]
pub struct ServerArgs {}

pub fn run(_cli: &Cli, _args: &IvshmemArgs) -> Result<()> {
    Err(Error::Unsupported { device: "ivshmem".into(), message: "not implemented yet".into() })
}

pub fn run_server(_cli: &Cli, _args: &ServerArgs) -> Result<()> {
    Err(Error::Unsupported { device: "ivshmem-server".into(), message: "not implemented yet".into() })
}
