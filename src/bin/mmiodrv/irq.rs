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

/// Wait for `count` interrupts (on `--vector` if given) within the timeout,
/// printing each event as it comes.
pub fn wait_and_report(
    g: &Global,
    device: &DeviceRef,
    irqs: &mut dyn Interrupts,
    args: &IrqArgs,
    count: u32,
    quiet: bool,
) -> Result<()> {
    let timeout = Duration::from_millis(args.timeout);
    let seen = irqs.wait_count(args.vector, u64::from(count), timeout, &mut |event| {
        if !g.json && !quiet {
            outln!("{device}: {} vector {} fired ({} event(s))", event.kind, event.vector, event.count);
        } else if quiet && !g.json {
            outln!("{}", event.vector);
        }
    })?;
    if g.json {
        print_json(&serde_json::json!({ "device": device, "interrupts": seen }));
    }
    Ok(())
}
