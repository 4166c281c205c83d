//! Access traces read back: a trace file ([`Trace`]) and the names its
//! accesses get from a register map ([`Names`]). Recording them is
//! [`crate::backend::trace`] (a traced device reaches its device through a
//! [`TracingBackend`]).

use crate::error::ObserveError;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::mmio::Width;
use crate::regmap::{Register, RegisterMap};
use crate::window::{decode_fields, FieldValue};

pub use crate::backend::trace::{Entry, Event, Header, Recorder, TracedIo, TracingBackend, FORMAT};

/// Largest trace file read (about two million accesses).
pub const MAX_TRACE_FILE: u64 = 128 << 20;

/// A trace read back.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The file.
    pub path: PathBuf,
    /// Its header.
    pub header: Header,
    /// Every line after it.
    pub entries: Vec<Entry>,
}

impl Trace {
    /// Read and check a trace file: a regular file (a FIFO or a device is
    /// refused, never waited on) of at most [`MAX_TRACE_FILE`] bytes.
    pub fn load(path: &Path) -> Result<Trace> {
        let bytes = crate::value::read_regular_file(path, "a trace", MAX_TRACE_FILE)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            Error::new(ObserveError::InvalidFile {
                what: "mmiodrv trace",
                file: path.to_path_buf(),
                line,
                message: "not UTF-8 text".into(),
            })
        })?;
        Trace::parse(&text, path)
    }

    /// Parse trace text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Trace> {
        let bad = |line: usize, message: String| {
            Error::new(ObserveError::InvalidFile { what: "mmiodrv trace", file: path.to_path_buf(), line, message })
        };
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (_, first) = lines.next().ok_or_else(|| bad(1, "the file is empty".into()))?;
        let header: Header = serde_json::from_str(first).map_err(|e| bad(1, format!("header: {e}")))?;
        if header.trace != FORMAT {
            return Err(bad(1, format!("format version {} (this mmiodrv reads {FORMAT})", header.trace)));
        }
        let entries = lines
            .map(|(i, l)| serde_json::from_str::<Entry>(l).map_err(|e| bad(i + 1, e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        Ok(Trace { path: path.to_path_buf(), header, entries })
    }
}

/// Register names for a trace's accesses: per BAR, the map given by the
/// caller, else the one the trace says a window used (built in, or a file
/// that still loads), else the built-in driver's for the recorded IDs.
#[derive(Clone, Debug, Default)]
pub struct Names {
    maps: Vec<(u8, Cow<'static, RegisterMap>)>,
}

/// What an access touched, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named {
    /// `REG`, `REG (high half)` or `REG+0x2`.
    pub register: String,
    /// The fields decoded, for a whole-register value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldValue>,
    /// Whether reading the register has side effects.
    pub read_side_effects: bool,
}

impl Names {
    /// Names for `trace`, with `user` (a map and the BAR it applies to)
    /// first. The map files the trace names are loaded only when `recorded`
    /// says so (a trace is someone's file: the path it names is not opened
    /// unasked), and even then never through another program (SystemRDL).
    pub fn for_trace(trace: &Trace, user: Option<(u8, RegisterMap)>, recorded: bool) -> Names {
        let mut names = Names::default();
        if let Some((bar, map)) = user {
            names.maps.push((bar, Cow::Owned(map)));
        }
        for e in &trace.entries {
            let Event::Regmap { bar, name, file } = &e.event else { continue };
            if names.map(*bar).is_some() {
                continue;
            }
            let map = match file {
                None => super::builtin_map(name, *bar).map(Cow::Borrowed),
                Some(f) if !recorded => {
                    log::info!(
                        "{}: BAR{bar} was read with the map {}, which is not loaded unless asked for; BAR{bar} is shown by offset",
                        trace.path.display(),
                        f.display()
                    );
                    None
                }
                Some(f) => match super::load_map(f, name) {
                    Ok(m) => Some(Cow::Owned(m)),
                    Err(e) => {
                        log::warn!(
                            "{}: the map {} no longer loads ({e}); BAR{bar} is shown by offset",
                            trace.path.display(),
                            f.display()
                        );
                        None
                    }
                },
            };
            if let Some(m) = map {
                names.maps.push((*bar, m));
            }
        }
        if let Some(driver) = trace.header.ids.and_then(|i| crate::drivers::for_ids(i.vendor, i.device)) {
            for m in driver.maps {
                if names.map(m.bar).is_none() {
                    names.maps.push((m.bar, Cow::Borrowed(*m)));
                }
            }
        }
        names
    }

    /// The map for `bar`.
    pub fn map(&self, bar: u8) -> Option<&RegisterMap> {
        self.maps.iter().find(|(b, _)| *b == bar).map(|(_, m)| m.as_ref())
    }

    /// The register an access of `width` at `offset` of `bar` touched, with
    /// `value` decoded when the access was the whole register.
    pub fn name(&self, bar: u8, offset: u64, width: Width, value: Option<u64>) -> Option<Named> {
        let reg = self.map(bar)?.registers.iter().find(|r| r.offset <= offset && offset < r.end())?;
        Some(name_in(reg, offset, width, value))
    }
}

fn name_in(reg: &Register, offset: u64, width: Width, value: Option<u64>) -> Named {
    let whole = offset == reg.offset && width == reg.width;
    let register = if whole {
        reg.name.to_string()
    } else if width == reg.access_width && offset == reg.offset {
        format!("{} (low half)", reg.name)
    } else if width == reg.access_width && offset == reg.offset + width.bytes() {
        format!("{} (high half)", reg.name)
    } else {
        format!("{}+{:#x}", reg.name, offset - reg.offset)
    };
    let fields = match (whole, value) {
        (true, Some(v)) => decode_fields(reg, v),
        _ => Vec::new(),
    };
    Named { register, fields, read_side_effects: reg.read_side_effects }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::host_file::HostFileBackend;
    use crate::backend::{Backend, BarOptions, IrqKind};

    #[test]
    fn entries_round_trip_as_json_lines() {
        let events = [
            Event::Read { bar: 0, offset: 0x20, width: Width::W32, value: Some(1), error: None },
            Event::Write { bar: 0, offset: 8, width: Width::W64, value: u64::MAX, error: Some("boom".into()) },
            Event::Regmap { bar: 0, name: "edu".into(), file: None },
            Event::Bulk { bar: 2, len: 4096 },
            Event::Irq { kind: IrqKind::Msi, vector: 0, count: 1 },
        ];
        for event in events {
            let e = Entry { us: 12, event };
            let line = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Entry>(&line).unwrap(), e, "{line}");
        }
        let line = serde_json::to_string(&Entry {
            us: 5,
            event: Event::Read { bar: 0, offset: 4, width: Width::W32, value: Some(7), error: None },
        })
        .unwrap();
        assert_eq!(line, r#"{"us":5,"op":"read","bar":0,"offset":4,"width":32,"value":7}"#);
    }

    #[test]
    fn a_traced_backend_records_exactly_the_accesses_made() {
        let dir = tempfile::tempdir().unwrap();
        let shm = dir.path().join("shm");
        std::fs::write(&shm, [0u8; 256]).unwrap();
        let trace = dir.path().join("t.jsonl");
        let backend = HostFileBackend::open(&shm).unwrap();
        let recorder = Recorder::create(&trace, &backend, vec!["test".into()]).unwrap();
        let traced = TracingBackend::new(Box::new(backend), Arc::clone(&recorder));
        let io = traced.open_bar(0, BarOptions::RW).unwrap();
        io.write(4, Width::W32, 0x1234).unwrap();
        assert_eq!(io.read(4, Width::W16).unwrap(), 0x1234);
        assert!(io.read(0x100, Width::W32).is_err());
        assert!(io.as_mmio().is_some() && io.as_mmio().is_some());
        recorder.finish().unwrap();
        let t = Trace::load(&trace).unwrap();
        assert_eq!(t.header.device, format!("file:{}", shm.display()));
        assert_eq!(t.header.ids, None);
        assert_eq!(t.header.command, ["test"]);
        let events: Vec<_> = t.entries.iter().map(|e| e.event.clone()).collect();
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[0], Event::Write { bar: 0, offset: 4, width: Width::W32, value: 0x1234, error: None });
        assert_eq!(events[1], Event::Read { bar: 0, offset: 4, width: Width::W16, value: Some(0x1234), error: None });
        assert!(matches!(&events[2], Event::Read { value: None, error: Some(e), .. } if e.contains("outside")));
        assert_eq!(events[3], Event::Bulk { bar: 0, len: 256 }, "one entry however often the mapping is taken");
        assert!(t.entries.windows(2).all(|w| w[0].us <= w[1].us));
    }

    #[test]
    fn bad_trace_files_name_the_line() {
        let p = Path::new("t.jsonl");
        let e = Trace::parse("", p).unwrap_err();
        assert!(e.to_string().contains("t.jsonl:1: not a valid mmiodrv trace: the file is empty"), "{e}");
        let header = r#"{"trace":1,"device":"x","ids":null,"backend":"file","time":"t"}"#;
        let e = Trace::parse(&format!("{header}\n{{\"us\":1,\"op\":\"poke\"}}\n"), p).unwrap_err();
        assert!(e.to_string().starts_with("t.jsonl:2: "), "{e}");
        let e = Trace::parse(r#"{"trace":9,"device":"x","ids":null,"backend":"file","time":"t"}"#, p).unwrap_err();
        assert!(e.to_string().contains("format version 9"), "{e}");
        assert_eq!(Trace::parse(header, p).unwrap().entries.len(), 0);
    }
}
