//! Access widths.

use crate::error::AccessError;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The size of one register access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum Width {
    /// One byte.
    W8,
    /// Two bytes.
    W16,
    /// Four bytes.
    W32,
    /// Eight bytes.
    W64,
}

/// In JSON: its bits, 8, 16, 32 or 64.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Width {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Width".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "An access width in bits.", "enum": [8, 16, 32, 64] })
    }
}

impl Width {
    /// The width of `bits` bits (8, 16, 32 or 64).
    pub fn from_bits(bits: u32) -> Result<Self, Error> {
        match bits {
            8 => Ok(Width::W8),
            16 => Ok(Width::W16),
            32 => Ok(Width::W32),
            64 => Ok(Width::W64),
            _ => Err(AccessError::InvalidWidth { bits }.into()),
        }
    }

    /// Size in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        self.bytes() as u32 * 8
    }

    /// Size in bytes.
    #[inline]
    pub const fn bytes(self) -> u64 {
        match self {
            Width::W8 => 1,
            Width::W16 => 2,
            Width::W32 => 4,
            Width::W64 => 8,
        }
    }

    /// Largest value that fits.
    #[inline]
    pub const fn max_value(self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }

    /// `value` if it fits this width; `noun` names the access in the error
    /// ("a 32-bit write").
    pub fn check_value(self, value: u64, noun: &str) -> Result<u64, Error> {
        if value > self.max_value() {
            return Err(ErrorKind::ValueTooLarge {
                value,
                what: format!("a {self} {noun}"),
                bits: self.bits(),
                max: self.max_value(),
            }
            .into());
        }
        Ok(value)
    }

    /// Hex digits needed to print a full value.
    pub const fn hex_digits(self) -> usize {
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
#[inline]
pub fn check_access(offset: u64, width: Width, len: u64) -> Result<(), Error> {
    // The last offset an access of this width may start at: with `len` and
    // `width` fixed across a loop of accesses, this is computed once and each
    // access costs one comparison (and no offset + width that could wrap).
    match len.checked_sub(width.bytes()) {
        Some(last) if offset <= last => {}
        _ => return Err(out_of_range(offset, width.bytes(), len)),
    }
    if offset & (width.bytes() - 1) != 0 {
        return Err(misaligned(offset, width.bytes()));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn out_of_range(offset: u64, width: u64, len: u64) -> Error {
    AccessError::OutOfRange { offset, width, len }.into()
}

#[cold]
#[inline(never)]
fn misaligned(offset: u64, width: u64) -> Error {
    AccessError::Misaligned { offset, width }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(Width::from_bits(32).unwrap().bytes(), 4);
        assert_eq!(Width::W16.max_value(), 0xffff);
        assert_eq!(Width::W64.max_value(), u64::MAX);
        assert!(matches!(
            Width::from_bits(24).unwrap_err().kind(),
            ErrorKind::Access(AccessError::InvalidWidth { bits: 24 })
        ));
    }

    #[test]
    fn access_checks() {
        assert!(check_access(0, Width::W64, 8).is_ok());
        assert!(check_access(4, Width::W32, 8).is_ok());
        assert!(matches!(
            check_access(8, Width::W8, 8).unwrap_err().kind(),
            ErrorKind::Access(AccessError::OutOfRange { .. })
        ));
        assert!(matches!(
            check_access(2, Width::W32, 8).unwrap_err().kind(),
            ErrorKind::Access(AccessError::Misaligned { .. })
        ));
        assert!(matches!(
            check_access(u64::MAX - 1, Width::W32, u64::MAX).unwrap_err().kind(),
            ErrorKind::Access(AccessError::OutOfRange { .. })
        ));
        assert!(matches!(
            check_access(0, Width::W8, 0).unwrap_err().kind(),
            ErrorKind::Access(AccessError::OutOfRange { .. })
        ));
    }
}
