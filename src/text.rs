//! Text renderings shared by drivers' reports: hexdumps and sizes as lspci
//! and hexdump print them.

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

/// Control characters (a newline in a name the user typed) shown escaped, so
/// an error message is always exactly one line (the CLI's and Python's).
pub fn one_line(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// Text from a file made safe to print on a terminal: tabs, CRs and line
/// breaks become spaces, other control characters (ESC starts a terminal
/// escape sequence) and the Unicode bidirectional controls (which reorder
/// what a reader sees) are escaped as Rust writes them (`\u{1b}`).
/// Borrowed back when there is nothing to change.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let bidi =
        |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
    if !text.chars().any(|c| c.is_control() || bidi(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() || bidi(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Items joined by ", " (the lists errors name: devices, vectors, drivers).
pub fn comma_list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
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
    fn printable_escapes_terminal_controls() {
        assert!(matches!(printable("plain text"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(printable("a\nb\tc"), "a b c");
        assert_eq!(printable("\x1b[2J\x1b]0;owned\x07"), "\\u{1b}[2J\\u{1b}]0;owned\\u{7}");
        assert_eq!(printable("x\u{202e}y\u{9b}"), "x\\u{202e}y\\u{9b}");
    }

    #[test]
    fn one_line_escapes_control_characters() {
        assert_eq!(one_line("bad 'a\nb'\t!"), "bad 'a\\nb'\\t!");
    }

    #[test]
    fn hexdump() {
        let lines = hexdump_lines(0x40000, b"hello, edu!\x00\x01");
        assert_eq!(lines, ["00040000  68 65 6c 6c 6f 2c 20 65 64 75 21 00 01           |hello, edu!..|"]);
    }
}
