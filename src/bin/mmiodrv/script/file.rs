//! `batch FILE`: every line parsed and checked against the device, then run.

use std::collections::HashMap;
use std::path::Path;

use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::session::{Op, Prepared, Request, Session};

use super::{line_tree, open, parse_line, report_error, run_line, Line};
use crate::cli::Global;
use crate::context::MapChoice;
use crate::output::render::{digits_of, push_hex, push_hex_line};
use crate::output::{self, print_json};

/// Longest script file read.
const MAX_SCRIPT: u64 = 16 << 20;

/// The script as runs of lines: (first line, index of its operation, how
/// many lines in a row).
type Program = Vec<(usize, usize, usize)>;

/// Parse every line. A line repeated (a script unrolled by a generator:
/// 10,000 reads of one register) is parsed once: a line that repeats the one
/// before byte for byte is known without looking for its end.
fn parse(g: &Global, text: &str, file: &str) -> Result<(Vec<(usize, Request)>, Program)> {
    let tree = line_tree();
    let mut unique: Vec<(usize, Request)> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut program: Program = Vec::new();
    let mut last: Option<(&str, usize)> = None;
    // The line before when it was an operation, newline included.
    let mut repeat: &str = "";
    let mut rest = text;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        if let (false, Some(after), Some(run)) = (repeat.is_empty(), rest.strip_prefix(repeat), program.last_mut()) {
            rest = after;
            run.2 += 1;
            continue;
        }
        // As str::lines: a line ends at "\n" or "\r\n", the last one maybe at neither.
        let end = rest.find('\n').map_or(rest.len(), |n| n + 1);
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
    let bytes = mmiodrv::value::read_regular_file(path, "a batch script", MAX_SCRIPT)?;
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
    let mut runner = Runner { g, session: &session, file: &file, keep_going, first: None };
    for &(first, u, count) in &program {
        let (p, quiet) = &prepared[u];
        if runner.run(p, *quiet, first, count).is_err() {
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

    /// Lines `first..first + count` of one operation.
    fn run(&mut self, p: &Prepared, quiet: bool, first: usize, count: usize) -> std::result::Result<(), Stop> {
        // A quiet read repeated: its window and target found once, its values
        // pushed straight into the output buffer, one read per line still.
        let mut done = 0;
        if quiet && !self.g.json && count > 1 && mmiodrv::stop::requested().is_none() {
            if let Some(reader) = self.session.reader(p) {
                let read = reader.and_then(|reader| {
                    let digits = digits_of(reader.width());
                    while done < count {
                        output::with_held(|out| {
                            while done < count && out.len() < output::HELD_LIMIT {
                                mmiodrv::stop::check()?;
                                push_hex_line(out, reader.read()?, digits);
                                done += 1;
                            }
                            Ok::<_, Error>(())
                        })?;
                        if done < count {
                            output::flush(); // full
                        }
                    }
                    Ok(())
                });
                match read {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        self.failed(e, first + done)?;
                        done += 1; // the rest of the run goes line by line
                    }
                }
            }
        }
        for line in first + done..first + count {
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
            // `read ... --quiet` prints the value alone: no report built for it.
            let result = match (quiet && !self.g.json).then(|| self.session.read_value(p)).flatten() {
                Some(read) => {
                    read.map(|(value, width)| output::line_with(|out| push_hex(out, value, digits_of(width))))
                }
                None => run_line(self.session, self.g, p, quiet),
            };
            if let Err(e) = result {
                self.failed(e, line)?;
            }
        }
        Ok(())
    }
}
