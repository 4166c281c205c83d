//! Executable documentation: every ```console block of a Markdown file is run
//! in the lab guest, command by command, and the output must match the text
//! line by line (tests/vm/labs.rs, tests/vm_python.rs). In an expected line,
//! `…` stands for any text (an address that differs from run to run).

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::common::vm::sh;

/// (command, expected output lines) pairs of one ```console block.
pub fn blocks(markdown: &str) -> Vec<Vec<(String, Vec<String>)>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<(String, Vec<String>)>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```console") => current = Some(Vec::new()),
            (Some(_), "```") => out.push(current.take().unwrap_or_default()),
            (Some(block), l) => match l.strip_prefix("$ ") {
                Some(cmd) => block.push((cmd.to_string(), Vec::new())),
                None => {
                    if let Some((_, expected)) = block.last_mut() {
                        expected.push(l.to_string());
                    }
                }
            },
            (None, _) => {}
        }
    }
    out
}

/// Run every console block of `files` and compare; returns the number of commands.
pub fn run_docs(lab: &mut Lab, files: &[std::path::PathBuf]) -> Result<usize, Failed> {
    let mut commands = 0;
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        for block in blocks(&text) {
            for (cmd, expected) in block {
                // A newline, not ';', ends the command: it may end in '&'.
                let o = sh(lab, &format!("{{ {cmd}\n}} 2>&1"))?;
                let got: Vec<String> = o.stdout_str().lines().map(|l| l.trim_end().to_string()).collect();
                if got.len() != expected.len() || !got.iter().zip(&expected).all(|(g, e)| line_matches(e, g)) {
                    return Err(format!(
                        "{}: `{cmd}`\n--- expected\n{}\n--- got\n{}",
                        file.display(),
                        expected.join("\n"),
                        got.join("\n")
                    )
                    .into());
                }
                commands += 1;
            }
        }
    }
    Ok(commands)
}

/// Whether `got` is `expected`, where each `…` in `expected` stands for any text.
pub fn line_matches(expected: &str, got: &str) -> bool {
    let mut parts = expected.split('…');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = got.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ellipsis_stands_for_any_text() {
        let line_matches = super::line_matches;
        assert!(line_matches("abc", "abc"));
        assert!(!line_matches("abc", "abcd"));
        assert!(line_matches(
            "  7f…-7f… rw-s 00000000 00:0e …  anon_inode:[vfio-device]",
            "  7f12-7f34 rw-s 00000000 00:0e 9633  anon_inode:[vfio-device]"
        ));
        assert!(!line_matches("  7f…-7f… rw-s", "  7f12-7f34 r--s"));
        assert!(line_matches("after … read(s)", "after 12 read(s)"));
        assert!(line_matches("x…", "x"));
        assert!(!line_matches("ab…ba", "aba"));
    }
}
