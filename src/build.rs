//! Names the git commit in `mmiodrv --version` (MMIODRV_GIT_COMMIT): the short
//! hash, with `-dirty` when the work tree has changes. Outside a git checkout
//! (a crate tarball, an exported tree) or without git, the version says
//! "commit unknown" instead of failing the build.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string()).filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).map(|hash| {
        // Untracked files do not count: only changes to what git tracks.
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
        if dirty {
            format!("{hash}-dirty")
        } else {
            hash
        }
    });
    println!("cargo:rustc-env=MMIODRV_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
    // Rebuild when HEAD moves (a commit, a checkout) or the index changes.
    for path in ["HEAD", "index"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &reference]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
