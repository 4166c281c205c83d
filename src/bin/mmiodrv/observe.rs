//! `watch`, `top`, `snapshot`, `decode`, `diff`, `trace show` and `replay`:
//! the library's observation engine (`mmiodrv::observe`), printed.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use mmiodrv::command::Frontend;
use mmiodrv::error::{Error, Result};
use mmiodrv::mmio::Width;
use mmiodrv::observe::replay::{self, Plan, Step};
use mmiodrv::observe::sample::{Sampler, Shares};
use mmiodrv::observe::snapshot::{self, Capture, Diff, Snapshot};
use mmiodrv::observe::trace::{Event, Names, Trace};
use mmiodrv::observe::watch::{Change, Until, Watch, WatchOptions};
use mmiodrv::observe::{ids_text, Expand, Probe};
use mmiodrv::regmap::{self, RegisterMap};
use mmiodrv::text::size_string;

use crate::args::{DecodeArgs, DiffArgs, Global, ReplayArgs, SnapshotArgs, TopArgs, TraceArgs, TraceCmd, WatchArgs};
use crate::context::{map_and_device, open_device};
use crate::output::{print_json, Terminal};
use crate::regs::{fields_text, hex, map_source, print_dump, print_hexdump};

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

pub fn watch(g: &Global, args: &WatchArgs) -> Result<()> {
    let (map, device) = map_and_device(g, &args.map)?;
    let layout = device.layout(args.map.bar, map)?;
    // Targets, condition and options are checked before the BAR is opened.
    let mut probe = Probe::new(&layout, &args.targets, Expand::Registers)?;
    let until = args.until.as_deref().map(|u| Until::parse(u, &layout, &mut probe)).transpose()?;
    if args.interval == 0 {
        return Err(Error::invalid("0", "the interval between samples is at least 1 ms"));
    }
    let options = WatchOptions {
        interval: Duration::from_millis(args.interval),
        count: args.count,
        until,
        timeout: args.timeout.map(Duration::from_millis),
    };
    let name_w = (0..probe.len()).filter_map(|i| probe.describe(&layout, i)).map(|d| d.name.len()).max().unwrap_or(4);
    let window = device.open_window(layout, false, args.map.wc)?;
    let term = Terminal::new(g.json);
    let mut watch = Watch::new(window, probe);
    watch.run(&options, term.stop_fd(), |c| print_change(g, c, name_w))?;
    Ok(())
}

fn print_change(g: &Global, c: &Change, name_w: usize) {
    if g.json {
        print_json(c);
        return;
    }
    let field = c.field.is_some();
    let new = value_text(c.new, c.bits, field);
    let mut line = match c.old {
        None => format!("+{:.3}  {:<name_w$}  {new}{}", c.t, c.name, meaning_text(&c.meaning)),
        Some(old) => {
            let old = value_text(old, c.bits, field);
            format!("+{:.3}  {:<name_w$}  {old} -> {new}{}", c.t, c.name, meaning_text(&c.meaning))
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

pub fn top(g: &Global, args: &TopArgs) -> Result<()> {
    let (map, device) = map_and_device(g, &args.map)?;
    let layout = device.layout(args.map.bar, map)?;
    let probe = Probe::new(&layout, &args.targets, Expand::Fields)?;
    let bar = layout.bar;
    let window = device.open_window(layout, false, args.map.wc)?;
    let mut sampler = Sampler::new(window, probe, args.rate)?;
    let tty = !g.json && std::io::stdout().is_terminal();
    let every = Duration::from_millis(args.refresh.unwrap_or(if tty { 500 } else { 1000 }));
    let term = Terminal::new(g.json);
    let mut shown = 0usize;
    sampler.run(args.count, every, term.stop_fd(), |s, last| {
        if g.json {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["bar"] = bar.into();
            v["final"] = last.into();
            print_json(&v);
        } else if tty {
            // Redrawn in place: back to the table's first line, cleared to the end.
            if shown > 0 {
                print!("\x1b[{shown}A\x1b[J");
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
    format!("{} samples in {:.3} s at {:.1} Hz (asked {} Hz)", s.samples, s.seconds, s.rate, s.rate_asked)
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
        "{} BAR{bar}: {}, {reads} read{} per sample",
        s.device,
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

pub fn snapshot(g: &Global, args: &SnapshotArgs) -> Result<()> {
    let (map, device) = map_and_device(g, &args.map)?;
    let layout = device.layout(args.map.bar, map)?;
    let what = match args.raw {
        true => Capture::Raw { offset: args.offset.unwrap_or(0), len: args.len },
        false => Capture::Registers,
    };
    let source = layout.map().map(|m| map_source(&layout, m));
    let window = device.open_window(layout, false, args.map.wc)?;
    let snap = Snapshot::capture(&window, mmiodrv::observe::DeviceIds::of(device.backend()), what, args.all)?;
    snap.save(&args.out)?;
    let out = args.out.display();
    if g.json {
        let v = serde_json::json!({
            "device": snap.device, "bar": snap.bar, "out": args.out, "time": snap.time,
            "registers": snap.registers.iter().filter(|r| r.value.is_some()).count(),
            "raw_bytes": snap.raw.as_ref().map(|r| r.len),
        });
        print_json(&v);
        return Ok(());
    }
    match (&snap.raw, source) {
        (Some(r), _) => outln!("{}: BAR{}, {:#x} bytes from {:#x} -> {out}", snap.device, snap.bar, r.len, r.offset),
        (None, source) => {
            let read = snap.registers.iter().filter(|r| r.value.is_some()).count();
            let source = source.unwrap_or_default();
            outln!(
                "{}: BAR{}, {read} of {} registers ({source}) -> {out}",
                snap.device,
                snap.bar,
                snap.registers.len()
            );
        }
    }
    Ok(())
}

/// `--regmap MAP` of decode, diff and trace show (checked before anything else).
fn user_map(path: Option<&Path>) -> Result<Option<RegisterMap>> {
    path.map(|p| regmap::load_file(p).and_then(|f| f.block(None).cloned())).transpose()
}

pub fn decode(g: &Global, args: &DecodeArgs) -> Result<()> {
    let map = user_map(args.regmap.as_deref())?;
    let snap = Snapshot::load(&args.file)?;
    let (regs, name, source) = match (&map, &snap.map) {
        (Some(m), _) => {
            (snap.registers_with(m), m.name.to_string(), args.regmap.as_deref().map(|p| p.display().to_string()))
        }
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
            print_hexdump(g, &snap.device, snap.bar, raw.offset, &words);
            return Ok(());
        }
    };
    let source = source.unwrap_or_default();
    if !g.json {
        outln!("snapshot of {} taken {}", snap.device, snap.time);
    }
    print_dump(g.json, &snap.device, snap.bar, &name, &source, &regs, false);
    Ok(())
}

pub fn diff(g: &Global, args: &DiffArgs) -> Result<()> {
    let map = user_map(args.regmap.as_deref())?;
    let a = Snapshot::load(&args.a)?;
    let (b, b_name) = match &args.b {
        Some(path) => (Snapshot::load(path)?, path.display().to_string()),
        None => {
            let device = open_device(g)?;
            let live_map = map.clone().zip(args.regmap.clone());
            let b = a.capture_like(&device, live_map)?;
            let name = format!("{} now", b.device);
            (b, name)
        }
    };
    let d = snapshot::diff(&a, &b, map.as_ref())?;
    if g.json {
        print_json(&serde_json::json!({
            "device": b.device,
            "a": { "file": args.a, "device": a.device, "time": a.time },
            "b": { "name": b_name, "device": b.device, "time": b.time },
            "registers": d.registers,
            "words": d.words,
        }));
        return Ok(());
    }
    print_diff(&d);
    let a_name = args.a.display();
    let n = d.registers.len() + d.words.len();
    let what = if d.words.is_empty() { "register" } else { "word" };
    match n {
        0 => outln!("no differences between {a_name} and {b_name}"),
        1 => outln!("1 {what} differs between {a_name} and {b_name}"),
        n => outln!("{n} {what}s differ between {a_name} and {b_name}"),
    }
    Ok(())
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

pub fn trace(g: &Global, args: &TraceArgs) -> Result<()> {
    match &args.command {
        TraceCmd::Show { file, regmap, bar } => {
            let map = user_map(regmap.as_deref())?;
            let t = Trace::load(file)?;
            let names = Names::for_trace(&t, map.map(|m| (bar.unwrap_or(m.bar), m)));
            show_trace(g, &t, &names);
            Ok(())
        }
    }
}

fn show_trace(g: &Global, t: &Trace, names: &Names) {
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
            let mut v = serde_json::to_value(e).unwrap_or_default();
            v["device"] = h.device.clone().into();
            if let Some(n) = &named {
                v["register"] = n.register.clone().into();
                if !n.fields.is_empty() {
                    v["fields"] = serde_json::to_value(&n.fields).unwrap_or_default();
                }
            }
            print_json(&v);
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

pub fn replay(g: &Global, args: &ReplayArgs) -> Result<()> {
    let t = Trace::load(&args.file)?;
    let names = Names::for_trace(&t, None);
    let plan = Plan::new(&t, &names, args.verify);
    let device = match (args.dry_run, &g.device) {
        (true, None) => None,
        _ => Some(open_device(g)?),
    };
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
    let Some(device) = device.filter(|_| !args.dry_run) else {
        for (i, step) in plan.steps.iter().enumerate() {
            if g.json {
                let mut v = serde_json::to_value(step).unwrap_or_default();
                v["device"] = target.clone().unwrap_or_else(|| t.header.device.clone()).into();
                v["step"] = i.into();
                print_json(&v);
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
    let outcome = replay::run(&plan, &device, Duration::from_millis(args.timeout), |i, done| {
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
            let mut v = serde_json::to_value(step).unwrap_or_default();
            v["device"] = name.clone().into();
            v["step"] = i.into();
            v["got"] = serde_json::to_value(done.got).unwrap_or_default();
            v["reads"] = done.reads.into();
            v["ok"] = done.ok.into();
            print_json(&v);
        } else {
            outln!("{}", step_line(step, &result));
        }
    })?;
    if g.json {
        print_json(&serde_json::json!({
            "device": name, "trace": t.path, "writes": outcome.writes, "verified": outcome.verified,
            "mismatches": outcome.mismatches.len(), "notes": notes,
        }));
    } else {
        let verified =
            if args.verify { format!(" and verified {}", count(outcome.verified, "read")) } else { String::new() };
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
