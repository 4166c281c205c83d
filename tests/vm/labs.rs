//! docs/labs/*.md and the README's tour are executable: every ```console block is run in the guest,
//! command by command, and the output must match the text line by line.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

pub use crate::common::docs::run_docs;

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
