//! Inputs as users give them: numbers (`0x1f`, `0b1010`, `31`, with `_`
//! separators), sizes with K/M/G suffixes (powers of 1024), and files read
//! with limits.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
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
/// output: not a directory, in a directory that exists.
pub fn check_output_path(path: &Path, what: &'static str) -> Result<(), Error> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(ErrorKind::NotARegularFile { what, path: path.to_path_buf() }.into()),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            match std::fs::metadata(parent) {
                Ok(m) if m.is_dir() => Ok(()),
                Ok(_) => Err(Error::io("cannot create", path, std::io::Error::from(std::io::ErrorKind::NotADirectory))),
                Err(e) => Err(Error::io("cannot create", path, e)),
            }
        }
        Err(e) => Err(Error::io("cannot create", path, e)),
    }
}

/// Open `path` to write a command's output: created or truncated. Opening
/// never blocks: a FIFO that no process reads is an error, not a wait (a FIFO
/// with a reader, a terminal or `/dev/null` are written as usual).
pub fn create_output_file(path: &Path) -> Result<std::fs::File, Error> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ENXIO) => Error::io("cannot open", path, std::io::Error::other("a FIFO no process reads")),
            _ => Error::io("cannot create", path, e),
        })?;
    // Writes block as usual (only the open had to not wait).
    let flags = nix::fcntl::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), nix::fcntl::FcntlArg::F_GETFL)
        .map_err(|e| Error::io("cannot set up", path, e.into()))?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) & !nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), nix::fcntl::FcntlArg::F_SETFL(flags))
        .map_err(|e| Error::io("cannot set up", path, e.into()))?;
    Ok(file)
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
        std::io::Write::write_all(&mut create_output_file(&out).unwrap(), b"abc").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"abc");
        create_output_file(Path::new("/dev/null")).unwrap();
    }
}
