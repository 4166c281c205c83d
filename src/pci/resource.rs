//! The sysfs `resource` file: where each BAR sits and what kind it is.

use serde::Serialize;

/// Kernel `IORESOURCE_*` flags we decode (include/linux/ioport.h).
const IORESOURCE_IO: u64 = 0x100;
const IORESOURCE_MEM: u64 = 0x200;
const IORESOURCE_PREFETCH: u64 = 0x2000;
const IORESOURCE_MEM_64: u64 = 0x0010_0000;

/// One line of the `resource` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// First address.
    pub start: u64,
    /// Last address (inclusive).
    pub end: u64,
    /// `IORESOURCE_*` flags.
    pub flags: u64,
}

/// What a BAR decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum BarKind {
    /// Memory space.
    Memory,
    /// I/O-port space.
    Io,
}

impl Resource {
    /// Size in bytes; zero for an unimplemented BAR.
    pub fn size(&self) -> u64 {
        if self.end <= self.start && self.start == 0 {
            0
        } else {
            self.end.wrapping_sub(self.start).wrapping_add(1)
        }
    }

    /// Memory or I/O, for an implemented BAR.
    pub fn kind(&self) -> Option<BarKind> {
        if self.size() == 0 {
            None
        } else if self.flags & IORESOURCE_IO != 0 {
            Some(BarKind::Io)
        } else if self.flags & IORESOURCE_MEM != 0 {
            Some(BarKind::Memory)
        } else {
            None
        }
    }

    /// A 64-bit memory BAR.
    pub fn is_64bit(&self) -> bool {
        self.flags & IORESOURCE_MEM_64 != 0
    }

    /// A prefetchable memory BAR.
    pub fn is_prefetchable(&self) -> bool {
        self.flags & IORESOURCE_PREFETCH != 0
    }
}

/// Parse the whole file; the error says which line is wrong.
pub fn parse_resource_file(text: &str) -> Result<Vec<Resource>, String> {
    parse_resource_lines(text, usize::MAX)
}

/// Parse the first `max` lines (the BARs are the first six).
pub fn parse_resource_lines(text: &str, max: usize) -> Result<Vec<Resource>, String> {
    let mut out = Vec::with_capacity(max.min(13));
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).take(max) {
        let mut words = line.split_ascii_whitespace();
        let mut next = || -> Result<Option<u64>, String> {
            words
                .next()
                .map(|w| {
                    let digits = w.strip_prefix("0x").unwrap_or(w);
                    u64::from_str_radix(digits, 16)
                        .map_err(|_| format!("line {}: '{line}' is not three hex numbers", i + 1))
                })
                .transpose()
        };
        match (next()?, next()?, next()?, next()?) {
            (Some(start), Some(end), Some(flags), None) => out.push(Resource { start, end, flags }),
            _ => {
                let found = line.split_ascii_whitespace().count();
                return Err(format!("line {}: expected 3 numbers, found {found}", i + 1));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_lines() {
        let text = "0x00000000fea00000 0x00000000feafffff 0x0000000000040200\n\
                    0x000000000000c000 0x000000000000c01f 0x0000000000040101\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x0000008000000000 0x00000080003fffff 0x000000000014220c\n";
        let r = parse_resource_file(text).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].size(), 0x10_0000);
        assert_eq!(r[0].kind(), Some(BarKind::Memory));
        assert!(!r[0].is_64bit() && !r[0].is_prefetchable());
        assert_eq!(r[1].kind(), Some(BarKind::Io));
        assert_eq!(r[1].size(), 0x20);
        assert_eq!(r[2].size(), 0);
        assert_eq!(r[2].kind(), None);
        assert!(r[3].is_64bit() && r[3].is_prefetchable());
        assert_eq!(r[3].size(), 0x40_0000);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_resource_file("0x1 0x2\n").unwrap_err().contains("line 1"));
        assert!(parse_resource_file("0x0 0x0 0x0\nzz 0 0\n").unwrap_err().contains("line 2"));
    }
}
