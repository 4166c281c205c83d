//! Snapshots: every readable register of a BAR (or its raw bytes) with the
//! device, map and time, in one JSON file; decoded later without the device
//! (with the map it was taken with, or another), and compared with another
//! snapshot or with the live device.
//!
//! Capturing follows `dump-regs`: write-only registers and registers whose
//! read has side effects are not read unless asked (`all`); a raw capture
//! skips the words they occupy the same way, and checks every word against
//! the map's width rules before the first read.

use crate::error::ObserveError;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::device::Device;
use crate::error::{Error, ErrorKind, Result};
use crate::mmio::Width;
use crate::observe::{builtin_map, rfc3339, DeviceIds};
use crate::regmap::{Register, RegisterMap};
use crate::window::{DumpedRegister, FieldValue, Skipped, Window};

/// The snapshot format's version (the file's `snapshot`).
pub const FORMAT: u32 = 1;

/// The most bytes one raw snapshot holds (as hex in JSON, twice that).
pub const MAX_RAW_LEN: u64 = 16 << 20;

/// Largest snapshot file read (a raw snapshot of [`MAX_RAW_LEN`] bytes is
/// about twice that as hex).
pub const MAX_SNAPSHOT_FILE: u64 = 64 << 20;

/// The map a snapshot was taken with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapRef {
    /// Its name.
    pub name: String,
    /// Its file, for a map that is not built in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// Words of a raw capture that were not read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedSpan {
    /// Offset in the BAR.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// The register that lies there.
    pub register: String,
    /// Why it was not read.
    pub why: Skipped,
}

/// A BAR's bytes, read as 32-bit words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawBytes {
    /// Offset of the first byte in the BAR.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// The bytes in hex, two digits each, in address order (words not read
    /// are zeros, and listed in `skipped`).
    pub hex: String,
    /// Words not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedSpan>,
}

impl RawBytes {
    /// The value of `width` at `offset`, when those bytes were captured.
    pub fn value(&self, offset: u64, width: Width) -> Option<u64> {
        let end = offset.checked_add(width.bytes())?;
        if offset < self.offset || end > self.offset + self.len || self.skipped_at(offset, end).is_some() {
            return None;
        }
        let start = 2 * (offset - self.offset) as usize;
        let digits = self.hex.get(start..start + 2 * width.bytes() as usize)?;
        let le: Vec<u8> =
            (0..digits.len() / 2).filter_map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok()).collect();
        Some(le.iter().rev().fold(0u64, |v, b| v << 8 | u64::from(*b)))
    }

    fn skipped_at(&self, offset: u64, end: u64) -> Option<&SkippedSpan> {
        self.skipped.iter().find(|s| s.offset < end && offset < s.offset + s.len)
    }

    /// The 32-bit words, `None` where not read.
    pub fn words(&self) -> Vec<(u64, Option<u32>)> {
        (self.offset..self.offset + self.len)
            .step_by(4)
            .map(|o| (o, self.value(o, Width::W32).map(|v| v as u32)))
            .collect()
    }
}

/// What to capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// Every register of the map, as `dump-regs` reads them.
    Registers,
    /// `len` bytes from `offset` (the whole BAR when None) as 32-bit words.
    Raw {
        /// First byte.
        offset: u64,
        /// Length in bytes.
        len: Option<u64>,
    },
}

/// A snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version ([`FORMAT`]).
    pub snapshot: u32,
    /// The device.
    pub device: String,
    /// Its IDs (none for a host file).
    pub ids: Option<DeviceIds>,
    /// When it was taken (RFC 3339, UTC).
    pub time: String,
    /// The BAR (`"config"` for config space).
    #[serde(with = "crate::pci::config_map::bar_json")]
    pub bar: u8,
    /// The BAR's length.
    pub bar_len: u64,
    /// The map it was taken with.
    #[serde(default)]
    pub map: Option<MapRef>,
    /// Whether write-only and side-effect registers were read too.
    #[serde(default)]
    pub all: bool,
    /// Every register of the map (empty for a raw capture).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registers: Vec<DumpedRegister>,
    /// The raw bytes, for a raw capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawBytes>,
}

impl Snapshot {
    /// Capture `what` through `window` (of a device with `ids`); with `all`,
    /// write-only and side-effect registers are read too. Everything is
    /// checked before the first read.
    pub fn capture(window: &Window, ids: Option<DeviceIds>, what: Capture, all: bool) -> Result<Snapshot> {
        let layout = window.layout();
        let map = layout.map().map(|m| MapRef { name: m.name.to_string(), file: layout.map_file() });
        let (registers, raw) = match what {
            Capture::Registers => {
                if layout.map().is_none() {
                    let why = "there is no register map for this BAR; capture its raw bytes instead".into();
                    return Err(Error::on(
                        layout.device.clone(),
                        ErrorKind::NotSupported { what: "a register snapshot", why },
                    ));
                }
                (window.dump(all)?, None)
            }
            Capture::Raw { offset, len } => (Vec::new(), Some(capture_raw(window, offset, len, all)?)),
        };
        Ok(Snapshot {
            snapshot: FORMAT,
            device: layout.device.to_string(),
            ids,
            time: rfc3339(SystemTime::now()),
            bar: layout.bar,
            bar_len: layout.len,
            map,
            all,
            registers,
            raw,
        })
    }

    /// Capture the live `device` the way this snapshot was taken (same BAR,
    /// same span or registers), with `map` or else the map it was taken with.
    pub fn capture_like(&self, device: &Device, map: Option<(RegisterMap, PathBuf)>) -> Result<Snapshot> {
        let map = match (map, &self.map) {
            (Some(m), _) => Some(m),
            (None, Some(MapRef { name, file: Some(f) })) => Some((super::load_map(f, name)?, f.clone())),
            _ => None,
        };
        let layout = device.layout(Some(self.bar), map)?;
        let what = match &self.raw {
            Some(r) => Capture::Raw { offset: r.offset, len: Some(r.len) },
            None => Capture::Registers,
        };
        let window = device.open_window(layout, false, false)?;
        Snapshot::capture(&window, DeviceIds::of(device.backend()), what, self.all)
    }

    /// Write it as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        let mut out = crate::value::create_output_file(path)?;
        std::io::Write::write_all(&mut out, text.as_bytes()).map_err(|e| Error::io("cannot write", path, e))?;
        out.commit()
    }

    /// Read and check a snapshot file: a regular file (a FIFO or a device
    /// is refused, never waited on) of at most [`MAX_SNAPSHOT_FILE`] bytes.
    pub fn load(path: &Path) -> Result<Snapshot> {
        let bytes = crate::value::read_regular_file(path, "a snapshot", MAX_SNAPSHOT_FILE)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            Error::new(ObserveError::InvalidFile {
                what: "mmiodrv snapshot",
                file: path.to_path_buf(),
                line,
                message: "not UTF-8 text".into(),
            })
        })?;
        Snapshot::parse(&text, path)
    }

    /// Parse snapshot text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Snapshot> {
        let bad = |line: usize, message: String| {
            Error::new(ObserveError::InvalidFile { what: "mmiodrv snapshot", file: path.to_path_buf(), line, message })
        };
        let s: Snapshot = serde_json::from_str(text).map_err(|e| bad(e.line().max(1), e.to_string()))?;
        if s.snapshot != FORMAT {
            return Err(bad(1, format!("format version {} (this mmiodrv reads {FORMAT})", s.snapshot)));
        }
        if let Some(r) = &s.raw {
            let hex_ok = r.hex.len() as u64 == 2 * r.len && r.hex.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex_ok || r.offset % 4 != 0 || r.len % 4 != 0 {
                return Err(bad(
                    1,
                    "raw: hex must hold 2 digits per byte of len, offset and len multiples of 4".into(),
                ));
            }
        }
        if s.registers.is_empty() && s.raw.is_none() {
            return Err(bad(1, "it holds neither registers nor raw bytes".into()));
        }
        Ok(s)
    }

    /// The map it was taken with, when that is a built-in one or a file that
    /// still loads.
    pub fn own_map(&self) -> Option<Cow<'static, RegisterMap>> {
        let m = self.map.as_ref()?;
        match &m.file {
            None => builtin_map(&m.name, self.bar).map(Cow::Borrowed),
            Some(f) => super::load_map(f, &m.name).ok().map(Cow::Owned),
        }
    }

    /// Every register of `map` with its value from this snapshot: from the
    /// register captured at the same offset and width, or from the raw bytes.
    pub fn registers_with(&self, map: &RegisterMap) -> Vec<DumpedRegister> {
        map.registers
            .iter()
            .map(|reg| {
                let (value, skipped) = self.value_of(reg);
                DumpedRegister::new(reg, value, skipped)
            })
            .collect()
    }

    fn value_of(&self, reg: &Register) -> (Option<u64>, Option<Skipped>) {
        if let Some(r) = self.registers.iter().find(|r| r.offset == reg.offset && r.width == reg.width.bits()) {
            return (r.value, r.skipped);
        }
        let Some(raw) = &self.raw else { return (None, Some(Skipped::NotCaptured)) };
        match (raw.value(reg.offset, reg.width), raw.skipped_at(reg.offset, reg.end())) {
            (Some(v), _) => (Some(v), None),
            (None, Some(s)) => (None, Some(s.why)),
            (None, None) => (None, Some(Skipped::NotCaptured)),
        }
    }
}

/// Read `len` bytes (the rest of the BAR when None) from `offset` as 32-bit
/// words, skipping words of registers `dump` skips (unless `all`).
fn capture_raw(window: &Window, offset: u64, len: Option<u64>, all: bool) -> Result<RawBytes> {
    let layout = window.layout();
    let len = len.unwrap_or(layout.len.saturating_sub(offset));
    layout.check_hexdump(offset, len)?;
    if len > MAX_RAW_LEN {
        let why = format!("a raw snapshot holds at most {MAX_RAW_LEN:#x} bytes: capture a smaller span");
        return Err(Error::invalid(format!("{len:#x} bytes"), why));
    }
    let skips: Vec<(&Register, Skipped)> =
        layout.dump_plan(all).into_iter().filter_map(|(r, s)| s.map(|s| (r, s))).collect();
    // The plan first: which words are read, each allowed by the map's rules.
    let mut plan = Vec::new();
    let mut skipped: Vec<SkippedSpan> = Vec::new();
    // The skipped registers by offset, swept once with the words (not
    // searched again for every word).
    let mut skips = skips;
    skips.sort_by_key(|(r, _)| r.offset);
    let mut next = 0;
    for o in (offset..offset + len).step_by(4) {
        while next < skips.len() && skips[next].0.end() <= o {
            next += 1;
        }
        match skips[next..].iter().take_while(|(r, _)| r.offset < o + 4).find(|(r, _)| o < r.end()) {
            Some((reg, why)) => match skipped.last_mut() {
                Some(s) if s.register == reg.name && s.offset + s.len == o => s.len += 4,
                _ => skipped.push(SkippedSpan { offset: o, len: 4, register: reg.name.to_string(), why: *why }),
            },
            None => {
                layout.check_raw(o, Width::W32)?;
                plan.push(o);
            }
        }
    }
    let mut bytes = vec![0u8; len as usize];
    for o in plan {
        let v = window.io().read(o, Width::W32).map_err(|e| e.with_device(layout.device.clone()))? as u32;
        let at = (o - offset) as usize;
        bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(RawBytes { offset, len, hex, skipped })
}

/// A register that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegisterDiff {
    /// Its name.
    pub name: String,
    /// Its offset.
    pub offset: u64,
    /// Its width in bits.
    #[cfg_attr(feature = "schema", schemars(with = "crate::mmio::Width"))]
    pub width: u32,
    /// Its value in the first (None: not read there).
    pub old: Option<u64>,
    /// Its value in the second.
    pub new: Option<u64>,
    /// The fields that differ.
    pub fields: Vec<FieldDiff>,
}

/// A field that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldDiff {
    /// Its name.
    pub name: String,
    /// Its bits (`lsb`, `msb`).
    #[serde(flatten)]
    pub bits: crate::regmap::BitRange,
    /// Its value in the first.
    pub old: Option<u64>,
    /// Its value in the second.
    pub new: Option<u64>,
    /// The old value's name.
    pub old_meaning: Option<String>,
    /// The new value's name.
    pub new_meaning: Option<String>,
}

/// A raw word that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WordDiff {
    /// Its offset.
    pub offset: u64,
    /// Its value in the first (None: not read there).
    pub old: Option<u32>,
    /// Its value in the second.
    pub new: Option<u32>,
    /// The register of the map that lies there, if any.
    pub register: Option<String>,
}

/// What differs between two snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Registers that differ (register snapshots, or raw ones read with a map).
    pub registers: Vec<RegisterDiff>,
    /// Words that differ (raw snapshots without a map).
    pub words: Vec<WordDiff>,
}

impl Diff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.registers.is_empty() && self.words.is_empty()
    }
}

/// Compare `a` and `b`. With `map`, both are read as its registers; else
/// register snapshots are compared register by register, raw ones word by
/// word (named from `a`'s own map where there is one).
pub fn diff(a: &Snapshot, b: &Snapshot, map: Option<&RegisterMap>) -> Result<Diff> {
    if let Some(map) = map {
        return Ok(Diff { registers: diff_registers(&a.registers_with(map), &b.registers_with(map)), words: vec![] });
    }
    match (&a.raw, &b.raw, a.registers.is_empty() || b.registers.is_empty()) {
        (_, _, false) => Ok(Diff { registers: diff_registers(&a.registers, &b.registers), words: vec![] }),
        (Some(ra), Some(rb), _) => Ok(Diff { registers: vec![], words: diff_words(ra, rb, a.own_map().as_deref()) }),
        _ => Err(ErrorKind::NotSupported {
            what: "comparing a raw snapshot with a register snapshot",
            why: "a register map is needed to read registers out of the raw bytes".into(),
        }
        .into()),
    }
}

/// Registers of `a` and `b` (matched by offset and name) whose values differ.
pub fn diff_registers(a: &[DumpedRegister], b: &[DumpedRegister]) -> Vec<RegisterDiff> {
    let find = |list: &'_ [DumpedRegister], r: &DumpedRegister| -> Option<DumpedRegister> {
        list.iter().find(|x| x.offset == r.offset && x.name == r.name).cloned()
    };
    let mut all: Vec<&DumpedRegister> = a.iter().collect();
    all.extend(b.iter().filter(|r| find(a, r).is_none()));
    all.sort_by_key(|r| r.offset);
    all.into_iter()
        .filter_map(|r| {
            let (old, new) = (find(a, r), find(b, r));
            let (ov, nv) = (old.as_ref().and_then(|x| x.value), new.as_ref().and_then(|x| x.value));
            if ov == nv {
                return None;
            }
            let none = Vec::new();
            let of = old.as_ref().map_or(&none, |x| &x.fields);
            let nf = new.as_ref().map_or(&none, |x| &x.fields);
            Some(RegisterDiff {
                name: r.name.clone(),
                offset: r.offset,
                width: r.width,
                old: ov,
                new: nv,
                fields: diff_fields(of, nf),
            })
        })
        .collect()
}

fn diff_fields(a: &[FieldValue], b: &[FieldValue]) -> Vec<FieldDiff> {
    let mut names: Vec<&FieldValue> = a.iter().collect();
    names.extend(b.iter().filter(|f| !a.iter().any(|x| x.name == f.name)));
    names
        .into_iter()
        .filter_map(|f| {
            let old = a.iter().find(|x| x.name == f.name);
            let new = b.iter().find(|x| x.name == f.name);
            if old.map(|x| x.value) == new.map(|x| x.value) {
                return None;
            }
            Some(FieldDiff {
                name: f.name.to_string(),
                bits: f.bits,
                old: old.map(|x| x.value),
                new: new.map(|x| x.value),
                old_meaning: old.and_then(|x| x.meaning.as_ref().map(|m| m.to_string())),
                new_meaning: new.and_then(|x| x.meaning.as_ref().map(|m| m.to_string())),
            })
        })
        .collect()
}

fn diff_words(a: &RawBytes, b: &RawBytes, map: Option<&RegisterMap>) -> Vec<WordDiff> {
    let bw = b.words();
    a.words()
        .into_iter()
        .filter_map(|(offset, old)| {
            let new = bw.iter().find(|(o, _)| *o == offset)?.1;
            (old != new).then(|| WordDiff {
                offset,
                old,
                new,
                register: map
                    .and_then(|m| m.registers.iter().find(|r| r.offset < offset + 4 && offset < r.end()))
                    .map(|r| r.name.to_string()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::tests::ram_window;

    #[test]
    fn register_snapshots_round_trip_and_diff_names_register_and_field() {
        let w = ram_window();
        let a = Snapshot::capture(&w, None, Capture::Registers, false).unwrap();
        let names: Vec<_> = a.registers.iter().map(|r| (r.name.as_str(), r.skipped)).collect();
        assert_eq!(names[2..], [("KICK", Some(Skipped::WriteOnly)), ("ISR", Some(Skipped::ReadSideEffects))]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        a.save(&path).unwrap();
        assert_eq!(Snapshot::load(&path).unwrap(), a);
        w.io().write(4, Width::W32, 0x2).unwrap();
        let b = Snapshot::capture(&w, None, Capture::Registers, false).unwrap();
        let d = diff(&a, &b, None).unwrap();
        assert!(d.words.is_empty());
        assert_eq!(d.registers.len(), 1);
        assert_eq!((d.registers[0].name.as_str(), d.registers[0].old, d.registers[0].new), ("CTRL", Some(0), Some(2)));
        let f = &d.registers[0].fields;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].name.as_str(), f[0].old, f[0].new), ("MODE", Some(0), Some(1)));
        assert_eq!((f[0].old_meaning.as_deref(), f[0].new_meaning.as_deref()), (Some("off"), Some("fast")));
        assert!(diff(&a, &a, None).unwrap().is_empty());
    }

    #[test]
    fn raw_snapshots_skip_side_effect_words_and_decode_with_a_map() {
        let w = ram_window();
        w.io().write(0, Width::W32, 0x0100_00ed).unwrap();
        w.io().write(4, Width::W32, 0x3).unwrap();
        w.io().write(12, Width::W32, 0x55).unwrap();
        let raw = Snapshot::capture(&w, None, Capture::Raw { offset: 0, len: Some(16) }, false).unwrap();
        let r = raw.raw.as_ref().unwrap();
        assert_eq!(&r.hex[..16], "ed00000103000000");
        let skipped: Vec<_> = r.skipped.iter().map(|s| (s.offset, s.register.as_str(), s.why)).collect();
        assert_eq!(skipped, [(8, "KICK", Skipped::WriteOnly), (12, "ISR", Skipped::ReadSideEffects)]);
        assert_eq!(r.value(4, Width::W32), Some(3));
        assert_eq!(r.value(2, Width::W16), Some(0x0100));
        assert_eq!(r.value(12, Width::W32), None);
        let map = w.map().unwrap().clone();
        let regs = raw.registers_with(&map);
        assert_eq!(regs[1].fields[0].meaning.as_deref(), Some("fast"));
        assert_eq!(regs[3].skipped, Some(Skipped::ReadSideEffects));
        // Raw against registers needs a map; with one, they compare.
        let reg = Snapshot::capture(&w, None, Capture::Registers, false).unwrap();
        assert!(diff(&raw, &reg, None).is_err());
        assert!(diff(&raw, &reg, Some(&map)).unwrap().is_empty());
        w.io().write(0x20, Width::W32, 7).unwrap();
        let raw2 = Snapshot::capture(&w, None, Capture::Raw { offset: 0, len: Some(0x40) }, true).unwrap();
        let words = diff(&raw, &raw2, None).unwrap().words;
        let got: Vec<_> = words.iter().map(|d| (d.offset, d.old, d.new)).collect();
        assert_eq!(got, [(8, None, Some(0)), (12, None, Some(0x55))], "only the span both hold");
        assert!(Snapshot::capture(&w, None, Capture::Raw { offset: 2, len: Some(4) }, false).is_err());
        // A BAR larger than a snapshot holds: refused before any read.
        let layout = crate::window::Layout {
            device: crate::error::DeviceRef::Ram,
            bar: 0,
            len: 0,
            map: None,
            source: crate::window::MapSource::Builtin,
            force: false,
        };
        let region = crate::mmio::MmioRegion::ram(MAX_RAW_LEN as usize + 4096).unwrap();
        let big = Window::new(layout, Box::new(region));
        let e = Snapshot::capture(&big, None, Capture::Raw { offset: 0, len: None }, false).unwrap_err();
        assert!(e.to_string().contains("a raw snapshot holds at most 0x1000000 bytes"), "{e}");
        assert!(Snapshot::capture(&big, None, Capture::Raw { offset: MAX_RAW_LEN, len: None }, false).is_ok());
    }

    #[test]
    fn bad_snapshot_files_are_errors_with_a_line() {
        let p = Path::new("s.json");
        let e = Snapshot::parse("{\n\"snapshot\": 1,\n\"device\": 3\n}", p).unwrap_err();
        assert!(e.to_string().starts_with("s.json:3: not a valid mmiodrv snapshot"), "{e}");
        let text = r#"{"snapshot":1,"device":"x","ids":null,"time":"t","bar":0,"bar_len":16,
            "raw":{"offset":0,"len":4,"hex":"zz000000"}}"#;
        assert!(Snapshot::parse(text, p).is_err());
        let text = r#"{"snapshot":1,"device":"x","ids":null,"time":"t","bar":0,"bar_len":16}"#;
        assert!(Snapshot::parse(text, p).unwrap_err().to_string().contains("neither registers nor raw bytes"));
    }
}
