//! Numbers as users type them: `0x1f`, `0b1010`, `31`, with `_` separators, and
//! sizes with K/M/G suffixes (powers of 1024).

use crate::error::Error;

/// Parse an unsigned number in hex (`0x`), binary (`0b`), octal (`0o`) or decimal.
pub fn parse_u64(input: &str) -> Result<u64, Error> {
    let bad = |reason: &str| Error::InvalidValue { input: input.to_string(), reason: reason.to_string() };
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
    let value = parse_u64(number).map_err(|_| Error::InvalidValue {
        input: input.to_string(),
        reason: "expected a size such as 4096, 0x1000, 64K or 1M".into(),
    })?;
    value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| Error::InvalidValue { input: input.to_string(), reason: "larger than 64 bits".into() })
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
            assert_eq!(e.exit_code(), crate::error::exit::USAGE, "{bad}");
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
