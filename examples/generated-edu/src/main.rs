//! `edu-generated DEVICE`: edu's registers, generated from its map in every
//! format, on a device (`0000:00:04.0`, or `sim:examples/maps/edu.toml`).

use mmiodrv::backend::BarOptions;
use mmiodrv::device::{Device, OpenOptions};

fn main() {
    let spec = std::env::args().nth(1).unwrap_or_else(|| "0000:00:04.0".into());
    let run = || -> mmiodrv::Result<()> {
        let device = Device::open(&spec, OpenOptions::default())?;
        let bar = device.backend().open_bar(0, BarOptions::RW)?;
        for (format, seen) in generated_edu::exercise(bar.as_ref())? {
            println!(
                "{format}: ID {:#010x} MAGIC {:#x} LIVENESS {:#010x} DMA_CMD {:#x}",
                seen.id, seen.magic, seen.liveness, seen.dma_cmd
            );
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("edu-generated: {e}");
        std::process::exit(1);
    }
}
