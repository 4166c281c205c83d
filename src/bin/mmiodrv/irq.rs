//! `wait-irq`, and the waiting behind `write --wait-irq`.

use std::time::{Duration, Instant};

use mmiodrv::backend::{Interrupts, IrqEvent};
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
    let timeout = Duration::from_millis(args.timeout);
    let deadline = Instant::now() + timeout;
    let mut seen: Vec<IrqEvent> = Vec::new();
    while seen.len() < count as usize {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = irqs.wait_for(args.vector, left).map_err(|e| retime(e, timeout))?;
        if !g.json && !quiet {
            outln!("{device}: {} vector {} fired ({} event(s))", event.kind, event.vector, event.count);
        } else if quiet && !g.json {
            outln!("{}", event.vector);
        }
        seen.push(event);
    }
    if g.json {
        print_json(&serde_json::json!({ "device": device, "interrupts": seen }));
    }
    Ok(())
}

/// A timeout names the whole time waited, not what was left of it.
fn retime(e: mmiodrv::Error, total: Duration) -> mmiodrv::Error {
    use mmiodrv::ErrorKind;
    match e.kind() {
        ErrorKind::Timeout { what, .. } => {
            let kind = ErrorKind::Timeout { what: what.clone(), ms: total.as_millis() as u64 };
            match e.device() {
                Some(d) => mmiodrv::Error::on(d.clone(), kind),
                None => kind.into(),
            }
        }
        _ => e,
    }
}
