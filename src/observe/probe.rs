//! What `watch` and `top` read: registers, fields and raw words of a window,
//! resolved and checked against its layout before anything is read, and read
//! with one access per register per sample (however many of its fields are
//! watched).

use crate::error::{Error, ErrorKind, Result};
use crate::mmio::{RegisterIo, Width};
use crate::regmap::{self, Field, Register, Target};
use crate::window::{Layout, Window, DEFAULT_HEXDUMP_LEN};

/// How a named register, and the default set, become items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expand {
    /// Whole registers (a change then names the fields that changed).
    Registers,
    /// Each field of a register; a register without fields stays whole.
    Fields,
}

/// One thing read per sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// A register of the map, by index (one access, or two halves).
    Register(usize),
    /// A raw word.
    Offset(u64, Width),
}

/// One watched or sampled item: a source, or one field of it.
#[derive(Clone, Debug)]
struct Item {
    source: usize,
    field: Option<usize>,
    /// The field's place in the register value: `value >> lsb & max`.
    lsb: u32,
    max: u64,
    name: String,
}

/// An item with what the map says of it.
#[derive(Clone, Copy, Debug)]
pub struct Described<'a> {
    /// `REG`, `REG.FIELD` or the offset (`0x0010`).
    pub name: &'a str,
    /// Offset of the register or word.
    pub offset: u64,
    /// Width of the register or word.
    pub width: Width,
    /// The register, when the item is one or a field of one.
    pub register: Option<&'a Register>,
    /// The field, when the item is one.
    pub field: Option<&'a Field>,
}

impl Described<'_> {
    /// Width of the item's value in bits.
    pub fn bits(&self) -> u32 {
        self.field.map_or(self.width.bits(), Field::bits)
    }

    /// The name the map gives `value` of this field, if any.
    pub fn meaning(&self, value: u64) -> Option<String> {
        self.field.and_then(|f| f.meaning(value)).map(str::to_string)
    }
}

/// A checked selection of items to read from one window.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    sources: Vec<Source>,
    items: Vec<Item>,
}

impl Probe {
    /// Items for `targets` (`REG`, `REG.FIELD`, offsets), or, when there are
    /// none, every register `dump-regs` reads (without a map: the words it
    /// hexdumps). A register whose read has side effects is only read when
    /// named; a write-only one never.
    pub fn new<S: AsRef<str>>(layout: &Layout, targets: &[S], expand: Expand) -> Result<Probe> {
        let mut probe = Probe::default();
        for t in targets {
            probe.add(layout, t.as_ref(), expand)?;
        }
        if !targets.is_empty() {
            return Ok(probe);
        }
        match layout.map() {
            Some(_) => {
                for (reg, skipped) in layout.dump_plan(false) {
                    if skipped.is_none() {
                        probe.add_register(map_index(layout, reg)?, reg, expand);
                    }
                }
            }
            None => {
                for offset in (0..DEFAULT_HEXDUMP_LEN.min(layout.len & !3)).step_by(4) {
                    layout.check_raw(offset, Width::W32)?;
                    probe.push(Source::Offset(offset, Width::W32), None, format!("{offset:#06x}"));
                }
            }
        }
        if probe.items.is_empty() {
            let why = "the map has no register that can be read without side effects; name one".into();
            return Err(Error::on(layout.device.clone(), ErrorKind::NotSupported { what: "watching this map", why }));
        }
        Ok(probe)
    }

    /// Add `target`; returns the indexes of its items (existing ones when
    /// it is already there).
    pub fn add(&mut self, layout: &Layout, target: &str, expand: Expand) -> Result<Vec<usize>> {
        let r = layout.resolve(target, None)?;
        layout.check_read(&r)?;
        Ok(match r.target {
            Target::Offset(offset) => vec![self.push(Source::Offset(offset, r.width), None, format!("{offset:#06x}"))],
            Target::Register(reg) => self.add_register(map_index(layout, reg)?, reg, expand),
            Target::Field(reg, field) => {
                let index = map_index(layout, reg)?;
                let f = reg.fields.iter().position(|x| std::ptr::eq(x, field));
                vec![self.push(Source::Register(index), f.map(|f| (f, field)), format!("{}.{}", reg.name, field.name))]
            }
        })
    }

    fn add_register(&mut self, index: usize, reg: &Register, expand: Expand) -> Vec<usize> {
        let source = Source::Register(index);
        if expand == Expand::Registers || reg.fields.is_empty() {
            return vec![self.push(source, None, reg.name.to_string())];
        }
        reg.fields
            .iter()
            .enumerate()
            .map(|(i, f)| self.push(source, Some((i, f)), format!("{}.{}", reg.name, f.name)))
            .collect()
    }

    fn push(&mut self, source: Source, field: Option<(usize, &Field)>, name: String) -> usize {
        let source = match self.sources.iter().position(|s| *s == source) {
            Some(i) => i,
            None => {
                self.sources.push(source);
                self.sources.len() - 1
            }
        };
        let (lsb, max) = field.map_or((0, u64::MAX), |(_, f)| (f.lsb, f.max_value()));
        let field = field.map(|(i, _)| i);
        if let Some(i) = self.items.iter().position(|it| it.source == source && it.field == field) {
            return i;
        }
        self.items.push(Item { source, field, lsb, max, name });
        self.items.len() - 1
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of accesses one sample makes (registers and words, not fields).
    pub fn reads_per_sample(&self) -> usize {
        self.sources.len()
    }

    /// Item `i` with what the map of `layout` (the one it was built against)
    /// says of it.
    pub fn describe<'a>(&'a self, layout: &'a Layout, i: usize) -> Option<Described<'a>> {
        let item = self.items.get(i)?;
        Some(match *self.sources.get(item.source)? {
            Source::Offset(offset, width) => Described { name: &item.name, offset, width, register: None, field: None },
            Source::Register(r) => {
                let reg = layout.map()?.registers.get(r)?;
                let field = item.field.and_then(|f| reg.fields.get(f));
                Described { name: &item.name, offset: reg.offset, width: reg.width, register: Some(reg), field }
            }
        })
    }

    /// One sample: each register or word read once, in order of offset as
    /// first named. `window` must have the layout the probe was built against.
    pub fn read(&self, window: &Window) -> Result<Vec<u64>> {
        let io: &dyn RegisterIo = window.io();
        let device = &window.layout().device;
        self.sources
            .iter()
            .map(|s| match *s {
                Source::Offset(offset, width) => io.read(offset, width),
                Source::Register(r) => match window.map().and_then(|m| m.registers.get(r)) {
                    Some(reg) => regmap::read_register(io, reg),
                    None => Err(Error::invalid(format!("register #{r}"), "not in this window's map")),
                },
            })
            .map(|v| v.map_err(|e| e.with_device(device.clone())))
            .collect()
    }

    /// Item `i`'s value in `sample` (as [`Probe::read`] returned it).
    pub fn value(&self, i: usize, sample: &[u64]) -> u64 {
        let Some(item) = self.items.get(i) else { return 0 };
        (sample.get(item.source).copied().unwrap_or(0) >> item.lsb) & item.max
    }
}

fn map_index(layout: &Layout, reg: &Register) -> Result<usize> {
    layout
        .map()
        .and_then(|m| m.registers.iter().position(|r| std::ptr::eq(r, reg)))
        .ok_or_else(|| Error::invalid(reg.name.to_string(), "not a register of this window's map"))
}
