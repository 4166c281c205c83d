//! Access widths.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The size of one register access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum Width {
    W8,
    W16,
    W32,
    W64,
}

impl Width {
    pub const ALL: [Width; 4] = [Width::W8, Width::W16, Width::W32, Width::W64];

    pub fn from_bits(bits: u32) -> Result<Self, Error> {
        match bits {
            8 => Ok(Width::W8),
            16 => Ok(Width::W16),
            32 => Ok(Width::W32),
            64 => Ok(Width::W64),
            _ => Err(Error::InvalidWidth { bits }),
        }
    }

    pub fn bits(self) -> u32 {
        self.bytes() as u32 * 8
    }

    pub fn bytes(self) -> u64 {
        match self {
            Width::W8 => 1,
            Width::W16 => 2,
            Width::W32 => 4,
            Width::W64 => 8,
        }
    }

    /// Largest value that fits.
    pub fn max_value(self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }

    /// `value` if it fits this width; `noun` names the access in the error
    /// ("a 32-bit write").
    pub fn check_value(self, value: u64, noun: &str) -> Result<u64, Error> {
        if value > self.max_value() {
            return Err(Error::ValueTooLarge {
                value,
                what: format!("a {self} {noun}"),
                bits: self.bits(),
                max: self.max_value(),
            });
        }
        Ok(value)
    }

    /// Hex digits needed to print a full value.
    pub fn hex_digits(self) -> usize {
        self.bytes() as usize * 2
    }
}

impl TryFrom<u32> for Width {
    type Error = Error;
    fn try_from(bits: u32) -> Result<Self, Error> {
        Width::from_bits(bits)
    }
}

impl From<Width> for u32 {
    fn from(w: Width) -> u32 {
        w.bits()
    }
}

impl fmt::Display for Width {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-bit", self.bits())
    }
}

/// Check that an access of `width` at `offset` lies inside `len` bytes and is
/// naturally aligned. Overflow of `offset + width` counts as out of range.
pub fn check_access(offset: u64, width: Width, len: u64) -> Result<(), Error> {
    let end = offset.checked_add(width.bytes());
    if end.is_none_or(|end| end > len) {
        return Err(Error::OutOfRange { offset, width: width.bytes(), len });
    }
    if offset % width.bytes() != 0 {
        return Err(Error::Misaligned { offset, width: width.bytes() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(Width::from_bits(32).unwrap().bytes(), 4);
        assert_eq!(Width::W16.max_value(), 0xffff);
        assert_eq!(Width::W64.max_value(), u64::MAX);
        assert!(matches!(Width::from_bits(24), Err(Error::InvalidWidth { bits: 24 })));
    }

    #[test]
    fn access_checks() {
        assert!(check_access(0, Width::W64, 8).is_ok());
        assert!(check_access(4, Width::W32, 8).is_ok());
        assert!(matches!(check_access(8, Width::W8, 8), Err(Error::OutOfRange { .. })));
        assert!(matches!(check_access(2, Width::W32, 8), Err(Error::Misaligned { .. })));
        assert!(matches!(check_access(u64::MAX - 1, Width::W32, u64::MAX), Err(Error::OutOfRange { .. })));
        assert!(matches!(check_access(0, Width::W8, 0), Err(Error::OutOfRange { .. })));
    }
}
