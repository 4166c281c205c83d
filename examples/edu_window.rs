//! edu through the generic parts of the library, as you would drive a device
//! mmiodrv has no typed driver for: a register window that knows the map
//! (registers and fields by name, every access checked), and interrupts waited
//! for by vector.
//!
//! Run it in the lab guest with edu bound to vfio-pci (MSI) or
//! uio_pci_generic (INTx): `edu_window 0000:00:04.0`.

use std::time::Duration;

use mmiodrv::device::{Device, OpenOptions};

fn main() {
    let address = std::env::args().nth(1).unwrap_or_else(|| "0000:00:04.0".into());
    if let Err(e) = run(&address) {
        eprintln!("edu_window: {e}");
        std::process::exit(1);
    }
}

fn run(address: &str) -> mmiodrv::Result<()> {
    // The built-in drivers, as the mmiodrv binary has them: a device they
    // claim comes with its map (edu's registers by name).
    mmiodrv::drivers::install(mmiodrv_drivers::BUILTIN)?;
    let dev = Device::open(address, OpenOptions::default())?;
    // BAR0 with the map the built-in driver declares (no --regmap needed).
    let bar = dev.window(None, None, true)?;
    let reg = |name: &str| bar.resolve(name, None);

    let id = bar.read(&reg("ID")?)?;
    println!("ID = {id:#010x}, MAGIC = {:#x}", bar.read(&reg("ID.MAGIC")?)?);

    // Arm interrupts before the device can raise one.
    let mut irqs = dev.interrupts(None)?;
    println!("armed {} {} vector(s) through {}", irqs.vectors(), irqs.kind(), dev.backend().kind());

    // A field write changes only that field; then start 7! on the device.
    bar.write(&reg("STATUS.IRQ_FACT")?, 1)?;
    bar.write(&reg("FACTORIAL")?, 7)?;
    let event = irqs.wait_for(Some(0), Duration::from_secs(2))?;
    let pending = bar.read(&reg("IRQ_STATUS")?)?;
    println!("vector {} fired; IRQ_STATUS = {pending:#x}; 7! = {}", event.vector, bar.read(&reg("FACTORIAL")?)?);

    // Acknowledge, so the line drops (INTx) and the next wait is clean.
    bar.write(&reg("IRQ_ACK")?, pending)?;
    bar.write(&reg("STATUS.IRQ_FACT")?, 0)?;
    println!("acknowledged; IRQ_STATUS = {:#x}", bar.read(&reg("IRQ_STATUS")?)?);
    Ok(())
}
