//! docs/labs/*.md and the documentation's pages are executable: every ```console block is run in
//! the guest, command by command, and the output must match the text line by line.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

pub use crate::common::docs::run_docs;

/// The documentation's pages with console blocks, in the order their blocks
/// run: the tour shows a freshly booted device (this runs first in the suite),
/// the others follow on the state it leaves.
pub const PAGES: &[&str] = &[
    "README.md",
    "docs/tour.md",
    "docs/commands.md",
    "docs/batch.md",
    "docs/regmaps.md",
    "docs/drivers.md",
    "docs/observe.md",
];

pub fn docs_run_as_written(lab: &mut Lab) -> Result<(), Failed> {
    let root = mmiodrv_lab::repo_root();
    let files: Vec<_> = PAGES.iter().map(|p| root.join(p)).collect();
    let n = run_docs(lab, &files)?;
    if n < 25 {
        return Err(format!("only {n} commands found in the pages' console blocks: the parser is broken").into());
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
