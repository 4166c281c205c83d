//! Reading `lspci -x`/`-xxx`/`-xxxx` dumps (what `lspci -F FILE` reads),
//! with libpci's rules: a device starts at a line `BB:DD.F ` or
//! `DDDD:BB:DD.F ` (text may follow), its bytes are lines `OFF: xx xx ...`,
//! a blank line ends the device, and every other line is ignored (so the
//! `-vvv` text between a device's title and its bytes is skipped).
//!
//! Bytes a dump does not give inside its length read as 0xff; the length is
//! one past the highest offset given, as libpci counts it.

use std::fmt;

/// One device of a dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpDevice {
    /// PCI domain (up to five hex digits in a dump).
    pub domain: u32,
    /// Bus number.
    pub bus: u8,
    /// Device (slot) number (a dump may give up to 0xff).
    pub device: u8,
    /// Function number (a decimal digit in a dump).
    pub function: u8,
    /// Config space as the dump gives it.
    pub config: Vec<u8>,
}

impl DumpDevice {
    /// The address as lspci prints it (`00:1f.3`, or `0001:00:1f.3` when
    /// `with_domain`).
    pub fn slot_name(&self, with_domain: bool) -> String {
        let slot = format!("{:02x}:{:02x}.{}", self.bus, self.device, self.function);
        if with_domain {
            format!("{:04x}:{slot}", self.domain)
        } else {
            slot
        }
    }

    /// lspci's order: domain, bus, device, function.
    pub fn sort_key(&self) -> (u32, u8, u8, u8) {
        (self.domain, self.bus, self.device, self.function)
    }
}

/// Why a dump cannot be read (libpci's words; lspci stops at these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DumpError {
    /// A line of 254 characters or more, or a last line without newline.
    LineTooLong {
        /// 1-based line number.
        line: usize,
    },
    /// A byte at offset 4096 or beyond.
    TooLarge {
        /// 1-based line number.
        line: usize,
    },
    /// A hex line with something else than two-digit bytes after the offset.
    Malformed {
        /// 1-based line number.
        line: usize,
    },
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::LineTooLong { line } => write!(f, "line {line}: line too long or unterminated"),
            DumpError::TooLarge { line } => {
                write!(f, "line {line}: at most 4096 bytes of config space are supported")
            }
            DumpError::Malformed { line } => write!(f, "line {line}: malformed line"),
        }
    }
}

impl std::error::Error for DumpError {}

/// Lines must be shorter than this (libpci reads 254 characters at most, newline included).
const MAX_LINE: usize = 254;

/// Whether `s` starts with `pattern`, where `#` stands for a hex digit.
fn shaped(s: &[u8], pattern: &[u8]) -> bool {
    s.len() >= pattern.len()
        && pattern.iter().zip(s).all(|(p, c)| if *p == b'#' { c.is_ascii_hexdigit() } else { p == c })
}

fn hex(s: &[u8]) -> u32 {
    s.iter().fold(0u32, |v, c| (v << 4) | char::from(*c).to_digit(16).unwrap_or(0))
}

/// A device header line: `(domain, bus, device, function)`.
fn header(s: &[u8]) -> Option<(u32, u8, u8, u8)> {
    let (domain, rest) = if shaped(s, b"##:##.# ") {
        (0, s)
    } else if shaped(s, b"####:##:##.# ") {
        (hex(&s[..4]), &s[5..])
    } else if shaped(s, b"#####:##:##.# ") {
        (hex(&s[..5]), &s[6..])
    } else {
        return None;
    };
    // The function is read as a decimal number.
    let function = char::from(rest[6]).to_digit(10)? as u8;
    Some((domain, hex(&rest[..2]) as u8, hex(&rest[3..5]) as u8, function))
}

/// The offset of a hex line (`0f0: ...`: two to eight digits, colon, space)
/// and where its bytes start.
fn hex_line(s: &[u8]) -> Option<(u64, usize)> {
    let digits = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    if !(2..=8).contains(&digits) || s.get(digits) != Some(&b':') || s.get(digits + 1) != Some(&b' ') {
        return None;
    }
    Some((u64::from(hex(&s[..digits])), digits + 2))
}

struct Device {
    address: (u32, u8, u8, u8),
    data: Vec<u8>,
    len: usize,
}

/// Parse a dump into its devices, in the order of the file (lspci then
/// sorts them by [`DumpDevice::sort_key`]).
pub fn parse(text: &str) -> Result<Vec<DumpDevice>, DumpError> {
    let mut devices: Vec<Device> = Vec::new();
    let mut current: Option<usize> = None;
    let mut rest = text;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let Some(end) = rest.find('\n').filter(|e| *e < MAX_LINE) else {
            return Err(DumpError::LineTooLong { line: number });
        };
        let mut line = &rest.as_bytes()[..end];
        rest = &rest[end + 1..];
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if let Some(address) = header(line) {
            devices.push(Device { address, data: vec![0xff; 256], len: 0 });
            current = Some(devices.len() - 1);
        } else if line.is_empty() {
            current = None;
        } else if let (Some(index), Some((offset, start))) = (current, hex_line(line)) {
            bytes(&mut devices[index], offset, &line[start..], number)?;
        }
    }
    Ok(devices
        .into_iter()
        .map(|d| {
            let (domain, bus, device, function) = d.address;
            let mut config = d.data;
            config.truncate(d.len);
            DumpDevice { domain, bus, device, function, config }
        })
        .collect())
}

/// The bytes of one hex line, from `offset`.
fn bytes(dev: &mut Device, offset: u64, mut s: &[u8], number: usize) -> Result<(), DumpError> {
    let mut at = offset;
    while s.len() >= 2 && s[0].is_ascii_hexdigit() && s[1].is_ascii_hexdigit() && (s.len() == 2 || s[2] == b' ') {
        if at >= 4096 {
            return Err(DumpError::TooLarge { line: number });
        }
        let i = at as usize;
        if i >= dev.data.len() {
            dev.data.resize(4096, 0xff);
        }
        dev.data[i] = hex(&s[..2]) as u8;
        at += 1;
        dev.len = dev.len.max(at as usize);
        s = &s[(s.len()).min(3)..];
    }
    if s.is_empty() {
        Ok(())
    } else {
        Err(DumpError::Malformed { line: number })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_devices_and_skips_text() {
        let text = "00:1f.3 Audio device: Intel\n\tSubsystem: x\n00: 86 80 c8 a3 06 04 10 00\n10: 01\n\n\
                    0001:02:00.0 Ethernet\n00: 01 02\n";
        let devs = parse(text).unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!((devs[0].bus, devs[0].device, devs[0].function), (0, 0x1f, 3));
        assert_eq!(devs[0].config.len(), 0x11);
        assert_eq!(&devs[0].config[..4], &[0x86, 0x80, 0xc8, 0xa3]);
        assert_eq!(devs[0].config[8], 0xff);
        assert_eq!(devs[1].domain, 1);
        assert_eq!(devs[1].slot_name(true), "0001:02:00.0");
        assert_eq!(devs[1].config, [1, 2]);
    }

    #[test]
    fn extended_space_and_errors() {
        let devs = parse("00:00.0 x\n100: aa\n").unwrap();
        assert_eq!(devs[0].config.len(), 0x101);
        assert_eq!(devs[0].config[0x100], 0xaa);
        assert_eq!(parse("00:00.0 x\nfff: aa bb\n"), Err(DumpError::TooLarge { line: 2 }));
        assert_eq!(parse("00:00.0 x\n00: aa  bb\n"), Err(DumpError::Malformed { line: 2 }));
        assert_eq!(parse("00:00.0 x\n00: aa"), Err(DumpError::LineTooLong { line: 2 }));
        // A header needs the space after it; a hex line outside a device is ignored.
        assert!(parse("00:00.0\n00: aa\n").unwrap().is_empty());
        // A function is a decimal digit.
        assert!(parse("00:00.a x\n").unwrap().is_empty());
    }
}
