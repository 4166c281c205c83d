//! `blinky status|mode|ack`: blinky's commands, declared once and run by
//! every front end (the command line, batch scripts, the shell, the pipe
//! protocol, Python).

use mmiodrv::command::{Arg, Call, Command, Report, Run, Value};
use mmiodrv::error::{DeviceRef, Error, Result};
use mmiodrv::regmap::typed::FieldEnum;
use mmiodrv::value::Operand;

use super::{mode_name, Blinky, Mode, Status};

// ANCHOR: commands
const STATUS: Command = Command::new("status", "Print every register of blinky, decoded", Run::Call(status))
    .examples(&[("blinky --device sim:blinky blinky status", "on, Fast, 0 blinks, ready")]);

const MODE: Command = Command::new("mode", "Blink at MODE (Off turns the LED off)", Run::Call(mode))
    .args(&[Arg::positional(
        "MODE",
        Value::BitsOrName(2),
        "The speed: a name of CTRL.MODE's values (off, slow, medium, fast) or its number",
    )])
    .examples(&[("blinky --device sim:blinky blinky mode fast", "blink fast")]);

const ACK: Command = Command::new("ack", "Acknowledge what is pending (IRQ_STATUS, CTRL.EVENT)", Run::Call(ack))
    .examples(&[("blinky --device sim:blinky blinky ack", "the bits acknowledged")]);

/// blinky's commands (`blinky status`...).
pub const COMMANDS: &[Command] = &[STATUS, MODE, ACK];

/// The JSON each command reports, declared with the command.
pub fn results(r: &mut mmiodrv::schema::Results) {
    let blinky = &super::DRIVER.command;
    r.add::<StatusReport>(&[blinky, &STATUS]).add::<ModeReport>(&[blinky, &MODE]).add::<AckReport>(&[blinky, &ACK]);
}
// ANCHOR_END: commands

/// `blinky status`.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct StatusReport {
    /// The device.
    device: DeviceRef,
    /// The registers, decoded.
    #[serde(flatten)]
    status: Status,
}

/// `blinky mode`.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct ModeReport {
    /// The device.
    device: DeviceRef,
    /// The mode set.
    mode: &'static str,
}

/// `blinky ack`.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct AckReport {
    /// The device.
    device: DeviceRef,
    /// The bits acknowledged: IRQ_STATUS's, and bit 8 for CTRL.EVENT.
    acknowledged: u32,
}

// ANCHOR: run
fn status(call: &mut Call<'_>) -> Result<()> {
    let blinky = Blinky::open(call.device()?.backend())?;
    let s = blinky.status()?;
    let line = format!(
        "{}: {}, {}, {} blinks, {}{} (IRQ_STATUS {:#x})",
        blinky.device(),
        if s.enabled { "on" } else { "off" },
        s.mode,
        s.blinks,
        if s.ready { "ready" } else { "not ready" },
        if s.event { ", an event is pending" } else { "" },
        s.irq_status
    );
    call.report(Report::line(StatusReport { device: blinky.device().clone(), status: s }, line));
    Ok(())
}

fn mode(call: &mut Call<'_>) -> Result<()> {
    // A name is one of CTRL.MODE's, as the map has them (the one declaration).
    let mode = match call.args.operand("MODE")? {
        Operand::Number(n) => Mode::from_value(n),
        Operand::Name(name) => {
            super::regs::MAP.register("CTRL")?.field("MODE")?.value_named(&name).and_then(Mode::from_value)
        }
    }
    .ok_or_else(|| Error::invalid(call.args.text("MODE").unwrap_or_default(), "not one of CTRL.MODE's values"))?;
    let blinky = Blinky::open(call.device()?.backend())?;
    blinky.set_mode(mode)?;
    let line = format!("{}: blinking {}", blinky.device(), mode_name(mode));
    call.report(Report::line(ModeReport { device: blinky.device().clone(), mode: mode_name(mode) }, line));
    Ok(())
}

fn ack(call: &mut Call<'_>) -> Result<()> {
    let blinky = Blinky::open(call.device()?.backend())?;
    let acknowledged = blinky.acknowledge()?;
    let line = format!("{}: acknowledged {acknowledged:#x}", blinky.device());
    call.report(Report::line(AckReport { device: blinky.device().clone(), acknowledged }, line));
    Ok(())
}
// ANCHOR_END: run
