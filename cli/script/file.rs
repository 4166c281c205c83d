//! `batch FILE`: every line parsed and checked against the device, then run.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::session::{Op, Prepared, Reader, Request, Session};

use super::{line_tree, open, parse_line, report_error, run_line, Line};
use crate::cli::Global;
use crate::context::MapChoice;
use crate::output::render::{digits_of, value_line, AccessLine, Arrow};
use crate::output::{self, print_json};

/// Longest script file read.
pub const MAX_SCRIPT: u64 = 16 << 20;

/// FNV-1a: the lines of a script are short keys, hashed once each; nothing
/// an attacker could choose collisions for would gain them anything.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The script as runs of lines: (first line, index of its operation, how
/// many lines in a row).
type Program = Vec<(usize, usize, usize)>;

/// Parse every line. A line repeated (a script unrolled by a generator:
/// 10,000 reads of one register) is parsed once: a line that repeats the one
/// before byte for byte is known without looking for its end.
fn parse(g: &Global, text: &str, file: &str) -> Result<(Vec<(usize, Request)>, Program)> {
    let tree = line_tree();
    let mut unique: Vec<(usize, Request)> = Vec::new();
    let mut seen: HashMap<&str, usize, BuildHasherDefault<Fnv>> = HashMap::default();
    let mut program: Program = Vec::new();
    let mut last: Option<(&str, usize)> = None;
    // The line before when it was an operation, newline included.
    let mut repeat: &str = "";
    let mut rest = text;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        if let (false, true, Some(run)) = (repeat.is_empty(), rest.starts_with(repeat), program.last_mut()) {
            // Repeats of it, found by doubling: the first 2k lines repeat
            // when the first k are repeats and the next k equal them.
            let (len, mut k) = (repeat.len(), 1);
            while rest.len() >= 2 * k * len && rest.as_bytes()[..k * len] == rest.as_bytes()[k * len..2 * k * len] {
                k *= 2;
            }
            rest = &rest[k * len..];
            run.2 += k;
            number += k - 1;
            continue;
        }
        // As str::lines: a line ends at "\n" or "\r\n", the last one maybe at neither.
        // (A short line's end is found byte by byte: cheaper than a search's set-up.)
        let end = rest.bytes().position(|b| b == b'\n').map_or(rest.len(), |n| n + 1);
        let (raw, after) = rest.split_at(end);
        rest = after;
        let line = raw.strip_suffix('\n').map_or(raw, |l| l.strip_suffix('\r').unwrap_or(l));
        let key = line.trim();
        let known = match last {
            Some((text, u)) if text == key => Some(u),
            _ => seen.get(key).copied(),
        };
        let u = match known {
            Some(u) => u,
            None => match parse_line(line, &tree) {
                Ok(Line::Request(r)) => {
                    seen.insert(key, unique.len());
                    unique.push((number, r));
                    unique.len() - 1
                }
                Ok(Line::Nothing) => {
                    repeat = "";
                    continue;
                }
                Ok(Line::Help(_)) => {
                    let e = Error::syntax("help is for the shell and the pipe protocol, not a script");
                    report_error(g, &e, file, number);
                    return Err(e);
                }
                Err(e) => {
                    report_error(g, &e, file, number);
                    return Err(e);
                }
            },
        };
        last = Some((key, u));
        repeat = if raw.ends_with('\n') { raw } else { "" };
        match program.last_mut() {
            Some(run) if run.1 == u && run.0 + run.2 == number => run.2 += 1,
            _ => program.push((number, u, 1)),
        }
    }
    Ok((unique, program))
}

/// `batch FILE`.
pub fn run(g: &Global, choice: &MapChoice, path: &Path, check: bool, keep_going: bool) -> Result<()> {
    let bytes = match crate::remote::agent::script_on_stdin() {
        // A remote run: the near side read the script and sent it.
        true => super::read_stdin(MAX_SCRIPT)?,
        false => mmiodrv::value::read_regular_file(path, "a batch script", MAX_SCRIPT)?,
    };
    let text = String::from_utf8(bytes).map_err(|_| Error::invalid(path.display().to_string(), "not UTF-8 text"))?;
    let file = path.display().to_string();
    let (unique, program) = parse(g, &text, &file)?;
    // Open the device and check every operation against it, touching
    // nothing; each is resolved for running on the way.
    let (options, device) = open(g, choice)?;
    let session = Session::new(&device, options);
    let mut prepared: Vec<(Prepared, bool)> = Vec::with_capacity(unique.len());
    let mut lines = Vec::with_capacity(unique.len());
    for (line, r) in unique {
        match session.prepare(r.op) {
            Ok(p) => {
                prepared.push((p, r.quiet));
                lines.push(line);
            }
            Err(e) => {
                report_error(g, &e, &file, line);
                return Err(e);
            }
        }
    }
    if check {
        let operations: usize = program.iter().map(|run| run.2).sum();
        if g.json {
            print_json("batch", &mmiodrv::outcome::ScriptChecked { file, operations, checked: true });
        } else {
            outln!("{file}: {operations} operation(s) checked, nothing run");
        }
        return Ok(());
    }
    // A script that waits for interrupts arms them first, so none is missed:
    // with the mechanism the first `arm` or `wait-irq` naming one asks for;
    // then every line that depends on what is armed is checked, before line 1 runs.
    if prepared.iter().any(|(p, _)| matches!(p.op(), Op::WaitIrq(_))) {
        let kind = prepared.iter().find_map(|(p, _)| match p.op() {
            Op::Arm { kind } => *kind,
            Op::WaitIrq(w) => w.kind,
            _ => None,
        });
        session.arm(kind)?;
        for ((p, _), line) in prepared.iter().zip(&lines) {
            if let Err(e) = session.check_armed(p.op()) {
                report_error(g, &e, &file, *line);
                return Err(e);
            }
        }
    }
    output::hold();
    let direct = (0..prepared.len()).map(|_| Direct::Unknown).collect();
    let mut runner = Runner { g, session: &session, file: &file, keep_going, first: None, direct };
    for &(first, u, count) in &program {
        let (p, quiet) = &prepared[u];
        if runner.run(u, p, *quiet, first, count).is_err() {
            break;
        }
    }
    output::flush();
    match runner.first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs the script's lines, keeping the first failure.
struct Runner<'r, 's> {
    g: &'r Global,
    session: &'r Session<'s>,
    file: &'r str,
    keep_going: bool,
    first: Option<Error>,
    /// For each distinct line, how a plain read of it is made and printed.
    direct: Vec<Direct>,
}

/// A script's plain `read` printed as text (most of a generated script):
/// its window and target found once and its read planned once per run of
/// the line ([`Reader::plan`]), its report made once and its line made ready
/// for any value ([`AccessLine`]). The same access, checks and text as
/// [`Session::run`] and the renderer make of it.
enum Direct {
    /// Not tried yet (or its window could not be opened: tried again, so
    /// each line reports that as it would).
    Unknown,
    /// Not a plain read, or JSON: the line runs through [`run_line`].
    No,
    /// A plain read, and its line once made.
    Read(Box<(Reader, Option<AccessLine>)>),
}

/// Stop the run.
struct Stop;

impl Runner<'_, '_> {
    /// A failure at `line`: reported; the run stops on a signal always, on
    /// an error unless `--keep-going`.
    fn failed(&mut self, e: Error, line: usize) -> std::result::Result<(), Stop> {
        // A stop between lines concerns the run's device, as its lines' errors do.
        let e = e.with_device(self.session.device().device());
        report_error(self.g, &e, self.file, line);
        let stop = matches!(e.kind(), ErrorKind::Interrupted { .. } | ErrorKind::ReleaseRequested);
        if stop {
            self.first = Some(e);
            return Err(Stop);
        }
        self.first.get_or_insert(e);
        if self.keep_going {
            Ok(())
        } else {
            Err(Stop)
        }
    }

    /// Lines `first..first + count`, each the distinct line `u`.
    fn run(
        &mut self,
        u: usize,
        p: &Prepared,
        quiet: bool,
        first: usize,
        count: usize,
    ) -> std::result::Result<(), Stop> {
        let (mut line, end) = (first, first + count);
        while line < end {
            if let Some((done, result)) = self.direct(u, p, quiet, end - line) {
                line += done;
                if let Err(e) = result {
                    self.failed(e, line)?;
                    line += 1;
                }
                // The far side of a remote run says how far it got (the
                // last line done).
                if line > first {
                    output::done(line - 1);
                }
                continue;
            }
            // A signal or the kernel's request for the device stops the run
            // between lines (and waits within one), naming the line not run.
            if let Err(e) = mmiodrv::stop::check() {
                return self.failed(e, line).and(Err(Stop));
            }
            // Output waits in a buffer, but not across a wait: what happened
            // before it shows before it starts.
            if p.op().waits() {
                output::flush();
            }
            if let Err(e) = run_line(self.session, self.g, p, quiet) {
                self.failed(e, line)?;
            }
            output::done(line);
            line += 1;
        }
        Ok(())
    }

    /// Up to `lines` lines of line `u` run as a [`Direct`] read: how many
    /// were, and the error that stopped the next one. `None` when it is not
    /// a direct read.
    fn direct(&mut self, u: usize, p: &Prepared, quiet: bool, lines: usize) -> Option<(usize, Result<()>)> {
        let device = || self.session.device().device();
        if let Direct::Unknown = self.direct[u] {
            self.direct[u] = match self.session.reader(p) {
                _ if self.g.json => Direct::No,
                None => Direct::No,
                Some(Ok(reader)) => Direct::Read(Box::new((reader, None))),
                Some(Err(e)) => return Some((0, Err(e.with_device(device())))),
            };
        }
        let Direct::Read(read) = &mut self.direct[u] else { return None };
        let (reader, line) = &mut **read;
        let mut done = 0;
        let result = reads(reader, line, quiet, lines, &mut done);
        Some((done, result.map_err(|e| e.with_device(self.session.device().device()))))
    }
}

/// Up to `lines` reads through `reader`, each printed as its line: the value
/// alone when quiet, else the line [`Session::run`]'s report of it renders
/// to (the report made at the first read, its line made ready for any
/// value). Counts the lines done in `done`; stops at a signal or a full
/// output buffer.
fn reads(reader: &Reader, line: &mut Option<AccessLine>, quiet: bool, lines: usize, done: &mut usize) -> Result<()> {
    let plan = reader.plan()?;
    let digits = digits_of(reader.width());
    output::with_held(|out| {
        // Counted here, and in `done` when the loop ends (however it ends).
        let mut n = *done;
        let result = loop {
            if n >= lines || out.len() >= output::HELD_LIMIT {
                break Ok(());
            }
            // A signal or the kernel's request for the device stops the run
            // between lines, naming the line not run.
            if let Err(e) = mmiodrv::stop::check() {
                break Err(e);
            }
            let value = match plan.read() {
                Ok(value) => value,
                Err(e) => break Err(e),
            };
            if quiet {
                value_line(out, value, digits);
            } else {
                let text = match line {
                    Some(text) => text,
                    None => match reader.report(value) {
                        Ok(r) => line.insert(AccessLine::new(&r, Arrow::Read)),
                        Err(e) => break Err(e),
                    },
                };
                text.push(out, value);
            }
            n += 1;
        };
        *done = n;
        result
    })
}
