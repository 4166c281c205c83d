//! A userspace driver for QEMU's edu device, written on the mmiodrv library:
//! a model for writing your own.
//!
//! Run it in the lab guest (the VM tests do): `edu_driver 0000:00:04.0`.
//! Bound to vfio-pci it also takes an interrupt and does a DMA round trip.

use std::time::Duration;

use mmiodrv::backend::BackendKind;
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv_drivers::edu::{DmaOptions, Edu};

fn main() {
    let address = std::env::args().nth(1).unwrap_or_else(|| "0000:00:04.0".into());
    if let Err(e) = run(&address) {
        // Library errors are values: a one-line message, a class, and a remedy
        // a front end words as it likes.
        eprintln!("edu_driver: {e}");
        if let Some(fix) = e.remedy() {
            eprintln!("edu_driver: fix: {fix}");
        }
        std::process::exit(1);
    }
}

fn run(address: &str) -> mmiodrv::Result<()> {
    // 1. Find the device and open it through the backend its driver allows.
    let device = Device::open(address, OpenOptions::default())?;
    let backend = device.backend();
    println!("opened {} through {}", device.device(), backend.kind());

    // 2. The typed driver checks the IDs and opens BAR0.
    let edu = Edu::open(backend)?;
    let id = edu.id()?;
    println!("edu v{}.{}", id.major, id.minor);

    // 3. Registers: liveness returns the inverse; the factorial is computed by the device.
    let live = edu.liveness(0x1234_5678)?;
    println!("liveness: wrote {:#010x}, read {:#010x}", live.wrote, live.read);
    println!("10! = {}", edu.factorial(10, Duration::from_secs(1))?);

    // 4. Interrupts and DMA need VFIO.
    if backend.kind() == BackendKind::Vfio {
        let (value, irq) = edu.factorial_irq(12, Duration::from_secs(2))?;
        println!("12! = {value} (interrupt: {} vector {})", irq.kind, irq.vector);

        let message = b"DMA through the IOMMU";
        edu.dma_to_device(message, 0x80, DmaOptions::default())?;
        let back = edu.dma_from_device(message.len(), 0x80, DmaOptions { irq: true, ..DmaOptions::default() })?;
        println!("DMA round trip: {}", if back == message { "identical" } else { "DIFFERENT" });
    }
    Ok(())
}
