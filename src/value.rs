//! Inputs as users give them: numbers (`0x1f`, `0b1010`, `31`, with `_`
//! separators), sizes with K/M/G suffixes (powers of 1024), and files read
//! with limits.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, ErrorKind};

/// Parse an unsigned number in hex (`0x`), binary (`0b`), octal (`0o`) or decimal.
pub fn parse_u64(input: &str) -> Result<u64, Error> {
    let bad = |reason: &str| Error::invalid(input, reason);
    let text: String = input.trim().chars().filter(|c| *c != '_').collect();
    let lower = text.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() {
        return Err(bad("expected a number such as 0x1f, 0b1010 or 31"));
    }
    if digits.starts_with(['+', '-']) {
        return Err(bad("expected an unsigned number"));
    }
    u64::from_str_radix(digits, radix).map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => bad("larger than 64 bits"),
        _ => bad("expected a number such as 0x1f, 0b1010 or 31"),
    })
}

/// Parse a size or offset: a number as in [`parse_u64`], optionally followed by
/// K, M or G (KiB, MiB, GiB).
pub fn parse_size(input: &str) -> Result<u64, Error> {
    let t = input.trim();
    let (number, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    // K, M and G are not hex digits, so a suffix after hex digits is unambiguous.
    let value =
        parse_u64(number).map_err(|_| Error::invalid(input, "expected a size such as 4096, 0x1000, 64K or 1M"))?;
    value.checked_mul(1u64 << shift).ok_or_else(|| Error::invalid(input, "larger than 64 bits"))
}

/// Parse a number that must fit in `bits` bits; `what` names it in the error
/// ("the liveness value").
pub fn parse_bits(input: &str, bits: u32, what: &str) -> Result<u64, Error> {
    let value = parse_u64(input)?;
    let max = u64::MAX >> (64 - bits);
    if value > max {
        return Err(ErrorKind::ValueTooLarge { value, what: what.to_string(), bits, max }.into());
    }
    Ok(value)
}

/// A value as a command takes it: a number, or the name of one of a
/// field's named values (`write CTRL.MODE fast`), which the register map
/// turns into its number once the target is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A number.
    Number(u64),
    /// A named value of the target field (matched without regard to case).
    Name(String),
}

impl Operand {
    /// `input` as a value of at most `bits` bits: a number if it starts
    /// with a digit and has no space (`0x..`, `0b..`, decimal, with the
    /// number's errors), else a name (`fast`, `"1000 Mb/s"`).
    pub fn parse(input: &str, bits: u32, what: &str) -> Result<Operand, Error> {
        if input.is_empty() {
            return Err(Error::invalid(input, "expected a number or the name of a value"));
        }
        if input.starts_with(|c: char| c.is_ascii_digit()) && !input.contains(char::is_whitespace) {
            return parse_bits(input, bits, what).map(Operand::Number);
        }
        Ok(Operand::Name(input.to_string()))
    }

    /// The number, when it is one.
    pub fn number(&self) -> Option<u64> {
        match self {
            Operand::Number(n) => Some(*n),
            Operand::Name(_) => None,
        }
    }
}

impl From<u64> for Operand {
    fn from(n: u64) -> Operand {
        Operand::Number(n)
    }
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Number(n) => write!(f, "{n:#x}"),
            Operand::Name(name) => f.write_str(name),
        }
    }
}

/// Bytes given in hex: pairs of hex digits, first byte first, an optional
/// `0x`, and spaces, colons or underscores between them ignored
/// (`deadbeef`, `de ad be ef`, `0xdeadbeef`).
pub fn parse_hex_bytes(input: &str) -> Result<Vec<u8>, Error> {
    let bad = |reason: &str| Error::invalid(input, reason);
    let t = input.trim();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let digits: Vec<char> = t.chars().filter(|c| !c.is_whitespace() && !matches!(c, ':' | '_')).collect();
    if digits.is_empty() {
        return Err(bad("expected hex bytes such as 'deadbeef' or 'de ad be ef'"));
    }
    if digits.len() % 2 != 0 {
        return Err(bad("an odd number of hex digits: every byte takes two"));
    }
    digits
        .chunks(2)
        .map(|p| match (p[0].to_digit(16), p[1].to_digit(16)) {
            (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
            _ => Err(bad("expected hex digits 0-9, a-f")),
        })
        .collect()
}

/// Check that `path` is a regular file, without reading it (and without
/// blocking on a FIFO): for inputs checked before a device is opened.
pub fn check_regular_file(path: &Path, what: &'static str) -> Result<(), Error> {
    open_regular(path, what).map(|_| ())
}

fn open_regular(path: &Path, what: &'static str) -> Result<(std::fs::File, u64), Error> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io("cannot open", path, e))?;
    let meta = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?;
    if !meta.is_file() {
        return Err(ErrorKind::NotARegularFile { what, path: path.to_path_buf() }.into());
    }
    Ok((file, meta.len()))
}

/// Read a whole file that must be a regular file of at most `limit` bytes.
/// Opening never blocks (a FIFO is refused, not waited on), and nothing is
/// read past the limit. `what` names the file's role in errors ("a register map").
pub fn read_regular_file(path: &Path, what: &'static str, limit: u64) -> Result<Vec<u8>, Error> {
    let (file, len) = open_regular(path, what)?;
    if len > limit {
        return Err(ErrorKind::FileTooLarge { what, path: path.to_path_buf(), limit }.into());
    }
    let mut data = Vec::with_capacity(len as usize);
    // The file may grow after the stat: read at most one byte past the limit to tell.
    file.take(limit + 1).read_to_end(&mut data).map_err(|e| Error::io("cannot read", path, e))?;
    if data.len() as u64 > limit {
        return Err(ErrorKind::FileTooLarge { what, path: path.to_path_buf(), limit }.into());
    }
    Ok(data)
}

/// Check, before any device is opened, that `path` can take a command's
/// output: not a directory or block device, not a symbolic link another user
/// owns, in a directory that exists.
pub fn check_output_path(path: &Path, what: &'static str) -> Result<(), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            untrusted_link(path, &m)?;
            match std::fs::metadata(path) {
                Ok(t) if t.is_dir() => Err(ErrorKind::NotARegularFile { what, path: path.to_path_buf() }.into()),
                _ => Ok(()),
            }
        }
        Ok(m) if m.is_dir() || m.file_type().is_block_device() => {
            Err(ErrorKind::NotARegularFile { what, path: path.to_path_buf() }.into())
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = parent_dir(path);
            match std::fs::metadata(parent) {
                Ok(m) if m.is_dir() => Ok(()),
                Ok(_) => Err(Error::io("cannot create", path, std::io::Error::from(std::io::ErrorKind::NotADirectory))),
                Err(e) => Err(Error::io("cannot create", path, e)),
            }
        }
        Err(e) => Err(Error::io("cannot create", path, e)),
    }
}

fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A symbolic link is followed only when this user or root owns it (as
/// `/dev/stdout`): another user's link in a shared directory could point a
/// command run as root at any file.
fn untrusted_link(path: &Path, link: &std::fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    if link.uid() == me || link.uid() == 0 {
        return Ok(());
    }
    Err(Error::io(
        "refusing to write through",
        path,
        std::io::Error::other(format!(
            "a symbolic link owned by another user (uid {}): it is not followed; remove it or name another file",
            link.uid()
        )),
    ))
}

/// A command's output file, written safely by whoever runs the command
/// (root too):
///
/// - a new or existing regular file is written to a new file beside it
///   (created `O_EXCL|O_NOFOLLOW`, a fresh name), renamed over it by
///   [`OutputFile::commit`]: nothing half-written is ever seen at `path`, a
///   failure leaves the old file as it was, and a link planted at `path` is
///   replaced, never written through;
/// - a FIFO, terminal or character device (`/dev/null`) is written in place,
///   its writes waiting beside the stop eventfd (a reader that stops reading
///   never keeps the process past a signal); opening never blocks (a FIFO no
///   process reads is an error);
/// - a symbolic link is followed only when this user or root owns it (as
///   `/dev/stdout`); a directory or block device is refused.
///
/// [`create_stream_file`] writes in place instead (a trace, read while it is
/// written).
#[derive(Debug)]
pub struct OutputFile {
    file: std::fs::File,
    path: std::path::PathBuf,
    /// The new file to rename over `path`, until committed.
    temp: Option<std::path::PathBuf>,
    /// Writes may block (a FIFO, a device): they wait beside the stop eventfd.
    waits: bool,
}

impl OutputFile {
    /// Where it goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Everything written: make it the file at its path (the rename). Until
    /// then `path` is untouched; dropped without it, nothing was written.
    pub fn commit(mut self) -> Result<(), Error> {
        use std::io::Write;
        self.file.flush().map_err(|e| Error::io("cannot write", &self.path, e))?;
        if let Some(temp) = self.temp.take() {
            if let Err(e) = std::fs::rename(&temp, &self.path) {
                let _ = std::fs::remove_file(&temp);
                return Err(Error::io("cannot rename a new file over", &self.path, e));
            }
        }
        Ok(())
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

impl std::io::Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            match self.file.write(buf) {
                Err(e) if self.waits && e.kind() == std::io::ErrorKind::WouldBlock => {
                    use std::os::fd::AsFd;
                    crate::stop::wait_ready(self.file.as_fd(), true)
                        .map_err(|e| std::io::Error::other(e.to_string()))?;
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Open flags of every output open: never a controlling terminal, never
/// kept across exec, never blocking in open.
const OUT_FLAGS: i32 = nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY | nix::libc::O_CLOEXEC;

/// What is at an output path, opened when it is written in place.
enum Existing {
    /// Nothing.
    Nothing,
    /// A regular file (not followed through a link).
    Regular(std::fs::Metadata),
    /// Opened for writing in place: a FIFO, a device, or a regular file
    /// behind a trusted link.
    Opened(std::fs::File, bool),
}

fn open_in_place(path: &Path, follow: bool) -> Result<std::fs::File, Error> {
    let flags = if follow { OUT_FLAGS } else { OUT_FLAGS | nix::libc::O_NOFOLLOW };
    std::fs::OpenOptions::new().write(true).custom_flags(flags).open(path).map_err(|e| match e.raw_os_error() {
        Some(nix::libc::ENXIO) => Error::io("cannot open", path, std::io::Error::other("a FIFO no process reads")),
        Some(nix::libc::ELOOP) => {
            Error::io("refusing to write through", path, std::io::Error::other("a symbolic link"))
        }
        _ => Error::io("cannot open", path, e),
    })
}

/// A regular file opened in place must be this file alone (one link: not
/// another file's second name) and is emptied.
fn truncate_in_place(path: &Path, file: &std::fs::File) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?;
    if meta.nlink() != 1 {
        return Err(Error::io(
            "refusing to write",
            path,
            std::io::Error::other("it has other hard links: writing it would change another file too"),
        ));
    }
    file.set_len(0).map_err(|e| Error::io("cannot truncate", path, e))
}

fn examine(path: &Path, what: &'static str) -> Result<Existing, Error> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(Error::io("cannot create", path, e)),
    };
    let t = meta.file_type();
    if t.is_dir() || t.is_block_device() {
        return Err(ErrorKind::NotARegularFile { what, path: path.to_path_buf() }.into());
    }
    if t.is_symlink() {
        untrusted_link(path, &meta)?;
        let file = open_in_place(path, true)?;
        let target = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?;
        if target.is_dir() || target.file_type().is_block_device() {
            return Err(ErrorKind::NotARegularFile { what, path: path.to_path_buf() }.into());
        }
        if target.is_file() {
            truncate_in_place(path, &file)?;
            return Ok(Existing::Opened(file, false));
        }
        return Ok(Existing::Opened(file, true));
    }
    if t.is_file() {
        return Ok(Existing::Regular(meta));
    }
    Ok(Existing::Opened(open_in_place(path, false)?, true))
}

/// Open `path` to write a command's output (see [`OutputFile`]); call
/// [`OutputFile::commit`] once everything is written.
pub fn create_output_file(path: &Path) -> Result<OutputFile, Error> {
    use std::os::unix::fs::MetadataExt;
    let mode = match examine(path, "the output file")? {
        Existing::Opened(file, waits) => {
            return Ok(OutputFile { file, path: path.to_path_buf(), temp: None, waits });
        }
        // An existing file of ours keeps its permissions (a private one stays private).
        Existing::Regular(m) if m.uid() == nix::unistd::geteuid().as_raw() => m.mode() & 0o7777,
        _ => 0o666,
    };
    let dir = parent_dir(path);
    let base = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for n in 0..100u32 {
        let temp = dir.join(format!(".{base}.mmiodrv-{}-{n}.tmp", std::process::id()));
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NOCTTY)
            .open(&temp);
        match opened {
            Ok(file) => {
                // The mode asked for, whatever the umask took away of an existing file's.
                if mode != 0o666 {
                    let _ = file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
                }
                return Ok(OutputFile { file, path: path.to_path_buf(), temp: Some(temp), waits: false });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("cannot create a file beside", path, e)),
        }
    }
    Err(Error::io("cannot create a file beside", path, std::io::Error::from(std::io::ErrorKind::AlreadyExists)))
}

/// Open `path` to write in place as things happen (a trace, read while it
/// is written): a new file is created `O_EXCL|O_NOFOLLOW`; an existing
/// regular file is opened without following a link and must have one link
/// (it is then emptied); FIFOs, devices and trusted links as in
/// [`OutputFile`]. Nothing to commit.
pub fn create_stream_file(path: &Path) -> Result<std::fs::File, Error> {
    let file = match examine(path, "the output file")? {
        Existing::Opened(file, _) => file,
        Existing::Regular(_) => {
            let file = open_in_place(path, false)?;
            truncate_in_place(path, &file)?;
            file
        }
        Existing::Nothing => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .custom_flags(OUT_FLAGS | nix::libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| Error::io("cannot create", path, e))?,
    };
    // Writes block as usual (only the open had to not wait).
    let flags = nix::fcntl::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), nix::fcntl::FcntlArg::F_GETFL)
        .map_err(|e| Error::io("cannot set up", path, e.into()))?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) & !nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), nix::fcntl::FcntlArg::F_SETFL(flags))
        .map_err(|e| Error::io("cannot set up", path, e.into()))?;
    Ok(file)
}

/// `time` as RFC 3339 in UTC with milliseconds (`2025-01-31T12:34:56.789Z`).
pub fn rfc3339(time: std::time::SystemTime) -> String {
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or(std::time::Duration::ZERO);
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0x1F").unwrap(), 31);
        assert_eq!(parse_u64("0b1010").unwrap(), 10);
        assert_eq!(parse_u64("0o17").unwrap(), 15);
        assert_eq!(parse_u64("31").unwrap(), 31);
        assert_eq!(parse_u64("0xf0f0_f0f0").unwrap(), 0xf0f0_f0f0);
        assert_eq!(parse_u64("0xffffffffffffffff").unwrap(), u64::MAX);
        for bad in ["", "0x", "-1", "+1", "abc", "0x1g", "0b2", "1.5", "0x10000000000000000"] {
            let e = parse_u64(bad).unwrap_err();
            assert_eq!(e.class(), crate::error::ErrorClass::Usage, "{bad}");
        }
        assert!(parse_u64("0x10000000000000000").unwrap_err().to_string().contains("64 bits"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("4K").unwrap(), 4096);
        assert_eq!(parse_size("1m").unwrap(), 1 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("0x100").unwrap(), 256);
        assert!(parse_size("K").is_err());
        assert!(parse_size("99999999999999G").is_err());
        assert!(parse_size("1T").is_err());
    }
}

#[cfg(test)]
mod hex_tests {
    use super::*;

    #[test]
    fn hex_bytes() {
        assert_eq!(parse_hex_bytes("deadbeef").unwrap(), [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_hex_bytes("0xDE AD:be_ef").unwrap(), [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_hex_bytes(" 01 ").unwrap(), [1]);
        for bad in ["", "0x", "abc", "zz", "0x1g"] {
            assert!(parse_hex_bytes(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"hello").unwrap();
        assert_eq!(read_regular_file(&f, "a test file", 5).unwrap(), b"hello");
        let e = read_regular_file(&f, "a test file", 4).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::FileTooLarge { limit: 4, .. }), "{e}");
        let e = read_regular_file(dir.path(), "a test file", 5).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NotARegularFile { .. }), "{e}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = read_regular_file(&fifo, "a test file", 5).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NotARegularFile { .. }), "a FIFO is refused, not waited on: {e}");
        let e = read_regular_file(Path::new("/dev/zero"), "a test file", 5).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NotARegularFile { .. }), "{e}");
    }

    #[test]
    fn output_files_never_block_in_open() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        check_output_path(&fifo, "the output").unwrap();
        let e = create_output_file(&fifo).unwrap_err();
        assert_eq!(e.class(), crate::error::ErrorClass::Io, "{e}");
        assert!(e.to_string().contains("a FIFO no process reads"), "{e}");
        let e = check_output_path(dir.path(), "the output").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NotARegularFile { .. }), "{e}");
        let e = check_output_path(&dir.path().join("no/such/dir/out"), "the output").unwrap_err();
        assert_eq!(e.class(), crate::error::ErrorClass::Io, "{e}");
        let out = dir.path().join("out");
        check_output_path(&out, "the output").unwrap();
        let mut f = create_output_file(&out).unwrap();
        std::io::Write::write_all(&mut f, b"abc").unwrap();
        assert!(!out.exists(), "nothing at the path before the commit");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"abc");
        create_output_file(Path::new("/dev/null")).unwrap().commit().unwrap();
    }

    /// Files written as root (issue 23, point 5): another user's symbolic
    /// link is not followed (a victim file it points to is untouched), a
    /// second hard link is not written through, an unfinished output leaves
    /// the old file whole and no temporary file behind, and an existing
    /// private file stays private.
    #[test]
    fn output_files_are_never_written_through_links() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "secret").unwrap();
        // A link of this user (or root) is followed: the test cannot make
        // another user's link without root, so the rule is checked directly.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(untrusted_link(&link, &meta).is_ok());
        if nix::unistd::geteuid().is_root() {
            nix::unistd::fchownat(
                None,
                &link,
                Some(nix::unistd::Uid::from_raw(65534)),
                None,
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .unwrap();
            for open in [
                |p: &Path| create_output_file(p).map(drop),
                |p: &Path| create_stream_file(p).map(drop),
                |p: &Path| check_output_path(p, "the output"),
            ] {
                let e = open(&link).unwrap_err();
                assert!(e.to_string().contains("a symbolic link owned by another user"), "{e}");
            }
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret");
        }
        std::fs::remove_file(&link).unwrap();
        // A second name of the victim: the stream is refused, the output replaces the name only.
        let hard = dir.path().join("hard");
        std::fs::hard_link(&victim, &hard).unwrap();
        let e = create_stream_file(&hard).unwrap_err();
        assert!(e.to_string().contains("other hard links"), "{e}");
        let mut f = create_output_file(&hard).unwrap();
        std::io::Write::write_all(&mut f, b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&hard).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret");
        // Dropped before the commit: the old contents stay, nothing is left beside.
        let mut f = create_output_file(&hard).unwrap();
        std::io::Write::write_all(&mut f, b"half").unwrap();
        drop(f);
        assert_eq!(std::fs::read_to_string(&hard).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A private file stays private.
        std::fs::set_permissions(&hard, std::fs::Permissions::from_mode(0o600)).unwrap();
        create_output_file(&hard).unwrap().commit().unwrap();
        assert_eq!(std::fs::metadata(&hard).unwrap().mode() & 0o777, 0o600);
        // A stream: created new, or an existing file of one link emptied.
        let t = dir.path().join("trace");
        std::io::Write::write_all(&mut create_stream_file(&t).unwrap(), b"one").unwrap();
        std::io::Write::write_all(&mut create_stream_file(&t).unwrap(), b"2").unwrap();
        assert_eq!(std::fs::read_to_string(&t).unwrap(), "2");
    }
}
