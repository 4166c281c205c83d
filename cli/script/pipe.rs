//! The pipe protocol (`batch -` with stdin a pipe): a line in, its reply out
//! (flushed), until the end of input.

use std::io::BufRead;

use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::session::Session;

use super::{help, line_tree, open, parse_line, report_error, run_line, Line};
use crate::cli::Global;
use crate::context::MapChoice;

/// Longest line of the pipe protocol.
const MAX_LINE: u64 = 64 << 10;

/// The next line, without its end of line; `None` at the end of input.
/// Nothing is read past [`MAX_LINE`] bytes of one line.
fn next_line(input: &mut impl BufRead) -> Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = std::io::Read::take(&mut *input, MAX_LINE + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| mmiodrv::stop::check().err().unwrap_or_else(|| Error::io("cannot read", "standard input", e)))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() as u64 > MAX_LINE {
        return Err(Error::syntax(format!("a line longer than {MAX_LINE} bytes")));
    }
    Ok(Some(buf))
}

/// Standard input as a file of its own (not std's buffered handle, whose
/// buffer a wait on the descriptor would not see).
fn stdin() -> Result<std::fs::File> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().map_err(|e| Error::io("cannot use", "standard input", e))?;
    Ok(std::fs::File::from(fd))
}

/// Reads that wait for input beside the stop eventfd: a signal while the
/// protocol waits for its next line ends the run at once (a blocked read
/// would be restarted by the first signal).
struct StopAware(std::fs::File);

impl std::io::Read for StopAware {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::fd::AsFd;
        // The stop's error is taken from `stop::check` by the caller.
        mmiodrv::stop::wait_ready(self.0.as_fd(), false).map_err(|e| std::io::Error::other(e.to_string()))?;
        self.0.read(buf)
    }
}

/// `batch -`.
pub fn run(g: &Global, choice: &MapChoice, check: bool, keep_going: bool) -> Result<()> {
    let (options, device) = open(g, choice)?;
    let session = Session::new(&device, options);
    let tree = line_tree();
    let mut input = std::io::BufReader::new(StopAware(stdin()?));
    let mut first: Option<Error> = None;
    for i in 1.. {
        let line = match next_line(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                // Not a line that can be skipped: the input is not the protocol.
                report_error(g, &e, "-", i);
                first.get_or_insert(e);
                break;
            }
        };
        if let Err(e) = mmiodrv::stop::check() {
            let e = e.with_device(device.device());
            report_error(g, &e, "-", i);
            first = Some(e);
            break;
        }
        let line = String::from_utf8(line).map_err(|_| Error::syntax("a line that is not UTF-8 text"));
        let result = line.and_then(|line| parse_line(&line, &tree)).and_then(|parsed| match parsed {
            Line::Request(r) => {
                let prepared = session.prepare(r.op)?;
                if check {
                    return Ok(());
                }
                run_line(&session, g, &prepared, r.quiet)
            }
            Line::Help(path) => {
                help(&path);
                Ok(())
            }
            Line::Nothing => Ok(()),
        });
        crate::output::flush();
        if let Err(e) = result {
            report_error(g, &e, "-", i);
            crate::output::done(i);
            let stop = matches!(e.kind(), ErrorKind::Interrupted { .. } | ErrorKind::ReleaseRequested);
            first.get_or_insert(e);
            if stop || !keep_going {
                break;
            }
            continue;
        }
        crate::output::done(i);
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
