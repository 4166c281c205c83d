//! `--host`: the command runs on other machines (docs/remote.md). This side
//! parses the command line (its errors are this side's, as a local run's
//! are), starts `mmiodrv` with the same words on each host over ssh, sends
//! it the script or the pipe protocol's input, passes Ctrl-C on as a stop,
//! and relays what it prints: as it is for one host; each line labelled
//! with its host for several, run in parallel.

use mmiodrv::error::RemoteError;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use mmiodrv::command::{Args, Invocation};
use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::remote::{self, Call, Event, Host, Running};
use mmiodrv::session::{parse_line, Line, Op};

use super::agent::SCRIPT_ENV;
use crate::cli::Global;
use crate::output::errors;

/// The global options that say where and how to run remotely: the far side
/// gets the command line without them.
const REMOTE_OPTIONS: [&str; 2] = ["host", "hosts"];
const REMOTE_FLAGS: [&str; 2] = ["no-copy", "write-to-all-hosts"];

/// The hosts `--host` (or MMIODRV_HOST) and `--hosts FILE` name; none on a
/// far side (a remote run never goes on to another host).
pub fn hosts(args: &Args) -> Result<Vec<Host>> {
    if super::agent::label().is_some() {
        return Ok(Vec::new());
    }
    let mut hosts: Vec<Host> = args.list("host").iter().map(|h| Host::parse(h)).collect::<Result<_>>()?;
    if hosts.is_empty() {
        if let Some(h) = args.opt_text("host") {
            hosts.push(Host::parse(h)?);
        }
    }
    if let Some(file) = args.opt_path("hosts") {
        hosts.extend(Host::read_file(file)?);
    }
    if !hosts.is_empty() {
        remote::check_count(&hosts)?;
    }
    Ok(hosts)
}

/// The command line for the far side: `words` without the remote options
/// (up to `--`, or a command that takes the rest verbatim).
fn far_words(words: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut verbatim = false;
    while i < words.len() {
        let w = words[i];
        if !verbatim && (w == "--" || w == "echo") {
            verbatim = true;
        }
        if !verbatim {
            let name = w.strip_prefix("--").map(|n| n.split_once('=').map_or(n, |(n, _)| n));
            if let Some(name) = name {
                if REMOTE_FLAGS.contains(&name) {
                    i += 1;
                    continue;
                }
                if REMOTE_OPTIONS.contains(&name) {
                    i += if w.contains('=') { 1 } else { 2 };
                    continue;
                }
            }
        }
        out.push(w.to_string());
        i += 1;
    }
    out
}

/// What the far side reads.
enum Input {
    /// Nothing (its standard input ends at once).
    Nothing,
    /// A script, read here (`batch FILE`).
    Script(Vec<u8>),
    /// This process's standard input, as it comes (the pipe protocol).
    Stdin,
    /// A terminal: the shell, through ssh's terminal.
    Terminal,
}

fn input_of(parsed: &Invocation) -> Result<Input> {
    let top = parsed.path.first().map(|c| c.name);
    match top {
        Some("shell") => Ok(Input::Terminal),
        Some("batch") => match parsed.args.opt_path("FILE") {
            Some(p) if p.as_os_str() != "-" => {
                let bytes = mmiodrv::value::read_regular_file(p, "a batch script", crate::script::MAX_SCRIPT)?;
                Ok(Input::Script(bytes))
            }
            None if std::io::stdin().is_terminal() => Ok(Input::Terminal),
            _ => Ok(Input::Stdin),
        },
        _ => Ok(Input::Nothing),
    }
}

/// Whether the command (or any line of its script) can change a device or
/// its binding: what several hosts run only with `--write-to-all-hosts`.
/// A driver's command counts as a write (its effects are its own).
fn writes(parsed: &Invocation, input: &Input) -> bool {
    let names: Vec<&str> = parsed.path.iter().map(|c| c.name).collect();
    let args = &parsed.args;
    match names.as_slice() {
        ["bind"] | ["unbind"] => true,
        ["config", "write"] | ["replay"] => !args.flag("dry-run"),
        ["batch"] => match input {
            Input::Script(bytes) => {
                let tree = mmiodrv::session::line_commands();
                String::from_utf8_lossy(bytes).lines().any(|l| match parse_line(l, &tree) {
                    Ok(Line::Request(r)) => op_writes(&r.op),
                    _ => false,
                })
            }
            _ => true,
        },
        _ => match Op::from_args(&parsed.path, args) {
            Ok(r)
                if parsed
                    .path
                    .first()
                    .is_some_and(|c| !crate::commands::PROGRAM.iter().any(|p| std::ptr::eq(p, *c))) =>
            {
                op_writes(&r.op)
            }
            _ => false,
        },
    }
}

fn op_writes(op: &Op) -> bool {
    matches!(op, Op::Write { .. } | Op::DmaWrite { .. } | Op::Driver { .. })
}

/// Run the command on `hosts`: its exit status.
pub fn run(words: &[&str], parsed: &Invocation, g: &Global, hosts: Vec<Host>) -> Result<i32> {
    let args = far_words(words);
    let input = input_of(parsed)?;
    let many = hosts.len() > 1;
    if many && matches!(input, Input::Terminal | Input::Stdin) {
        return Err(Error::syntax(
            "the shell and the pipe protocol reach one host at a time: give one --host, or a script (batch FILE)",
        ));
    }
    if many && !parsed.args.flag("write-to-all-hosts") && writes(parsed, &input) {
        return Err(Error::syntax(format!(
            "`{}` can write to the devices, and {} hosts are named: pass --write-to-all-hosts to run it on every one",
            parsed.path_text(),
            hosts.len()
        )));
    }
    let mut env = Vec::new();
    // The device MMIODRV_DEVICE names here is the one meant there.
    if !parsed.args.given("device") && g.slot.is_none() && g.ids.is_none() {
        if let Some(d) = &g.device {
            env.push(("MMIODRV_DEVICE", d.clone()));
        }
    }
    let script = match (&input, parsed.args.opt_path("FILE")) {
        (Input::Script(_), Some(p)) => {
            env.push((SCRIPT_ENV, "1".into()));
            Some(p.display().to_string())
        }
        (Input::Stdin, _) => Some("standard input".into()),
        _ => None,
    };
    let own = std::env::current_exe().ok();
    let binary = remote::binary_to_copy(own.as_deref());
    let key = remote::cache_key(binary.as_deref());
    let tty = crate::output::stdout_is_terminal();
    let copy = !parsed.args.flag("no-copy");
    let calls: Vec<Call> = hosts
        .into_iter()
        .map(|host| Call { host, args: args.clone(), env: env.clone(), tty, script: script.clone(), key: key.clone() })
        .collect();
    mmiodrv::stop::install_signal_handlers()?;
    if let Input::Terminal = input {
        return terminal(&calls[0], copy, binary.as_deref());
    }
    if !many {
        let sink = Sink { label: None, json: g.json };
        return one(&calls[0], copy, binary.as_deref(), &input, &sink);
    }
    let statuses: Vec<i32> = std::thread::scope(|s| {
        let threads: Vec<_> = calls
            .iter()
            .map(|call| {
                let (input, binary) = (&input, binary.as_deref());
                s.spawn(move || {
                    let sink = Sink { label: Some(call.host.label.clone()), json: g.json };
                    match one(call, copy, binary, input, &sink) {
                        Ok(status) => status,
                        Err(e) => {
                            report(&e, g.json);
                            crate::output::errors::exit_status(&e)
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap_or(70)).collect()
    });
    let failed: Vec<String> = calls
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| **s != 0)
        .map(|(c, s)| format!("{} (exit {s})", c.host.label))
        .collect();
    if !failed.is_empty() {
        crate::output::err_line(&format!(
            "mmiodrv: {} of {} hosts failed: {}",
            failed.len(),
            calls.len(),
            failed.join(", ")
        ));
    }
    Ok(statuses.into_iter().find(|s| *s != 0).unwrap_or(0))
}

/// An error of this side about a host: its line, and its object with --json.
fn report(e: &Error, json: bool) {
    crate::output::err_line(&errors::error_line(e, None));
    if json {
        errors::print_error_json(e, None, None, Vec::new());
    }
}

/// Start `call`, copying this build there first when it has none of this
/// version (and copying is allowed), saying so.
fn connect(call: &Call, copy: bool, binary: Option<&Path>) -> Result<Running> {
    remote::connect(call, copy, binary, &mut |host, place| {
        crate::output::err_line(&format!(
            "mmiodrv: {host} has no mmiodrv {}: copying this one to {place} there (--no-copy refuses)",
            remote::VERSION
        ))
    })
}

/// The shell (or `batch` on a terminal): through ssh's terminal, as it is.
fn terminal(call: &Call, copy: bool, binary: Option<&Path>) -> Result<i32> {
    // Started once with frames, to know mmiodrv is there (copied if need be).
    let mut probe = Call { args: vec!["--version".into()], ..call.clone() };
    probe.script = None;
    let mut running = connect(&probe, copy, binary)?;
    running.finish(&mut |_| {})?;
    let status = call.terminal_command()?.status().map_err(|e| {
        Error::new(RemoteError::Unreachable { host: call.host.label.clone(), why: format!("cannot run ssh: {e}") })
    })?;
    match status.code() {
        Some(255) => Err(Error::new(RemoteError::Disconnected {
            host: call.host.label.clone(),
            after: "during the shell".into(),
        })),
        Some(code) => Ok(code),
        None => Ok(128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(1)),
    }
}

/// Where one host's output goes: as it is, or labelled.
struct Sink {
    label: Option<String>,
    json: bool,
}

/// Writes of several hosts' threads, a line at a time.
static LINES: Mutex<()> = Mutex::new(());

/// The local output is gone (a pipe's reader ended): stop quietly, as a local run does.
struct Gone;

impl Sink {
    fn out(&self, pending: &mut Vec<u8>, bytes: &[u8], end: bool) -> std::result::Result<(), Gone> {
        let Some(label) = &self.label else { return write_all(&mut std::io::stdout(), bytes) };
        pending.extend_from_slice(bytes);
        let mut text = Vec::new();
        while let Some(n) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=n).collect();
            self.label_line(label, &line, &mut text);
        }
        if end && !pending.is_empty() {
            let mut line = std::mem::take(pending);
            line.push(b'\n');
            self.label_line(label, &line, &mut text);
        }
        let _guard = LINES.lock().unwrap_or_else(|p| p.into_inner());
        write_all(&mut std::io::stdout(), &text)
    }

    fn label_line(&self, label: &str, line: &[u8], out: &mut Vec<u8>) {
        if self.json && line.starts_with(b"{") {
            // Every object names its host (an error object does already).
            let error = format!("{{\"schema\":{},\"op\":\"error\"", crate::output::SCHEMA_VERSION);
            if !line.starts_with(error.as_bytes()) {
                out.extend_from_slice(b"{\"host\":");
                out.extend_from_slice(serde_json::to_string(label).unwrap_or_default().as_bytes());
                out.push(b',');
                out.extend_from_slice(&line[1..]);
                return;
            }
            out.extend_from_slice(line);
            return;
        }
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(line);
    }

    fn err(&self, bytes: &[u8], log: bool) {
        let _guard = LINES.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr();
        match (&self.label, log) {
            // Error lines name their host themselves; other lines are labelled.
            (Some(label), true) => {
                for line in bytes.split_inclusive(|b| *b == b'\n') {
                    let _ = err.write_all(format!("{label}: ").as_bytes());
                    let _ = err.write_all(line);
                }
            }
            _ => {
                let _ = err.write_all(bytes);
            }
        }
        let _ = err.flush();
    }
}

fn write_all(w: &mut impl Write, bytes: &[u8]) -> std::result::Result<(), Gone> {
    match w.write_all(bytes).and_then(|()| w.flush()) {
        Ok(()) => Ok(()),
        Err(_) => Err(Gone),
    }
}

/// Run `call` on its host and relay what it says: its exit status.
fn one(call: &Call, copy: bool, binary: Option<&Path>, input: &Input, sink: &Sink) -> Result<i32> {
    let mut running = connect(call, copy, binary)?;
    let feed = running.input();
    match input {
        Input::Script(bytes) => {
            // Written from a thread: the far side's output is read meanwhile.
            let (feed, bytes) = (feed.clone(), bytes.clone());
            std::thread::spawn(move || feed.write(&bytes).and_then(|()| feed.end()));
        }
        Input::Stdin => {
            let feed = feed.clone();
            std::thread::spawn(move || {
                let mut stdin = std::io::stdin();
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    match stdin.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if feed.write(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = feed.end();
            });
        }
        // A far side that ended already does not need it (and its end is read below).
        Input::Nothing | Input::Terminal => {
            let _ = feed.end();
        }
    }
    let mut pending = Vec::new();
    let mut stopped: Option<i32> = None;
    loop {
        if stopped.is_none() {
            if let Some(mmiodrv::stop::Reason::Signal(s)) = mmiodrv::stop::requested() {
                stopped = Some(s as i32);
                // Passed on as a stop; the far side ends the operation cleanly.
                let _ = feed.stop(s as i32);
            }
        }
        let event = match running.next(Duration::from_millis(50)) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            // A connection that ends after a stop was passed on ends as the stop.
            Err(_) if stopped.is_some() => {
                let signal = stopped.unwrap_or(2);
                let name = nix::sys::signal::Signal::try_from(signal).map_or("a signal", |s| s.as_str());
                let after = "; the connection ended before the remote command said it stopped".to_string();
                return Err(Error::new(ErrorKind::Interrupted { signal: name, done: after }));
            }
            Err(e) => {
                let _ = sink.out(&mut pending, &[], true);
                return Err(e);
            }
        };
        match event {
            Event::Out(bytes) => {
                if sink.out(&mut pending, &bytes, false).is_err() {
                    drop(running);
                    std::process::exit(0);
                }
            }
            Event::Err(bytes) => sink.err(&bytes, false),
            Event::Log(bytes) => sink.err(&bytes, true),
            Event::Done(_) => {}
            Event::Exit(status) => {
                let _ = sink.out(&mut pending, &[], true);
                return Ok(status);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_far_side_gets_the_words_without_remote_options() {
        let w = |s: &str| far_words(&s.split(' ').collect::<Vec<_>>()).join(" ");
        assert_eq!(w("--host lab1 --device 00:04.0 read ID"), "--device 00:04.0 read ID");
        assert_eq!(w("--host=lab1 --hosts f --no-copy read ID --write-to-all-hosts"), "read ID");
        assert_eq!(w("--hosts=f read ID --json"), "read ID --json");
        assert_eq!(w("--device x echo --host y"), "--device x echo --host y");
        assert_eq!(w("--device x read -- --host"), "--device x read -- --host");
    }
}
