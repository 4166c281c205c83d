//! `wait-irq`, and the waiting behind `write --wait-irq`.

use std::time::Duration;

use mmiodrv::backend::Interrupts;
use mmiodrv::error::{DeviceRef, Result};

use crate::args::{Global, IrqArgs, WaitIrqArgs};
use crate::context::open_device;
use crate::output::print_json;

pub fn wait(g: &Global, args: &WaitIrqArgs) -> Result<()> {
    let dev = open_device(g)?;
    let mut irqs = dev.interrupts(args.irq.index)?;
    log::info!(
        "{}: waiting for {} ({} vector(s)), up to {} ms",
        dev.device(),
        irqs.kind(),
        irqs.vectors(),
        args.irq.timeout
    );
    wait_and_report(g, &dev.device(), irqs.as_mut(), &args.irq, args.count, false)
}

/// Wait for `count` events (on `--vector` if given) within the timeout, printing each.
pub fn wait_and_report(
    g: &Global,
    device: &DeviceRef,
    irqs: &mut dyn Interrupts,
    args: &IrqArgs,
    count: u32,
    quiet: bool,
) -> Result<()> {
    let seen = irqs.wait_count(args.vector, count, Duration::from_millis(args.timeout))?;
    for event in &seen {
        if !g.json && !quiet {
            outln!("{device}: {} vector {} fired ({} event(s))", event.kind, event.vector, event.count);
        } else if quiet && !g.json {
            outln!("{}", event.vector);
        }
    }
    if g.json {
        print_json(&serde_json::json!({ "device": device, "interrupts": seen }));
    }
    Ok(())
}
