//! A function of an `lspci -x`/`-xxx`/`-xxxx` dump (`-F FILE`): its config
//! space as the dump gives it, read-only, and nothing else (no BARs, no
//! interrupts). `config read` and the config window (`--bar config`) read
//! it as they read a device.

use crate::error::BackendError;
use std::path::Path;

use crate::backend::{Backend, BackendKind, BarInfo, BarOptions};
use crate::error::{DeviceRef, Error, Remedy, Result};
use crate::mmio::RegisterIo;
use crate::pci::{ConfigSpace, PciAddress};

/// One function of a dump.
#[derive(Clone, Debug)]
pub struct DumpBackend {
    name: String,
    address: Option<PciAddress>,
    config: Vec<u8>,
}

impl DumpBackend {
    /// The function at `name` (`0000:00:1f.3`) of the dump `path`, with its bytes.
    pub fn new(path: &Path, name: &str, address: Option<PciAddress>, config: Vec<u8>) -> Self {
        DumpBackend { name: format!("{name} in {}", path.display()), address, config }
    }

    /// Its PCI address, as the dump gives it.
    pub fn dumped_address(&self) -> Option<PciAddress> {
        self.address
    }

    fn read_only(&self, what: &'static str) -> Error {
        let remedy = Remedy::Text("a dump is read-only: run it on the machine the dump comes from".into());
        Error::on(self.device(), BackendError::BackendCannot { backend: BackendKind::Dump, what, remedy })
    }
}

impl Backend for DumpBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Dump
    }

    /// Named by the dump (an address of another machine is none of this one's).
    fn device(&self) -> DeviceRef {
        DeviceRef::Recorded(self.name.clone())
    }

    fn address(&self) -> Option<PciAddress> {
        None
    }

    fn read_config(&self) -> Result<ConfigSpace> {
        Ok(ConfigSpace::new(self.config.clone()))
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        Ok(Vec::new())
    }

    fn write_config_at(&self, _offset: u16, _width: crate::mmio::Width, _value: u64) -> Result<()> {
        Err(self.read_only("config space writes"))
    }

    fn open_bar(&self, _bar: u8, _options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        Err(self.read_only("BARs (a dump has config space only)"))
    }
}
