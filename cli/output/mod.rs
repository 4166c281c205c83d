//! Output: lines and JSON on stdout, progress bars on a terminal, and the
//! terminal as the [`Frontend`] results go to. What each result looks like
//! is `render.rs`; errors are `errors.rs`.

use std::io::{IsTerminal, Write};
use std::os::fd::BorrowedFd;

use indicatif::{ProgressBar, ProgressStyle};
use mmiodrv::command::{Frontend, Progress};
use mmiodrv::outcome::Outcome;
use serde::Serialize;

pub use render::Style;

/// `println!` for command output: when stdout is a pipe whose reader has gone
/// (`mmiodrv dump-regs | head -3`), end quietly instead of panicking.
macro_rules! outln {
    () => { $crate::output::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::write_line(format_args!($($arg)*)) };
}

// After the macro, which they use.
pub mod errors;
pub mod render;

thread_local! {
    /// Lines held back while output is block-buffered (a batch script's run):
    /// one write(2) per 64 KiB instead of one per line.
    static HELD: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

/// Hold output lines back until [`flush`] (or 64 KiB), instead of writing
/// each line as it is printed. Interactive uses (the pipe protocol, the
/// shell) keep the default: every line written and flushed at once.
pub fn hold() {
    HELD.with(|h| h.borrow_mut().get_or_insert_with(|| Vec::with_capacity(HELD_LIMIT + 4096)).clear());
}

/// Write what is held (call before printing to stderr, so the two stay in order).
pub fn flush() {
    HELD.with(|h| {
        if let Some(bytes) = h.borrow_mut().as_mut().filter(|b| !b.is_empty()) {
            emit(bytes);
            bytes.clear();
        }
    });
}

/// How much held output is written at once.
pub const HELD_LIMIT: usize = 64 << 10;

/// Whether stdout is a pipe or socket, which another process drains (or does
/// not): writes to it wait for room beside the stop eventfd.
fn stdout_may_block() -> bool {
    static PIPE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PIPE.get_or_init(|| {
        use std::os::fd::AsFd;
        nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&std::io::stdout().as_fd())).is_ok_and(|st| {
            let kind = st.st_mode & nix::libc::S_IFMT;
            kind == nix::libc::S_IFIFO || kind == nix::libc::S_IFSOCK
        })
    })
}

fn emit(bytes: &[u8]) {
    if crate::remote::agent::framed() {
        return crate::remote::agent::out(bytes);
    }
    let mut out = std::io::stdout().lock();
    if stdout_may_block() {
        // A reader that stops reading must not keep the process past a stop
        // (a blocked write is restarted by the signal): wait for room, then
        // write at most a page, which room for one page always takes. Pieces
        // end at a line's end, so output never stops inside a line. A stop
        // while the pipe is full gives the reader a grace period to drain
        // what was printed (the run then ends at its line, as any stop);
        // a reader that reads nothing in it is left behind.
        use std::os::fd::AsFd;
        let mut rest = bytes;
        let mut stopped: Option<(mmiodrv::Error, std::time::Instant)> = None;
        while !rest.is_empty() {
            let room = match &stopped {
                None => match mmiodrv::stop::wait_ready(out.as_fd(), true) {
                    Ok(()) => true,
                    Err(stop) => {
                        stopped = Some((stop, std::time::Instant::now() + STOP_GRACE));
                        continue;
                    }
                },
                Some((_, deadline)) => {
                    mmiodrv::unix::ready_before(out.as_fd(), nix::poll::PollFlags::POLLOUT, *deadline)
                }
            };
            if let (false, Some((stop, _))) = (room, &stopped) {
                eprintln!("{}", errors::error_line(stop, None));
                std::process::exit(errors::exit_status(stop));
            }
            let n = piece(rest);
            if let Err(e) = out.write_all(&rest[..n]).and_then(|_| out.flush()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    std::process::exit(0);
                }
                eprintln!("mmiodrv: error: cannot write to stdout: {e}");
                std::process::exit(errors::exit_code(mmiodrv::ErrorClass::Io));
            }
            rest = &rest[n..];
        }
        return;
    }
    if let Err(e) = out.write_all(bytes).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        err_line(&format!("mmiodrv: error: cannot write to stdout: {e}"));
        std::process::exit(errors::exit_code(mmiodrv::ErrorClass::Io));
    }
}

/// How long a stop waits for a reader to drain output already printed.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// The first piece of `bytes` to write at once: at most a page, ending after
/// its last line break when it has one.
fn piece(bytes: &[u8]) -> usize {
    const PAGE: usize = 4096;
    if bytes.len() <= PAGE {
        return bytes.len();
    }
    bytes[..PAGE].iter().rposition(|&b| b == b'\n').map_or(PAGE, |i| i + 1)
}

/// One line on stderr (an error line): on a remote run's far side, a frame
/// in order with the output.
pub fn err_line(text: &str) {
    if crate::remote::agent::framed() {
        return crate::remote::agent::err(format!("{text}\n").as_bytes());
    }
    eprintln!("{text}");
}

/// Bytes of output that end no line (a terminal's cursor moves).
pub fn raw(bytes: &[u8]) {
    HELD.with_borrow_mut(|held| match held {
        Some(buf) => buf.extend_from_slice(bytes),
        None => emit(bytes),
    })
}

/// Every line of a script or of the pipe protocol up to `line` is done:
/// on a remote run's far side, the near side learns it with the output.
pub fn done(line: usize) {
    if !crate::remote::agent::framed() {
        return;
    }
    let held = HELD.with_borrow(|h| h.is_some());
    crate::remote::agent::done(line as u64, held);
}

/// Whether standard output is a terminal (on a remote run's far side: the
/// near side's).
pub fn stdout_is_terminal() -> bool {
    crate::remote::agent::stdout_is_terminal()
}

pub fn write_line(args: std::fmt::Arguments<'_>) {
    // Writing into a Vec cannot fail.
    line_with(|buf| {
        let _ = buf.write_fmt(args);
    })
}

/// Many lines pushed at once into the held buffer by `build` (a run of a
/// script's repeated line), which stops once the buffer holds
/// [`HELD_LIMIT`] bytes; written out then. When output is not held, the
/// lines go out in one write. `build` must not print by other means.
pub fn with_held<R>(build: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    HELD.with_borrow_mut(|held| match held {
        Some(buf) => {
            let r = build(buf);
            if buf.len() >= HELD_LIMIT {
                emit(buf);
                buf.clear();
            }
            r
        }
        None => {
            let mut lines = Vec::new();
            let r = build(&mut lines);
            emit(&lines);
            r
        }
    })
}

/// One output line built by `build` straight into the output buffer (no
/// formatting machinery needed: a batch prints one line per operation).
pub fn line_with(build: impl FnOnce(&mut Vec<u8>)) {
    HELD.with_borrow_mut(|held| match held {
        Some(buf) => {
            build(buf);
            buf.push(b'\n');
            if buf.len() >= HELD_LIMIT {
                emit(buf);
                buf.clear();
            }
        }
        None => {
            let mut line = Vec::with_capacity(128);
            build(&mut line);
            line.push(b'\n');
            emit(&line);
        }
    })
}

pub use mmiodrv::outcome::SCHEMA_VERSION;

/// Print one JSON object on one line of stdout (JSON Lines), `op` naming
/// the command that made it. `value` is one of the types the schema
/// declares for `op` (commands/mod.rs, `results`).
pub fn print_json<T: Serialize>(op: &str, value: &T) {
    match serde_json::to_string(value) {
        // `{"schema":2,"op":...,` spliced in front of the object's own
        // fields: no second serialization on a batch's hot path.
        Ok(text) if text.len() > 2 && text.starts_with('{') => crate::output::line_with(|out| {
            out.extend_from_slice(b"{\"schema\":");
            out.extend_from_slice(SCHEMA_VERSION.to_string().as_bytes());
            out.extend_from_slice(b",\"op\":");
            out.extend_from_slice(serde_json::to_string(op).unwrap_or_default().as_bytes());
            out.push(b',');
            out.extend_from_slice(&text.as_bytes()[1..]);
        }),
        Ok(text) => outln!("{text}"),
        // Serialization of our own plain structs cannot fail; say so if it ever does.
        Err(e) => err_line(&format!("mmiodrv: error: cannot encode JSON: {e}")),
    }
}

/// Transfers at least this long get a progress bar on a terminal.
const PROGRESS_FROM: u64 = 8 << 20;

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&mut self, n: u64) {
        self.0.inc(n);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// The terminal (or a pipe): each result printed as it comes.
pub struct Terminal {
    pub style: Style,
}

impl Terminal {
    pub fn new(json: bool) -> Self {
        Terminal { style: Style { json, ..Style::default() } }
    }
}

impl Frontend for Terminal {
    fn emit(&mut self, outcome: Outcome) {
        render::outcome(&outcome, self.style);
    }

    fn progress(&mut self, total: u64, what: &str) -> Box<dyn Progress> {
        if total < PROGRESS_FROM || !stdout_is_terminal() || !std::io::stderr().is_terminal() {
            return Box::new(mmiodrv::command::NoProgress);
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Box::new(Bar(bar))
    }

    /// Readable once SIGINT, SIGTERM or SIGHUP asked to stop (or the kernel
    /// asked for the device back): see mmiodrv::stop.
    fn stop_fd(&self) -> Option<BorrowedFd<'_>> {
        mmiodrv::stop::install_signal_handlers().ok()?;
        mmiodrv::stop::fd()
    }
}
