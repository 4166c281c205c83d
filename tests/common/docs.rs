//! Executable documentation: every ```console block of a Markdown file is run
//! in the lab guest, command by command, and the output must match the text
//! line by line (tests/vm/labs.rs, tests/vm_python.rs).

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
                if got != expected {
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
