//! Devices in another machine, over SSH: the same commands, scripts and
//! results as on this one (docs/remote.md).
//!
//! SSH is the transport and the authentication: [`Running::start`] runs the
//! user's `ssh` (their config, agent and keys; connection sharing, so one
//! connection serves many calls) and, on the far side, `mmiodrv` itself of
//! this very [`VERSION`] with the same arguments: the far side's executor,
//! renderer and errors are the ones a local run has, so the output is the
//! same by construction. Its output, error lines, progress through a script
//! and exit status come back as [`frame`]s on one channel, in order; input,
//! its end and stop requests go the other way. When the far side has no
//! `mmiodrv` of this version, [`connect`] puts a build of this one into a
//! per-user cache there (`~/.cache/mmiodrv/KEY/mmiodrv`).
//!
//! The library prints nothing: a front end relays the [`Event`]s (the
//! command line to its stdout and stderr; Python reads the JSON lines of
//! `batch -`).

pub mod error;
pub mod frame;
mod host;
pub mod ssh;

mod client;
mod mux;
mod pipe;

pub use client::{connect, copy_to, grow_pipe, Call, Event, Input, Running, Start};
pub use host::{check_count, Host, MAX_HOSTS};
pub use pipe::Pipe;

use std::path::{Path, PathBuf};

/// This build's version as `mmiodrv --version` prints it (without the
/// program's name): the crate's version and the git commit it was built
/// from. The far side must say exactly this.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("MMIODRV_GIT_COMMIT"), ")");

/// Set (to the host's label) for a far side run by a near one: its error
/// lines and error objects name that host.
pub const HOST_ENV: &str = "MMIODRV_REMOTE_HOST";
/// Set for a far side that speaks in [`frame`]s on its standard input and output.
pub const FRAMED_ENV: &str = "MMIODRV_REMOTE_FRAMED";
/// Set for a far side whose output goes to a terminal on the near side
/// (`watch` and `top` redraw in place).
pub const TTY_ENV: &str = "MMIODRV_REMOTE_TTY";
/// A static build of this version to copy to far sides that have none,
/// instead of this program itself (needed when this one is linked
/// dynamically, and by Python, which has no `mmiodrv` of its own).
pub const BINARY_ENV: &str = "MMIODRV_REMOTE_BINARY";

/// The name of the far side's cached copy: the version, and for a build
/// from a work tree with changes (`-dirty`) the size and time of the binary
/// too, so two such builds never take each other's copy.
pub fn cache_key(binary: Option<&Path>) -> String {
    let mut key: String = VERSION
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if VERSION.contains("-dirty") {
        if let Some(meta) = binary.and_then(|b| std::fs::metadata(b).ok()) {
            use std::os::unix::fs::MetadataExt;
            key.push_str(&format!("-{}-{}", meta.len(), meta.mtime()));
        }
    }
    key
}

/// The build to copy to a far side: [`BINARY_ENV`] when set, else `own`
/// (the running program, for the command line), else `mmiodrv` in PATH.
pub fn binary_to_copy(own: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(BINARY_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = own {
        return Some(p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("mmiodrv")).find(|p| p.is_file())
}

/// Whether the ELF file at `path` runs without a dynamic loader (no
/// `PT_INTERP`): what another machine can run whatever its libraries.
pub fn is_static(path: &Path) -> Result<bool, crate::Error> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
        .map_err(|e| crate::Error::io("cannot read", path, e))?;
    let not_elf = || crate::Error::invalid(path.display().to_string(), "not a 64-bit little-endian ELF program");
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return Err(not_elf());
    }
    let u16_at = |o: usize| u16::from_le_bytes([head[o], head[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(head[32..40].try_into().map_err(|_| not_elf())?) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    for i in 0..phnum {
        let at = phoff.saturating_add(i.saturating_mul(phentsize));
        let Some(entry) = head.get(at..at.saturating_add(4)) else { return Err(not_elf()) };
        // PT_INTERP
        if u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_are_one_plain_word() {
        let key = cache_key(None);
        assert!(key.starts_with(env!("CARGO_PKG_VERSION")), "{key}");
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'), "{key}");
    }

    #[test]
    fn dynamic_programs_are_told_apart() {
        // /bin/sh is dynamically linked on every distribution the tests run on.
        assert_eq!(is_static(Path::new("/bin/sh")).ok(), Some(false));
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"\x7fELF\x02\x01 short").unwrap();
        assert!(is_static(&junk).is_err());
    }
}
