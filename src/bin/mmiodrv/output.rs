//! Shared output helpers: JSON printing, lspci-style sizes, hexdumps.

use std::io::Write;

use serde::Serialize;

/// `println!` for command output: when stdout is a pipe whose reader has gone
/// (`mmiodrv dump-regs | head -3`), end quietly instead of panicking.
macro_rules! outln {
    () => { $crate::output::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::write_line(format_args!($($arg)*)) };
}

pub fn write_line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(mmiodrv::error::exit::OK);
        }
        eprintln!("mmiodrv: error: cannot write to stdout: {e}");
        std::process::exit(mmiodrv::error::exit::IO);
    }
}

/// Print one JSON object on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => outln!("{text}"),
        // Serialization of our own plain structs cannot fail; say so if it ever does.
        Err(e) => eprintln!("mmiodrv: error: cannot encode JSON: {e}"),
    }
}

/// lspci's size notation: 1M, 4K, 256.
pub fn size_string(mut size: u64) -> String {
    let suffixes = ["", "K", "M", "G", "T"];
    let mut i = 0;
    while i < suffixes.len() - 1 && size != 0 && size % 1024 == 0 {
        size /= 1024;
        i += 1;
    }
    format!("{size}{}", suffixes[i])
}

/// `lspci -xxx` hex lines: 16 bytes per line, offset in 2 hex digits (3 beyond 0xff).
pub fn config_hex_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let offset = i * 16;
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            if bytes.len() > 256 {
                format!("{offset:03x}: {}", hex.join(" "))
            } else {
                format!("{offset:02x}: {}", hex.join(" "))
            }
        })
        .collect()
}

/// Classic hexdump lines: address, 16 bytes in hex, printable ASCII.
pub fn hexdump_lines(base: u64, data: &[u8]) -> Vec<String> {
    data.chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String =
                chunk.iter().map(|b| if b.is_ascii_graphic() || *b == b' ' { *b as char } else { '.' }).collect();
            format!("{:08x}  {:<47}  |{ascii}|", base + 16 * i as u64, hex.join(" "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_lspci() {
        assert_eq!(size_string(0x100000), "1M");
        assert_eq!(size_string(256), "256");
        assert_eq!(size_string(4096), "4K");
        assert_eq!(size_string(0x1800), "6K");
        assert_eq!(size_string(0x100000000), "4G");
    }

    #[test]
    fn hexdump() {
        let lines = hexdump_lines(0x40000, b"hello, edu!\x00\x01");
        assert_eq!(lines, ["00040000  68 65 6c 6c 6f 2c 20 65 64 75 21 00 01           |hello, edu!..|"]);
    }

    #[test]
    fn hex_lines() {
        let lines = config_hex_lines(&[0x34, 0x12, 0xe8, 0x11]);
        assert_eq!(lines, ["00: 34 12 e8 11"]);
        assert_eq!(config_hex_lines(&[0u8; 4096])[16], format!("100: {}", ["00"; 16].join(" ")));
    }
}
