//! `watch`, `top`, `snapshot`, `decode`, `diff`, `trace show` and `replay`:
//! the library's observation engine (`mmiodrv::observe`), printed.

use std::path::Path;
use std::time::Duration;

use mmiodrv::backend::IrqKind;
use mmiodrv::command::Frontend;
use mmiodrv::error::{Error, Result};
use mmiodrv::mmio::Width;
use mmiodrv::observe::replay::{self, Done, Plan, Step};
use mmiodrv::observe::sample::{Sampler, Shares};
use mmiodrv::observe::snapshot::{self, Capture, Diff, RegisterDiff, Snapshot, WordDiff};
use mmiodrv::observe::trace::{Event, Names, Trace};
use mmiodrv::observe::watch::{Change, Until, Watch, WatchOptions};
use mmiodrv::observe::{ids_text, Expand, Probe};
use mmiodrv::outcome::Outcome;
use mmiodrv::pci::config_map::bar_name;
use mmiodrv::regmap::RegisterMap;
use mmiodrv::text::size_string;

use mmiodrv::command::Call;
use mmiodrv::lock::LockMode;
use mmiodrv::outcome::{Dump, Hexdump};
use mmiodrv::session::Session;
use mmiodrv::window::FieldValue;
use schemars::JsonSchema;
use serde::Serialize;

use crate::cli::Global;
use crate::context::{open_device, session_device, stoppable, MapChoice};
use crate::output::render::{dump_text, fields_text, hex, hexdump_text, map_source};
use crate::output::{print_json, Terminal};

/// `top --json`: the shares so far, once per refresh.
#[derive(Serialize, JsonSchema)]
pub struct TopShares<'a> {
    /// The shares.
    #[serde(flatten)]
    pub shares: &'a Shares,
    /// The BAR sampled.
    pub bar: u8,
    /// Whether this is the last (the sampling ended).
    #[serde(rename = "final")]
    pub last: bool,
}

/// `snapshot --json`: what was written where.
#[derive(Serialize, JsonSchema)]
pub struct Taken<'a> {
    /// The device.
    pub device: &'a str,
    /// The BAR.
    pub bar: u8,
    /// The snapshot file written.
    pub out: &'a Path,
    /// When it was taken (RFC 3339, UTC).
    pub time: &'a str,
    /// Registers read (0 for a raw capture).
    pub registers: usize,
    /// Bytes captured (`--raw`), null for registers.
    pub len: Option<u64>,
}

/// The first snapshot of a `diff`.
#[derive(Serialize, JsonSchema)]
pub struct SnapshotFile<'a> {
    /// Its file.
    pub file: &'a Path,
    /// The device it was taken on.
    pub device: &'a str,
    /// When (RFC 3339, UTC).
    pub time: &'a str,
}

/// The second side of a `diff`: a snapshot, or the device now.
#[derive(Serialize, JsonSchema)]
pub struct Compared<'a> {
    /// Its file, or `DEVICE now`.
    pub name: &'a str,
    /// The device.
    pub device: &'a str,
    /// When it was read (RFC 3339, UTC).
    pub time: &'a str,
}

/// `diff --json`: what differs (exit status 10 when anything does).
#[derive(Serialize, JsonSchema)]
pub struct Differences<'a> {
    /// The device of the second side.
    pub device: &'a str,
    /// The first snapshot.
    pub a: SnapshotFile<'a>,
    /// The second side.
    pub b: Compared<'a>,
    /// Registers that differ.
    pub registers: &'a [RegisterDiff],
    /// Raw words that differ.
    pub words: &'a [WordDiff],
}

/// `trace show --json`: one event of the trace, named.
#[derive(Serialize, JsonSchema)]
pub struct TraceLine<'a> {
    /// The device it was recorded on.
    pub device: &'a str,
    /// Microseconds since recording started.
    pub t_us: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: TraceEvent<'a>,
    /// The register an access touched, by name (with the map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<&'a str>,
    /// Its fields decoded, for a whole-register value.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub fields: &'a [FieldValue],
}

/// A trace's event (the trace file's, under `event` rather than `op`).
#[derive(Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum TraceEvent<'a> {
    /// A register read.
    Read {
        /// BAR index.
        bar: u8,
        /// Offset in the BAR.
        offset: u64,
        /// Access width.
        width: Width,
        /// The value read (absent when the read failed).
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<u64>,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    },
    /// A register write.
    Write {
        /// BAR index.
        bar: u8,
        /// Offset in the BAR.
        offset: u64,
        /// Access width.
        width: Width,
        /// The value written.
        value: u64,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    },
    /// The register map a window applied to a BAR.
    Regmap {
        /// BAR index.
        bar: u8,
        /// The map's name.
        name: &'a str,
        /// Its file, for a map that is not built in.
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<&'a Path>,
    },
    /// A BAR handed out as a mapping: copies through it are not traced.
    Bulk {
        /// BAR index.
        bar: u8,
        /// Its length.
        len: u64,
    },
    /// An interrupt received.
    Irq {
        /// The mechanism.
        kind: IrqKind,
        /// The vector.
        vector: u32,
        /// Times it fired.
        count: u64,
    },
}

impl<'a> TraceEvent<'a> {
    fn of(e: &'a Event) -> Self {
        match e {
            &Event::Read { bar, offset, width, value, ref error } => {
                TraceEvent::Read { bar, offset, width, value, error: error.as_deref() }
            }
            &Event::Write { bar, offset, width, value, ref error } => {
                TraceEvent::Write { bar, offset, width, value, error: error.as_deref() }
            }
            Event::Regmap { bar, name, file } => TraceEvent::Regmap { bar: *bar, name, file: file.as_deref() },
            &Event::Bulk { bar, len } => TraceEvent::Bulk { bar, len },
            &Event::Irq { kind, vector, count } => TraceEvent::Irq { kind, vector, count },
        }
    }
}

/// `replay --json`: one step, planned (`--dry-run`) or done.
#[derive(Serialize, JsonSchema)]
pub struct ReplayStep<'a> {
    /// The device.
    pub device: &'a str,
    /// Its index among the steps.
    pub step: usize,
    /// The access.
    #[serde(flatten)]
    pub access: &'a Step,
    /// How it went (not for a dry run).
    #[serde(flatten)]
    pub done: Option<&'a Done>,
}

/// `replay --json`, at the end: what was done.
#[derive(Serialize, JsonSchema)]
pub struct Replayed<'a> {
    /// The device.
    pub device: &'a str,
    /// The trace file.
    pub trace: &'a Path,
    /// Writes made.
    pub writes: usize,
    /// Reads checked.
    pub verified: usize,
    /// Reads that did not match.
    pub mismatches: usize,
    /// What the replay leaves out, in words.
    pub notes: &'a [String],
}

/// A value as wide as its item: full digits for registers and words, bare for fields.
fn value_text(v: u64, bits: u32, field: bool) -> String {
    match Width::from_bits(bits) {
        Ok(w) if !field => hex(v, w),
        _ => format!("{v:#x}"),
    }
}

fn meaning_text(m: &Option<String>) -> String {
    m.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
}

/// `watch [TARGET...]`.
pub fn watch(call: &mut Call<'_>) -> Result<()> {
    let (g, args) = (Global::from_args(call.args)?, call.args);
    let (options, device) = session_device(&g, &MapChoice::from_args(args), None)?;
    let session = Session::new(&device, options);
    let bar = args.opt_bar("bar");
    let layout = session.layout(bar)?;
    // Targets, condition and options are checked before the BAR is opened.
    let mut probe = Probe::new(&layout, args.list("TARGET"), Expand::Registers)?;
    let until = args.opt_text("until").map(|u| Until::parse(u, &layout, &mut probe)).transpose()?;
    let interval = args.millis("interval")?;
    if interval.is_zero() {
        return Err(Error::invalid("0", "the interval between samples is at least 1 ms"));
    }
    let options = WatchOptions {
        interval,
        count: args.opt_int("count").filter(|c| *c > 0),
        until,
        timeout: args.opt_millis("timeout"),
    };
    let name_w = (0..probe.len()).filter_map(|i| probe.describe(&layout, i)).map(|d| d.name.len()).max().unwrap_or(4);
    stoppable()?;
    let window = session.window(bar, false)?;
    let term = Terminal::new(g.json);
    let mut watch = Watch::new(window, probe);
    watch.run(&options, term.stop_fd(), |c| print_change(&g, call.path, c, name_w))?;
    Ok(())
}

/// Milliseconds as seconds with three decimals (`1.234`).
fn seconds_text(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn print_change(g: &Global, op: &str, c: &Change, name_w: usize) {
    if g.json {
        print_json(op, c);
        return;
    }
    let field = c.field.is_some();
    let new = value_text(c.new, c.width, field);
    let t = seconds_text(c.t_ms);
    let mut line = match c.old {
        None => format!("+{t}  {:<name_w$}  {new}{}", c.name, meaning_text(&c.meaning)),
        Some(old) => {
            let old = value_text(old, c.width, field);
            format!("+{t}  {:<name_w$}  {old} -> {new}{}", c.name, meaning_text(&c.meaning))
        }
    };
    let fields: Vec<String> = c
        .fields
        .iter()
        .map(|f| match f.old {
            None => format!("{}={:#x}{}", f.name, f.new, meaning_text(&f.meaning)),
            Some(o) => format!("{} {o:#x} -> {:#x}{}", f.name, f.new, meaning_text(&f.meaning)),
        })
        .collect();
    if !fields.is_empty() {
        line.push_str("  ");
        line.push_str(&fields.join(" "));
    }
    outln!("{line}");
}

/// `top [TARGET...]`.
pub fn top(call: &mut Call<'_>) -> Result<()> {
    let (g, args) = (Global::from_args(call.args)?, call.args);
    let (options, device) = session_device(&g, &MapChoice::from_args(args), None)?;
    let session = Session::new(&device, options);
    let layout = session.layout(args.opt_bar("bar"))?;
    let probe = Probe::new(&layout, args.list("TARGET"), Expand::Fields)?;
    let bar = layout.bar;
    let rate = args.opt_float("rate").unwrap_or(1000.0);
    stoppable()?;
    let window = session.window(Some(bar), false)?;
    let mut sampler = Sampler::new(window, probe, rate)?;
    let tty = !g.json && crate::output::stdout_is_terminal();
    let every = args.opt_millis("refresh").unwrap_or(Duration::from_millis(if tty { 500 } else { 1000 }));
    let term = Terminal::new(g.json);
    let mut shown = 0usize;
    sampler.run(args.opt_int("count").filter(|c| *c > 0), every, term.stop_fd(), |s, last| {
        if g.json {
            print_json(call.path, &TopShares { shares: s, bar, last });
        } else if tty {
            // Redrawn in place: back to the table's first line, cleared to the end.
            if shown > 0 {
                crate::output::raw(format!("\x1b[{shown}A\x1b[J").as_bytes());
            }
            let lines = table(s, bar);
            for l in &lines {
                outln!("{l}");
            }
            shown = lines.len();
        } else if last {
            for l in table(s, bar) {
                outln!("{l}");
            }
        } else {
            outln!("{}", one_line(s));
        }
    })?;
    Ok(())
}

fn rate_text(s: &Shares) -> String {
    format!("{} samples in {} s at {:.1} Hz (asked {} Hz)", s.samples, seconds_text(s.elapsed_ms), s.rate, s.rate_asked)
}

fn share_values(item: &mmiodrv::observe::sample::ItemShares) -> String {
    let mut parts: Vec<String> = item
        .values
        .iter()
        .take(4)
        .map(|v| format!("{:#x}{} {:.1}%", v.value, meaning_text(&v.meaning), 100.0 * v.share))
        .collect();
    let rest: f64 = item.values.iter().skip(4).map(|v| v.share).sum::<f64>() + item.other;
    if rest > 0.0 {
        parts.push(format!("other {:.1}%", 100.0 * rest));
    }
    parts.join(", ")
}

/// Plain periodic line: every item's share set.
fn one_line(s: &Shares) -> String {
    let items: Vec<String> = s.items.iter().map(|i| format!("{} {:.1}% set", i.name, 100.0 * i.set)).collect();
    format!("{}: {}", rate_text(s), items.join(", "))
}

fn table(s: &Shares, bar: u8) -> Vec<String> {
    let reads = s.reads_per_sample;
    let mut out = vec![format!(
        "{} {}: {}, {reads} read{} per sample",
        s.device,
        bar_name(bar),
        rate_text(s),
        if reads == 1 { "" } else { "s" }
    )];
    let name_w = s.items.iter().map(|i| i.name.len()).max().unwrap_or(4).max(4);
    out.push(format!("{:<name_w$}  {:>6}  VALUES", "NAME", "SET"));
    for i in &s.items {
        out.push(format!("{:<name_w$}  {:>5.1}%  {}", i.name, 100.0 * i.set, share_values(i)));
    }
    out
}

/// `snapshot --out FILE`.
pub fn snapshot(call: &mut Call<'_>) -> Result<()> {
    let (g, args) = (Global::from_args(call.args)?, call.args);
    let out_path = args.path("out")?;
    let (options, device) = session_device(&g, &MapChoice::from_args(args), None)?;
    let session = Session::new(&device, options);
    let layout = session.layout(args.opt_bar("bar"))?;
    let what = match args.flag("raw") {
        true => Capture::Raw { offset: args.opt_int("offset").unwrap_or(0), len: args.opt_int("len") },
        false => Capture::Registers,
    };
    let source = layout.map().map(|m| map_source(&layout, m));
    let window = session.window(Some(layout.bar), false)?;
    let snap = Snapshot::capture(&window, mmiodrv::observe::DeviceIds::of(device.backend()), what, args.flag("all"))?;
    snap.save(out_path)?;
    let out = out_path.display();
    if g.json {
        let v = Taken {
            device: &snap.device,
            bar: snap.bar,
            out: out_path,
            time: &snap.time,
            registers: snap.registers.iter().filter(|r| r.value.is_some()).count(),
            len: snap.raw.as_ref().map(|r| r.len),
        };
        print_json(call.path, &v);
        return Ok(());
    }
    match (&snap.raw, source) {
        (Some(r), _) => {
            outln!("{}: {}, {:#x} bytes from {:#x} -> {out}", snap.device, bar_name(snap.bar), r.len, r.offset)
        }
        (None, source) => {
            let read = snap.registers.iter().filter(|r| r.value.is_some()).count();
            let source = source.unwrap_or_default();
            outln!(
                "{}: {}, {read} of {} registers ({source}) -> {out}",
                snap.device,
                bar_name(snap.bar),
                snap.registers.len()
            );
        }
    }
    Ok(())
}

/// `--regmap MAP` of decode, diff and trace show (checked before anything else).
fn user_map(path: Option<&Path>) -> Result<Option<RegisterMap>> {
    path.map(|p| mmiodrv::session::PlacedMap::load(&p.to_string_lossy(), None, None).map(|m| m.map)).transpose()
}

/// `decode FILE`.
pub fn decode(call: &mut Call<'_>) -> Result<()> {
    let (g, args) = (Global::from_args(call.args)?, call.args);
    let regmap = args.opt_path("regmap");
    let map = user_map(regmap)?;
    let snap = Snapshot::load(args.path("FILE")?)?;
    let (regs, name, source) = match (&map, &snap.map) {
        (Some(m), _) => (snap.registers_with(m), m.name.to_string(), regmap.map(|p| p.display().to_string())),
        (None, m) if !snap.registers.is_empty() => {
            let source = m.as_ref().map(|m| match &m.file {
                Some(f) => f.display().to_string(),
                None => format!("built-in {} map", m.name),
            });
            (snap.registers.clone(), m.as_ref().map(|m| m.name.clone()).unwrap_or_default(), source)
        }
        _ => {
            let Some(raw) = &snap.raw else { return Ok(()) };
            let words: Vec<Option<u32>> = raw.words().into_iter().map(|(_, w)| w).collect();
            let h = Hexdump { device: snap.device.clone().into(), bar: snap.bar, offset: raw.offset, words };
            emit(&g, call.path, Outcome::Hexdump(h));
            return Ok(());
        }
    };
    if !g.json {
        outln!("snapshot of {} taken {}", snap.device, snap.time);
    }
    let dump = Dump {
        device: snap.device.clone().into(),
        bar: snap.bar,
        map: name,
        map_source: source.unwrap_or_default(),
        registers: regs,
        diff_reset: false,
    };
    emit(&g, call.path, Outcome::DumpRegs(dump));
    Ok(())
}

/// A result as `dump-regs` prints it, `op` `decode`.
fn emit(g: &Global, op: &str, outcome: Outcome) {
    if g.json {
        match &outcome {
            Outcome::DumpRegs(d) => print_json(op, d),
            Outcome::Hexdump(h) => print_json(op, h),
            _ => {}
        }
        return;
    }
    match &outcome {
        Outcome::DumpRegs(d) => dump_text(d),
        Outcome::Hexdump(h) => hexdump_text(h),
        _ => {}
    }
}

/// `diff A [B]`: exit status 10 when they differ.
pub fn diff(call: &mut Call<'_>) -> Result<()> {
    let (g, args) = (Global::from_args(call.args)?, call.args);
    let regmap = args.opt_path("regmap").map(Path::to_path_buf);
    let map = user_map(regmap.as_deref())?;
    let a_path = args.path("A")?;
    let a = Snapshot::load(a_path)?;
    let (b, b_name) = match args.opt_path("B") {
        Some(path) => (Snapshot::load(path)?, path.display().to_string()),
        None => {
            let device = open_device(&g, None, None)?;
            let live_map = map.clone().zip(regmap.clone());
            let b = a.capture_like(&device, live_map)?;
            let name = format!("{} now", b.device);
            (b, name)
        }
    };
    let d = snapshot::diff(&a, &b, map.as_ref())?;
    if g.json {
        let v = Differences {
            device: &b.device,
            a: SnapshotFile { file: a_path, device: &a.device, time: &a.time },
            b: Compared { name: &b_name, device: &b.device, time: &b.time },
            registers: &d.registers,
            words: &d.words,
        };
        print_json(call.path, &v);
    } else {
        print_diff(&d);
    }
    let a_name = a_path.display();
    let n = d.registers.len() + d.words.len();
    let what = if d.words.is_empty() { "register" } else { "word" };
    let summary = match n {
        0 => format!("no differences between {a_name} and {b_name}"),
        1 => format!("1 {what} differs between {a_name} and {b_name}"),
        n => format!("{n} {what}s differ between {a_name} and {b_name}"),
    };
    if !g.json {
        outln!("{summary}");
    }
    match n {
        0 => Ok(()),
        _ => Err(crate::output::errors::findings(summary)),
    }
}

fn opt_value(v: Option<u64>, bits: u32, field: bool) -> String {
    v.map_or_else(|| "(not read)".into(), |v| value_text(v, bits, field))
}

fn print_diff(d: &Diff) {
    let name_w = d.registers.iter().map(|r| r.name.len()).max().unwrap_or(4);
    for r in &d.registers {
        let fields: Vec<String> = r
            .fields
            .iter()
            .map(|f| {
                let side = |v: Option<u64>, m: &Option<String>| {
                    v.map_or_else(|| "(not read)".to_string(), |v| format!("{v:#x}{}", meaning_text(m)))
                };
                format!("{} {} -> {}", f.name, side(f.old, &f.old_meaning), side(f.new, &f.new_meaning))
            })
            .collect();
        let line = format!(
            "{:<name_w$}  {} -> {}  {}",
            r.name,
            opt_value(r.old, r.width, false),
            opt_value(r.new, r.width, false),
            fields.join(" ")
        );
        outln!("{}", line.trim_end());
    }
    for w in &d.words {
        let side = |v: Option<u32>| v.map_or_else(|| "(not read)".to_string(), |v| format!("{v:#010x}"));
        let reg = w.register.as_ref().map(|r| format!("  ({r})")).unwrap_or_default();
        outln!("{:#06x}  {} -> {}{reg}", w.offset, side(w.old), side(w.new));
    }
}

/// `trace show FILE`.
pub fn trace_show(call: &mut Call<'_>) -> Result<()> {
    let (g, args) = (Global::from_args(call.args)?, call.args);
    let map = user_map(args.opt_path("regmap"))?;
    let t = Trace::load(args.path("FILE")?)?;
    let bar = args.opt_bar("bar");
    let names = Names::for_trace(&t, map.map(|m| (bar.unwrap_or(m.bar), m)), args.flag("recorded-map"));
    show_trace(&g, call.path, &t, &names);
    Ok(())
}

fn show_trace(g: &Global, op: &str, t: &Trace, names: &Names) {
    let h = &t.header;
    if !g.json {
        let command = if h.command.is_empty() { String::new() } else { format!(": {}", h.command.join(" ")) };
        outln!(
            "trace of {} ({}), {} backend, recorded {}{command}",
            h.device,
            ids_text(h.ids.as_ref()),
            h.backend,
            h.time
        );
    }
    for e in &t.entries {
        let named = match e.event {
            Event::Read { bar, offset, width, value, .. } => names.name(bar, offset, width, value),
            Event::Write { bar, offset, width, value, .. } => names.name(bar, offset, width, Some(value)),
            _ => None,
        };
        if g.json {
            let v = TraceLine {
                device: &h.device,
                t_us: e.us,
                event: TraceEvent::of(&e.event),
                register: named.as_ref().map(|n| n.register.as_str()),
                fields: named.as_ref().map_or(&[][..], |n| &n.fields),
            };
            print_json(op, &v);
            continue;
        }
        let t = format!("{:>10.6}", e.time().as_secs_f64());
        let name = named.as_ref().map(|n| n.register.as_str()).unwrap_or("");
        let fields = named.as_ref().map(|n| fields_text(&n.fields)).unwrap_or_default();
        let line = match &e.event {
            Event::Read { bar, offset, width, error: Some(why), .. } => {
                format!("{t}  BAR{bar}  {offset:#06x}  read   failed ({width}): {why}")
            }
            Event::Write { bar, offset, width, value, error: Some(why) } => {
                format!("{t}  BAR{bar}  {offset:#06x}  write  {} failed: {why}", hex(*value, *width))
            }
            Event::Read { bar, offset, width, value, .. } => {
                let v = value.map_or_else(String::new, |v| hex(v, *width));
                format!("{t}  BAR{bar}  {offset:#06x}  read   {v:<18}  {name}  {fields}")
            }
            Event::Write { bar, offset, width, value, .. } => {
                format!("{t}  BAR{bar}  {offset:#06x}  write  {:<18}  {name}  {fields}", hex(*value, *width))
            }
            Event::Regmap { bar, name, file } => {
                let source = file.as_ref().map_or_else(|| "built-in".to_string(), |f| f.display().to_string());
                format!("{t}  BAR{bar}  register map {name} ({source})")
            }
            Event::Bulk { bar, len } => {
                format!(
                    "{t}  BAR{bar}  mapped for bulk copies ({}): copies through the mapping are not traced",
                    size_string(*len)
                )
            }
            Event::Irq { kind, vector, count } => format!("{t}  {kind} vector {vector} fired ({count} time(s))"),
        };
        outln!("{}", line.trim_end());
    }
}

/// `replay FILE`.
pub fn replay(call: &mut Call<'_>) -> Result<()> {
    let (g, args) = (Global::from_args(call.args)?, call.args);
    let (dry_run, verify) = (args.flag("dry-run"), args.flag("verify"));
    let t = Trace::load(args.path("FILE")?)?;
    let names = Names::for_trace(&t, None, args.flag("recorded-map"));
    let plan = Plan::new(&t, &names, verify);
    let device = match (dry_run, &g.device) {
        (true, None) => None,
        _ => Some(open_device(&g, Some(LockMode::Exclusive), None)?),
    };
    stoppable()?;
    if let Some(d) = &device {
        if !g.force {
            replay::check_device(&t, d)?;
        }
        plan.check(d)?;
    }
    let step_line = |step: &Step, result: &str| -> String {
        let (bar, offset, width) = step.place();
        let (op, value) = match *step {
            Step::Write { value, .. } => ("write", value),
            Step::Read { value, .. } => ("read", value),
        };
        let name = names.name(bar, offset, width, None).map(|n| n.register).unwrap_or_default();
        let line = format!("BAR{bar} {offset:#06x} {name:<12} {op:<5} {}  {result}", hex(value, width));
        line.trim_end().to_string()
    };
    let target = device.as_ref().map(|d| d.device().to_string());
    let notes = notes(&plan);
    let Some(device) = device.filter(|_| !dry_run) else {
        for (i, step) in plan.steps.iter().enumerate() {
            if g.json {
                let device = target.as_deref().unwrap_or(&t.header.device);
                print_json(call.path, &ReplayStep { device, step: i, access: step, done: None });
            } else {
                outln!("{}", step_line(step, ""));
            }
        }
        if !g.json {
            let on = target.map(|d| format!(" on {d}")).unwrap_or_default();
            outln!("dry run: would replay {} of {}{on}", count(plan.writes(), "write"), t.path.display());
            for n in &notes {
                outln!("note: {n}");
            }
        }
        return Ok(());
    };
    let name = device.device().to_string();
    let mut first_mismatch = None;
    let outcome = replay::run(&plan, &device, args.millis("timeout")?, |i, done| {
        let Some(step) = plan.steps.get(i) else { return };
        let result = match (step, done.got) {
            (Step::Read { width, .. }, Some(got)) if !done.ok => format!("MISMATCH: read {}", hex(got, *width)),
            (Step::Read { .. }, _) => "ok".into(),
            _ => String::new(),
        };
        if !done.ok && first_mismatch.is_none() {
            first_mismatch = Some(step_line(step, &result));
        }
        if g.json {
            print_json(call.path, &ReplayStep { device: &name, step: i, access: step, done: Some(done) });
        } else {
            outln!("{}", step_line(step, &result));
        }
    })?;
    if g.json {
        let v = Replayed {
            device: &name,
            trace: &t.path,
            writes: outcome.writes,
            verified: outcome.verified,
            mismatches: outcome.mismatches.len(),
            notes: &notes,
        };
        print_json(call.path, &v);
    } else {
        let verified =
            if verify { format!(" and verified {}", count(outcome.verified, "read")) } else { String::new() };
        outln!("replayed {}{verified} of {} on {name}", count(outcome.writes, "write"), t.path.display());
        for n in &notes {
            outln!("note: {n}");
        }
    }
    match first_mismatch {
        Some(first) => Err(replay::mismatch_error(&device, &outcome, first)),
        None => Ok(()),
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// What a replay leaves out, in words.
fn notes(plan: &Plan) -> Vec<String> {
    let mut notes = Vec::new();
    if plan.failed > 0 {
        notes.push(format!("{} that failed while recording left out", count(plan.failed, "access")));
    }
    for bar in &plan.bulk {
        notes.push(format!("BAR{bar} was used through a mapping: its bulk copies are not in the trace"));
    }
    if plan.irqs > 0 {
        notes.push(format!("{} received while recording, not waited for", count(plan.irqs, "interrupt")));
    }
    notes
}
