//! A line of the session language (a script's line, a line of the pipe
//! protocol, a line typed in the shell, Python's `Device.run`): its words,
//! then what it asks, through the one grammar.

use crate::command::{self, Command, Grammar, Scope};
use crate::error::{Error, Result};

use super::{Op, Request, COMMANDS};

/// The commands a line takes: the register operations and every driver's
/// command group.
pub fn line_commands() -> Vec<&'static Command> {
    let mut all: Vec<&'static Command> = COMMANDS.iter().collect();
    all.extend(crate::drivers::installed().iter().map(|d| &d.command));
    all
}

/// What a line asks.
#[derive(Debug)]
pub enum Line {
    /// Nothing: blank, or a comment.
    Nothing,
    /// Help on the command these words name (`help read`, `read --help`).
    Help(Vec<String>),
    /// An operation.
    Request(Request),
}

/// Parse one line against `commands` (usually [`line_commands`]).
pub fn parse_line(line: &str, commands: &[&'static Command]) -> Result<Line> {
    let words = words(line).map_err(Error::syntax)?;
    if words.is_empty() {
        return Ok(Line::Nothing);
    }
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let parsed = command::parse(&Grammar { commands, globals: &[], scope: Scope::Line }, &refs)?;
    if parsed.help {
        return Ok(Line::Help(parsed.path.iter().map(|c| c.name.to_string()).collect()));
    }
    Op::from_args(&parsed.path, &parsed.args).map(Line::Request)
}

/// Split a line into words: whitespace separates, '...' and "..." quote
/// (a backslash escapes inside double quotes and outside quotes), a word
/// starting with # ends the line.
pub fn words(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(out),
            _ => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' | '"' => loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => word.extend(chars.next()),
                        Some(other) => word.push(other),
                        None => return Err(format!("unclosed {c} quote")),
                    }
                },
                '\\' => word.extend(chars.next()),
                other => word.push(other),
            }
        }
        out.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::Width;
    use crate::session::At;
    use crate::value::Operand;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(words("read  ID   # the id").unwrap(), ["read", "ID"]);
        assert_eq!(
            words("echo 'hello world' \"a \\\"b\\\"\" c\\ d").unwrap(),
            ["echo", "hello world", "a \"b\"", "c d"]
        );
        assert_eq!(words("   # only a comment").unwrap(), Vec::<String>::new());
        assert!(words("echo 'open").is_err());
    }

    fn op(line: &str) -> Result<Op> {
        match parse_line(line, &line_commands())? {
            Line::Request(r) => Ok(r.op),
            _ => Err(Error::syntax("no request")),
        }
    }

    #[test]
    fn lines_parse_with_the_one_grammar() {
        assert!(matches!(op("read 0x0 --width 64").unwrap(), Op::Read(At { width: Some(Width::W64), .. })));
        assert!(matches!(
            op("write LIVENESS 0x12 --verify").unwrap(),
            Op::Write { value: Operand::Number(0x12), verify: true, .. }
        ));
        assert!(matches!(op("poll STATUS 0 --mask 0x1 --timeout 100").unwrap(), Op::Poll { mask: Some(1), .. }));
        assert!(matches!(
            op("expect ID 0x010000ed").unwrap(),
            Op::Expect { expected: Operand::Number(0x0100_00ed), .. }
        ));
        assert!(
            matches!(op("write CTRL.MODE fast").unwrap(), Op::Write { value: Operand::Name(ref n), .. } if n == "fast")
        );
        assert!(
            matches!(op("poll STATUS.LINK '1000 Mb/s'").unwrap(), Op::Poll { expected: Operand::Name(ref n), .. } if n == "1000 Mb/s")
        );
        assert!(matches!(op("wait-irq --vector 0").unwrap(), Op::WaitIrq(w) if w.vector == Some(0) && w.count == 1));
        assert!(
            matches!(op("wait-irq --count 3 --timeout 9").unwrap(), Op::WaitIrq(w) if w.count == 3 && w.timeout.as_millis() == 9)
        );
        assert!(
            matches!(op("write 0x60 1 --wait-irq --vector 1").unwrap(), Op::Write { irq: Some(w), .. } if w.vector == Some(1))
        );
        assert!(matches!(op("sleep 10").unwrap(), Op::Sleep(_)));
        assert!(matches!(op("echo a b").unwrap(), Op::Echo(ref t) if t == "a b"));
        assert!(matches!(op("dma alloc 4K --mask-bits 28").unwrap(), Op::DmaAlloc { size: 4096, .. }));
        assert!(matches!(op("dma write 0 --hex 0102").unwrap(), Op::DmaWrite { ref data, .. } if data == &[1, 2]));
        assert!(matches!(op("dma read 0 16").unwrap(), Op::DmaRead { len: 16, .. }));
        assert!(matches!(op("dump").unwrap(), Op::Dump { .. }));
        assert!(matches!(op("dump-regs --len 16").unwrap(), Op::Hexdump { len: Some(16), .. }));
        for bad in [
            "read",
            "write 0x4",
            "write 0x4 abc",
            "write 0x4 0x1fffffffffffffffff",
            "read 0x0 --width 12",
            "frobnicate",
            "read ID --regmap m.toml",
        ] {
            let e = op(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert_eq!(e.class(), crate::ErrorClass::Usage, "{bad}: {e}");
        }
        assert!(matches!(parse_line("help read", &line_commands()).unwrap(), Line::Help(p) if p == ["read"]));
    }
}
