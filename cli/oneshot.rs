//! The one-shot front end: one operation from the command line, run by the
//! library's executor on a session of its own, each result printed as it
//! comes.

use mmiodrv::command::{Call, Invocation, Needs, Run, Subject};
use mmiodrv::device::DeviceSpec;
use mmiodrv::error::Result;
use mmiodrv::lock::LockMode;
use mmiodrv::session::{Op, Request, Session};

use crate::cli::Global;
use crate::context::{session_device, stoppable, MapChoice};
use crate::output::{Style, Terminal};

/// How an operation shares the device with other processes: a single
/// access shares it, a multi-step one has it to itself, a wait for
/// interrupts watches without taking it.
fn lock_for(op: &Op) -> Option<LockMode> {
    match op {
        Op::WaitIrq(_) => None,
        op if op.multi_step() => Some(LockMode::Exclusive),
        _ => Some(LockMode::Shared),
    }
}

/// Run `request`, the operation `parsed` names (a register operation, or a
/// driver's command that needs the device).
pub fn run(parsed: &Invocation, request: Request, g: &Global) -> Result<()> {
    if request.op.waits() {
        stoppable()?;
    }
    let choice = MapChoice::from_args(&parsed.args);
    let (options, device) = session_device(g, &choice, lock_for(&request.op))?;
    let session = Session::new(&device, options);
    let prepared = session.prepare(request.op)?;
    let wait_irq = matches!(prepared.op(), Op::Write { irq: Some(_), .. });
    let writes = matches!(prepared.op(), Op::Write { .. });
    let mut term = Terminal { style: Style { json: g.json, quiet: request.quiet, wait_irq } };
    session.run(&prepared, &mut term)?;
    // A simulated device without --state lives as long as this process.
    if writes && g.state.is_none() && matches!(device.device(), mmiodrv::error::DeviceRef::Sim(_)) {
        crate::output::flush();
        eprintln!(
            "mmiodrv: note: {}: the write is not kept: a simulated device starts from reset in every command \
             (--state FILE keeps its registers between commands)",
            device.device()
        );
    }
    Ok(())
}

/// Whether `parsed` runs through a session on the device (rather than by
/// itself): register operations, and drivers' commands that need the
/// device (a driver's command on a `file:` device runs on the file).
pub fn on_device(parsed: &Invocation, g: &Global) -> bool {
    let Some(command) = parsed.command() else { return false };
    match (command.run, command.needs) {
        (Run::Op, _) => true,
        (Run::Call(_), Needs::Device) => true,
        (Run::Call(_), Needs::DeviceOrFile) => {
            !matches!(g.device.as_deref().map(DeviceSpec::parse), Some(Ok(DeviceSpec::File(_))))
        }
        _ => false,
    }
}

/// Run a command that runs by itself: the program's own, or a driver's
/// that needs no device or runs on a `file:` device.
pub fn run_direct(parsed: &Invocation, g: &Global) -> Result<()> {
    let Some(command) = parsed.command() else { return Ok(()) };
    let Run::Call(run) = command.run else { return Ok(()) };
    let file = match (command.needs, g.device.as_deref().map(DeviceSpec::parse).transpose()?) {
        (Needs::DeviceOrFile, Some(DeviceSpec::File(path))) => Some(path),
        _ => None,
    };
    let subject = match &file {
        Some(p) => Subject::File(p),
        None => Subject::Nothing,
    };
    let path = parsed.path_text();
    let mut term = Terminal::new(g.json);
    run(&mut Call { command, path: &path, subject, args: &parsed.args, out: &mut term })
}
