//! docs/labs/*.md and the README's tour are executable: every ```console block is run in the guest,
//! command by command, and the output must match the text line by line.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::common::vm::sh;

/// (command, expected output lines) pairs of one ```console block.
fn blocks(markdown: &str) -> Vec<Vec<(String, Vec<String>)>> {
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

/// The README's tour shows a freshly booted device: this runs first in the suite.
pub fn readme_tour_runs_as_written(lab: &mut Lab) -> Result<(), Failed> {
    let n = run_docs(lab, &[mmiodrv_lab::repo_root().join("README.md")])?;
    if n < 25 {
        return Err(format!("only {n} commands found in the README's console blocks: the parser is broken").into());
    }
    Ok(())
}

pub fn docs_labs_run_as_written(lab: &mut Lab) -> Result<(), Failed> {
    let dir = mmiodrv_lab::repo_root().join("docs/labs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit())))
        .collect();
    files.sort();
    if files.len() < 6 {
        return Err(format!("expected the six exercises in {}, found {}", dir.display(), files.len()).into());
    }
    crate::backends::reset_edu(lab)?;
    let commands = run_docs(lab, &files)?;
    if commands < 30 {
        return Err(format!("only {commands} commands found in docs/labs: the parser is broken").into());
    }
    Ok(())
}
