//! The process's own mappings as the kernel lists them in `/proc/self/smaps`
//! (the lines of `/proc/self/maps`, each with its `VmFlags`): what a session's
//! `maps` operation prints for the BARs and DMA buffers it mapped, and what
//! the mappings lab (docs/labs/07-mappings.md) looks at.

use serde::Serialize;

use crate::error::{Error, Result};

/// One mapping (a VMA): a line of `/proc/self/maps` and its flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProcMapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `r`, `w`, `x`, then `s` (shared) or `p` (private).
    pub perms: String,
    /// Offset in the file (for a BAR: its page offset; for VFIO: the region's offset in the device fd).
    pub offset: u64,
    /// Device of the file, `major:minor`.
    pub dev: String,
    /// Inode of the file (0 for anonymous memory).
    pub inode: u64,
    /// The file (empty for anonymous memory; `anon_inode:[vfio-device]` for a VFIO device fd).
    pub path: String,
    /// `VmFlags` of smaps: `io` (VM_IO), `pf` (VM_PFNMAP), `sh` (shared), `dd` (not dumped)...
    pub vm_flags: Vec<String>,
    /// The maps line as the kernel wrote it (columns padded).
    pub line: String,
}

impl ProcMapping {
    /// Whether `addr` lies in it.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

/// The mapping holding each of `addrs` (None where none does), from one read
/// of `/proc/self/smaps`.
pub fn find(addrs: &[u64]) -> Result<Vec<Option<ProcMapping>>> {
    let path = "/proc/self/smaps";
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    let all = parse_smaps(&text);
    Ok(addrs.iter().map(|a| all.iter().find(|m| m.contains(*a)).cloned()).collect())
}

/// Every mapping of an smaps text.
pub fn parse_smaps(text: &str) -> Vec<ProcMapping> {
    let mut out: Vec<ProcMapping> = Vec::new();
    for line in text.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if let Some(last) = out.last_mut() {
                last.vm_flags = flags.split_whitespace().map(String::from).collect();
            }
        } else if let Some(m) = parse_maps_line(line) {
            out.push(m);
        }
    }
    out
}

/// One line of `/proc/PID/maps` (None for the `Key: value` lines smaps adds).
pub fn parse_maps_line(line: &str) -> Option<ProcMapping> {
    let mut words = line.split_whitespace();
    let (start, end) = words.next()?.split_once('-')?;
    let (start, end) = (u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?);
    let perms = words.next()?.to_string();
    let offset = u64::from_str_radix(words.next()?, 16).ok()?;
    let dev = words.next()?.to_string();
    let inode = words.next()?.parse().ok()?;
    // The path is the rest of the line after the inode's column (it may hold spaces).
    let path = words.collect::<Vec<_>>().join(" ");
    Some(ProcMapping {
        start,
        end,
        perms,
        offset,
        dev,
        inode,
        path,
        vm_flags: Vec::new(),
        line: line.trim_end().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_lines_and_flags() {
        let text = "\
7f0000000000-7f0000100000 rw-s 00000000 00:0e 1077                       anon_inode:[vfio-device]
Size:               1024 kB
VmFlags: rd wr sh mr mw me ms io pf dc de dd sd
7f0000200000-7f0000201000 rw-p 00000000 00:00 0 
Rss:                   4 kB
VmFlags: rd wr mr mw me ac sd
";
        let all = parse_smaps(text);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].start, all[0].end, all[0].perms.as_str()), (0x7f00_0000_0000, 0x7f00_0010_0000, "rw-s"));
        assert_eq!(all[0].path, "anon_inode:[vfio-device]");
        assert!(all[0].vm_flags.iter().any(|f| f == "pf"));
        assert_eq!((all[1].inode, all[1].path.as_str()), (0, ""));
        assert!(all[1].contains(0x7f00_0020_0fff) && !all[1].contains(0x7f00_0020_1000));
        assert_eq!(all[1].line, "7f0000200000-7f0000201000 rw-p 00000000 00:00 0");
    }

    #[test]
    fn this_process_finds_its_own_stack() {
        let local = 0u8;
        let found = find(&[&local as *const u8 as u64, 0]).unwrap();
        assert!(found[0].as_ref().is_some_and(|m| m.perms.starts_with("rw")), "{found:?}");
        assert!(found[1].is_none());
    }
}
