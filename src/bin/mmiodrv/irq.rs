//! `wait-irq`, and the waiting behind `write --wait-irq`.

use std::time::{Duration, Instant};

use mmiodrv::backend::{Interrupts, IrqEvent};
use mmiodrv::error::{Error, Result};

use crate::args::{Cli, IrqArgs, WaitIrqArgs};
use crate::context::open_device;
use crate::output::print_json;

pub fn wait(cli: &Cli, args: &WaitIrqArgs) -> Result<()> {
    let dev = open_device(cli)?;
    let mut irqs = dev.backend.interrupts(args.irq.index)?;
    log::info!(
        "{}: waiting for {} ({} vector(s)), up to {} ms",
        dev.name(),
        irqs.kind(),
        irqs.vectors(),
        args.irq.timeout
    );
    wait_and_report(cli, &dev.name(), irqs.as_mut(), &args.irq, args.count, false)
}

/// Wait for `count` events (on `--vector` if given) within the timeout, printing each.
pub fn wait_and_report(
    cli: &Cli,
    device: &str,
    irqs: &mut dyn Interrupts,
    args: &IrqArgs,
    count: u32,
    quiet: bool,
) -> Result<()> {
    if let Some(v) = args.vector.filter(|v| *v >= irqs.vectors()) {
        return Err(Error::Unsupported {
            device: device.to_string(),
            message: format!("{} has {} vector(s); there is no vector {v}", irqs.kind(), irqs.vectors()),
        });
    }
    let deadline = Instant::now() + Duration::from_millis(args.timeout);
    let mut seen: Vec<IrqEvent> = Vec::new();
    while seen.len() < count as usize {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = irqs.wait(left).map_err(|e| match e {
            Error::Timeout { device, what, .. } => Error::Timeout { device, what, ms: args.timeout },
            other => other,
        })?;
        if args.vector.is_some_and(|v| v != event.vector) {
            log::info!("{device}: {} vector {} fired; waiting for vector {:?}", event.kind, event.vector, args.vector);
            continue;
        }
        if !cli.json && !quiet {
            outln!("{device}: {} vector {} fired ({} event(s))", event.kind, event.vector, event.count);
        } else if quiet && !cli.json {
            outln!("{}", event.vector);
        }
        seen.push(event);
    }
    if cli.json {
        print_json(&serde_json::json!({ "device": device, "interrupts": seen }));
    }
    Ok(())
}
