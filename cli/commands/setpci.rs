//! `mmiodrv setpci`: setpci (pciutils 3.9.0) exactly, its options, its
//! operations, its output and its exit statuses, with every access made
//! by the one executor on the config window (`--bar config`).
//!
//! Its own options (`-v`, `-f`, `-D`, `-r`, `--dumpregs`) are declared in the
//! grammar; the rest of the line, device selections (`-s`, `-d`) each
//! followed by operations, is one trailing argument whose operations go
//! through the library's one parser of them ([`setpci::parse_operation`]).
//! Global options (`--json`, `--force`, `-F FILE`, a selection that applies
//! before the first `-s`/`-d`) go before `setpci`.
//!
//! One difference on purpose: as every mmiodrv command, it refuses to write
//! config space of a device a kernel driver owns, unless `--force`.

use mmiodrv::command::{Call, Collect};
use mmiodrv::error::PciError;
use mmiodrv::error::{Error, Result};
use mmiodrv::mmio::Width;
use mmiodrv::outcome::Outcome;
use mmiodrv::pci::capabilities::List;
use mmiodrv::pci::config_map::CONFIG_BAR;
use mmiodrv::pci::filter::{Filter, IdFilter, SlotFilter};
use mmiodrv::pci::report::{inspect, Gather, Inspected};
use mmiodrv::pci::setpci::{self, Operation, Problem};
use mmiodrv::session::{At, Op, Session, SessionOptions};

use crate::cli::Global;
use crate::context::{devices, open_inspected, selection, Devices};
use crate::output::print_json;

/// `setpci --json`: one object per access.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct SetpciAccess {
    /// The device (`0000:00:04.0`).
    pub device: String,
    /// `read` or `write`.
    pub access: &'static str,
    /// Address in config space.
    pub offset: u32,
    /// Width of the access.
    pub width: Width,
    /// The value read, or written (would be, with `-D`).
    pub value: u64,
    /// Nothing was written (`-D`).
    pub dry_run: bool,
}

/// One group: a selection and its operations.
struct Group {
    filter: Filter,
    ops: Vec<Operation>,
}

fn usage(problem: impl ToString) -> Error {
    PciError::Setpci { message: problem.to_string(), usage: true }.into()
}

fn fatal(message: String) -> Error {
    PciError::Setpci { message, usage: false }.into()
}

/// setpci's `parse_ops`: selections and operations, in order.
fn groups(words: &[String], initial: Option<Filter>) -> Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    if let Some(filter) = initial {
        groups.push(Group { filter, ops: Vec::new() });
    }
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if let Some(option) = word.strip_prefix('-') {
            if groups.last().is_none_or(|g| !g.ops.is_empty()) {
                groups.push(Group { filter: Filter::default(), ops: Vec::new() });
            }
            let letter = option.chars().next();
            if !matches!(letter, Some('s' | 'd')) {
                let shown = letter.map(String::from).unwrap_or_default();
                return Err(usage(format!("Invalid option -{shown}")));
            }
            let letter = letter.unwrap_or('s');
            let rest = &option[1..];
            let value = if !rest.is_empty() {
                rest.strip_prefix('=').unwrap_or(rest).to_string()
            } else if i < words.len() {
                i += 1;
                words[i - 1].clone()
            } else {
                return Err(usage(format!("Option -{letter} requires an argument")));
            };
            let Some(group) = groups.last_mut() else { continue };
            if letter == 's' {
                let f = SlotFilter::parse_as_libpci(&value)
                    .map_err(|why| usage(format!("Unable to parse filter -s {why}")))?;
                group.filter.slot = Some(f);
            } else {
                let f = IdFilter::parse_as_libpci(&value)
                    .map_err(|why| usage(format!("Unable to parse filter -d {why}")))?;
                group.filter.ids = Some(f);
            }
            continue;
        }
        let Some(group) = groups.last_mut() else { return Err(usage("Filter specification expected")) };
        group.ops.push(setpci::parse_operation(word).map_err(usage)?);
    }
    if groups.is_empty() {
        return Err(usage("No operation specified"));
    }
    Ok(groups)
}

pub fn run(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    if call.args.flag("dumpregs") {
        for line in setpci::dumpregs() {
            outln!("{line}");
        }
        return Ok(());
    }
    // Named apart from the global --force and -v: setpci's -f only hushes a
    // warning, it never lets a write past a kernel driver.
    let verbose = call.args.count("show-accesses") > 0;
    let (force, demo) = (call.args.flag("no-warning"), call.args.flag("demo"));
    let words = call.args.list("OPERATION").to_vec();
    // A selection before `setpci` (-s, -d, --device) selects for the
    // operations before the first -s/-d of the line.
    let initial = selection(&g)?;
    let groups = groups(&words, (!initial.is_empty()).then_some(initial))?;
    let devices = devices(&g)?;
    // setpci scans the bus only for a group with operations (and, with -r,
    // only when a group does not name one function exactly): a group with
    // none, scanned for nothing, selects no device.
    let single = |g: &Group| {
        g.filter
            .slot
            .is_some_and(|s| s.domain.is_some() && s.bus.is_some() && s.device.is_some() && s.function.is_some())
    };
    let raw = call.args.flag("raw");
    let scan = groups.iter().any(|g| !g.ops.is_empty() && (!single(g) || !raw));
    for (n, group) in groups.iter().enumerate() {
        let mut found = match scan || single(group) {
            true => inspect(&devices.source(), &group.filter, Gather { config: true, ..Gather::default() })?,
            false => Vec::new(),
        };
        libpci_order(&devices, &mut found);
        if found.is_empty() && !force {
            crate::output::flush();
            eprintln!("setpci: Warning: No devices selected for operation group {}.", n + 1);
        }
        for f in &found {
            run_group(&g, &devices, f, &group.ops, verbose, demo, call.path)?;
        }
    }
    Ok(())
}

/// setpci goes through libpci's list of devices, which is the reverse of
/// the order libpci found them in: sysfs's directory order, or the dump's.
fn libpci_order(devices: &Devices, found: &mut [Inspected]) {
    let order: Vec<String> = match devices {
        Devices::Machine(sysfs) => std::fs::read_dir(sysfs.root().join("bus/pci/devices"))
            .map(|dir| dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default(),
        Devices::Dump { devices, .. } => {
            devices.iter().map(|d| format!("{:04x}:{:02x}:{:02x}.{}", d.domain, d.bus, d.device, d.function)).collect()
        }
    };
    found.sort_by_key(|f| std::cmp::Reverse(order.iter().position(|n| *n == f.name()).unwrap_or(usize::MAX)));
}

/// setpci's `-v` lines, printed as setpci prints them (in pieces).
struct Trace {
    on: bool,
    text: String,
}

impl Trace {
    fn put(&mut self, s: &str) {
        if self.on {
            self.text.push_str(s);
        }
    }

    /// Print what is complete (ends with a newline); keep the rest.
    fn flush_lines(&mut self) {
        while let Some(at) = self.text.find('\n') {
            let line: String = self.text.drain(..=at).collect();
            outln!("{}", &line[..line.len() - 1]);
        }
    }

    /// What is left of a line when setpci stops (it printed it, unfinished).
    fn unfinished(&mut self) {
        if !self.text.is_empty() {
            let rest = std::mem::take(&mut self.text);
            crate::output::with_held(|out| out.extend_from_slice(rest.as_bytes()));
        }
    }
}

fn width_of(bytes: u8) -> Width {
    match bytes {
        1 => Width::W8,
        2 => Width::W16,
        _ => Width::W32,
    }
}

fn digits(bytes: u8) -> usize {
    usize::from(bytes) * 2
}

/// Read through the executor; as libpci, a read past the config space the
/// kernel gives (256 bytes of a PCI device) reads all-ones.
fn read(session: &Session<'_>, config_len: usize, addr: u32, width: Width) -> Result<u64> {
    if addr as usize + width.bytes() as usize > config_len {
        return Ok(width.max_value());
    }
    let mut got = Collect::default();
    let at = At { target: format!("{addr:#x}"), width: Some(width), bar: Some(CONFIG_BAR) };
    session.execute(Op::Read(at), &mut got)?;
    match got.0.pop() {
        Some(Outcome::Read(a)) => Ok(a.value),
        _ => Err(Error::invalid(format!("{addr:#x}"), "the read gave no value")),
    }
}

fn run_group(
    g: &Global,
    devices: &Devices,
    f: &Inspected,
    ops: &[Operation],
    verbose: bool,
    demo: bool,
    op_name: &str,
) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let writes = ops.iter().any(|op| !op.values.is_empty());
    let device = open_inspected(g, devices, f, writes)?;
    let session = Session::new(&device, SessionOptions::default());
    let config = device.backend().read_config()?;
    let slot = f.name();
    let mut trace = Trace { on: verbose && !g.json, text: String::new() };
    for op in ops {
        let result = run_op(g, &session, &config, &slot, op, demo, &mut trace, op_name);
        if let Err(e) = result {
            trace.unfinished();
            return Err(e);
        }
        trace.flush_lines();
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_op(
    g: &Global,
    session: &Session<'_>,
    config: &mmiodrv::pci::ConfigSpace,
    slot: &str,
    op: &Operation,
    demo: bool,
    trace: &mut Trace,
    op_name: &str,
) -> Result<()> {
    trace.put(&format!("{slot} "));
    if let Some((list, id)) = op.cap {
        let Some(at) = op.capability_offset(config) else {
            let p = op.address(config).err().unwrap_or(Problem::NoSuchRegister("?"));
            return Err(fatal(format!("{slot}: {p}")));
        };
        match list {
            List::Standard => trace.put(&format!("(cap {id:02x} @{at:02x}) ")),
            List::Extended => trace.put(&format!("(ecap {id:04x} @{at:03x}) ")),
        }
    }
    let relative = op.addr + op.capability_offset(config).map_or(0, u32::from);
    trace.put(&format!("@{relative:02x}"));
    let mut addr = op.address(config).map_err(|p| fatal(format!("{slot}: {p}")))?;
    let width = width_of(op.width);
    let max: u32 = match op.width {
        1 => 0xff,
        2 => 0xffff,
        _ => 0xffff_ffff,
    };
    let n = digits(op.width);
    let report = |access: &'static str, addr: u32, value: u64| {
        if g.json {
            let dry_run = demo && access == "write";
            print_json(
                op_name,
                &SetpciAccess { device: slot.to_string(), access, offset: addr, width, value, dry_run },
            );
        }
    };
    if op.values.is_empty() {
        trace.put(" = ");
        let x = read(session, config.len(), addr, width)?;
        report("read", addr, x);
        if !g.json {
            trace.flush_lines();
            let line = format!("{}{x:0n$x}", std::mem::take(&mut trace.text));
            outln!("{line}");
        }
        return Ok(());
    }
    for v in &op.values {
        let x = if v.mask & max == max {
            trace.put(&format!(" {:0n$x}", v.value));
            u64::from(v.value)
        } else {
            let y = read(session, config.len(), addr, width)?;
            let x = (y & !u64::from(v.mask)) | u64::from(v.value);
            trace.put(&format!(" {y:0n$x}->({:0n$x}:{:0n$x})->{x:0n$x}", v.value, v.mask));
            x
        };
        // Values past the width (setpci takes ffffff40 for a byte) keep their low bits.
        let x = x & u64::from(max);
        if !demo {
            let at = At { target: format!("{addr:#x}"), width: Some(width), bar: Some(CONFIG_BAR) };
            session.execute(
                Op::Write { at, value: mmiodrv::value::Operand::Number(x), verify: false, irq: None },
                &mut Collect::default(),
            )?;
        }
        report("write", addr, x);
        addr += u32::from(op.width);
    }
    trace.put("\n");
    Ok(())
}
