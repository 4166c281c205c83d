//! Register windows: a BAR, the map that applies to it, and everything that
//! reads and writes it by name, by field or by offset.
//!
//! A [`Layout`] is what can be known without touching the device (the BAR's
//! length, the map, whether width rules are enforced): targets are resolved
//! and writes checked against it, so a script can be checked in full before
//! anything is accessed. A [`Window`] is a layout with the BAR opened.

use crate::error::{AccessError, MapError};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{DeviceRef, Error, Result};
use crate::mmio::region::Spot;
use crate::mmio::width::check_access;
use crate::mmio::{RegisterIo, Width};
use crate::regmap::{self, plan_field_write, Access, BitRange, Register, RegisterMap, Target, Text};
use crate::value::Operand;

/// Where a window's map came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapSource {
    /// A built-in driver's map.
    Builtin,
    /// A file (`--regmap`).
    File(PathBuf),
}

/// The register map a window uses: a built-in one (static) or one given for
/// the session (shared). Cloning it copies a pointer.
#[derive(Clone, Debug)]
pub enum MapRef {
    /// A built-in driver's map.
    Static(&'static RegisterMap),
    /// A map loaded for the session.
    Shared(Arc<RegisterMap>),
}

impl std::ops::Deref for MapRef {
    type Target = RegisterMap;
    fn deref(&self) -> &RegisterMap {
        match self {
            MapRef::Static(m) => m,
            MapRef::Shared(m) => m,
        }
    }
}

impl From<RegisterMap> for MapRef {
    fn from(map: RegisterMap) -> MapRef {
        MapRef::Shared(Arc::new(map))
    }
}

/// Bytes a hexdump shows when no length is given (and what `watch` watches
/// without a map), so a 1 MiB BAR does not flood the terminal.
pub const DEFAULT_HEXDUMP_LEN: u64 = 0x100;

/// What can be known of a window without touching the device.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The device.
    pub device: DeviceRef,
    /// The BAR.
    pub bar: u8,
    /// The BAR's length in bytes.
    pub len: u64,
    /// The register map that applies to this BAR, if any.
    pub map: Option<MapRef>,
    /// Where the map came from.
    pub source: MapSource,
    /// Skip the map's width rules for raw offsets.
    pub force: bool,
}

/// A target resolved against a layout, with the width of its access.
#[derive(Clone, Copy, Debug)]
pub struct Resolved<'a> {
    /// What it names.
    pub target: Target<'a>,
    /// The access width: the register's, or the one asked for a raw offset.
    pub width: Width,
}

/// A decoded field value.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldValue {
    /// Field name.
    pub name: Text,
    /// Its bits (`lsb`, `msb`).
    #[serde(flatten)]
    pub bits: BitRange,
    /// Its value.
    pub value: u64,
    /// The value's name, if the map gives one.
    pub meaning: Option<Text>,
}

/// Where `reg` (one of `map`'s registers) stands in `map`: found from its
/// address, not by a search.
fn index_in(map: &RegisterMap, reg: &Register) -> usize {
    let size = std::mem::size_of::<Register>().max(1);
    let at = (reg as *const Register as usize).wrapping_sub(map.registers.as_ptr() as usize) / size;
    match map.registers.get(at) {
        Some(r) if std::ptr::eq(r, reg) => at,
        _ => map.registers.iter().position(|r| std::ptr::eq(r, reg)).unwrap_or(usize::MAX),
    }
}

/// Every field of `reg` decoded from `value`.
pub fn decode_fields(reg: &Register, value: u64) -> Vec<FieldValue> {
    reg.fields
        .iter()
        .map(|f| {
            let v = f.extract(value);
            FieldValue {
                name: f.name.clone(),
                bits: f.bit_range(),
                value: v,
                meaning: f.values.iter().find(|(value, _)| *value == v).map(|(_, name)| name.clone()),
            }
        })
        .collect()
}

/// Why a dump skips `reg` (None: it reads it), `all` reading every one.
fn skip(reg: &Register, all: bool) -> Option<Skipped> {
    match (reg.access, reg.read_side_effects) {
        _ if all => None,
        (a, _) if !a.readable() => Some(Skipped::WriteOnly),
        (_, true) => Some(Skipped::ReadSideEffects),
        _ => None,
    }
}

/// Why `dump` did not read a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Skipped {
    /// Write-only: nothing meaningful to read.
    WriteOnly,
    /// Reading it changes the device.
    ReadSideEffects,
    /// Decoding a snapshot: the snapshot does not hold it.
    NotCaptured,
}

/// One register as `dump` read it (or did not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DumpedRegister {
    /// Name.
    pub name: String,
    /// Offset in the BAR.
    pub offset: u64,
    /// Width in bits.
    #[cfg_attr(feature = "schema", schemars(with = "crate::mmio::Width"))]
    pub width: u32,
    /// Access.
    pub access: Access,
    /// Whether a read has side effects.
    pub read_side_effects: bool,
    /// Null when the register was not read.
    pub value: Option<u64>,
    /// Why it was not read.
    pub skipped: Option<Skipped>,
    /// Decoded fields of the value read.
    pub fields: Vec<FieldValue>,
    /// Description from the map.
    pub description: String,
    /// Reset value from the map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<u64>,
    /// The bits of `reset` the map defines.
    #[serde(skip)]
    pub reset_mask: u64,
    /// Whether the value left the reset value (set when asked: `--diff-reset`).
    #[serde(rename = "differs_from_reset", default, skip_serializing_if = "Option::is_none")]
    pub reset_differs: Option<bool>,
}

impl DumpedRegister {
    /// Whether the value read differs from the reset value in the bits the
    /// map gives a reset for; `None` when it was not read or has no reset.
    pub fn differs_from_reset(&self) -> Option<bool> {
        let (value, reset) = (self.value?, self.reset?);
        Some((value ^ reset) & self.reset_mask != 0)
    }
}

impl DumpedRegister {
    /// `reg` with `value` decoded, or with why it was not read.
    pub fn new(reg: &Register, value: Option<u64>, skipped: Option<Skipped>) -> Self {
        DumpedRegister {
            name: reg.name.to_string(),
            offset: reg.offset,
            width: reg.width.bits(),
            access: reg.access,
            read_side_effects: reg.read_side_effects,
            value,
            skipped,
            fields: value.map(|v| decode_fields(reg, v)).unwrap_or_default(),
            description: reg.description.to_string(),
            reset: regmap::formats::reading::register_reset(reg),
            reset_mask: reg.reset_mask(),
            reset_differs: None,
        }
    }
}

/// What one read or write touched.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccessReport {
    /// The device.
    pub device: DeviceRef,
    /// The BAR (`"config"` for config space).
    #[serde(with = "crate::pci::config_map::bar_json")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::pci::config_map::bar_json::Bar"))]
    pub bar: u8,
    /// Offset of the access (the register's, for names).
    pub offset: u64,
    /// Width in bits.
    #[cfg_attr(feature = "schema", schemars(with = "crate::mmio::Width"))]
    pub width: u32,
    /// Register name, if a register was named.
    pub register: Option<Text>,
    /// Field name, if a field was named.
    pub field: Option<Text>,
    /// The value read or written (the field's value, for fields).
    pub value: u64,
    /// The value read back after a write, when verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readback: Option<u64>,
    /// The register's fields decoded, for whole-register reads.
    #[serde(skip_serializing_if = "Fields::is_empty")]
    pub fields: Fields,
}

impl AccessReport {
    /// The same access, of `value` (its fields decoded from it).
    #[inline]
    pub fn set_value(&mut self, value: u64) {
        self.value = value;
        self.fields.set_value(value);
    }
}

/// The fields of a register read whole, decoded from its value when they
/// are shown or serialized (an access allocates nothing for them). In JSON,
/// the list of [`FieldValue`]s.
#[derive(Clone, Debug, Default)]
pub struct Fields(Option<(MapRef, usize, u64)>);

impl Fields {
    /// The fields of register `index` of `map`, holding `value`.
    pub fn of(map: &MapRef, index: usize, value: u64) -> Fields {
        match map.registers.get(index) {
            Some(r) if !r.fields.is_empty() => Fields(Some((map.clone(), index, value))),
            _ => Fields(None),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The same fields, holding `value`.
    #[inline]
    pub fn set_value(&mut self, value: u64) {
        if let Some((_, _, v)) = &mut self.0 {
            *v = value;
        }
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.register().map_or(0, |(r, _)| r.fields.len())
    }

    /// The register and its value, the fields' source.
    #[inline]
    pub fn register(&self) -> Option<(&Register, u64)> {
        let (map, index, value) = self.0.as_ref()?;
        Some((map.registers.get(*index)?, *value))
    }

    /// Each field, decoded.
    pub fn iter(&self) -> impl Iterator<Item = FieldView<'_>> {
        self.register().into_iter().flat_map(|(reg, value)| {
            reg.fields.iter().map(move |f| {
                let v = f.extract(value);
                FieldView { name: &f.name, bits: f.bit_range(), value: v, meaning: f.meaning(v) }
            })
        })
    }

    /// Decoded, as owned values.
    pub fn to_vec(&self) -> Vec<FieldValue> {
        self.register().map(|(reg, value)| decode_fields(reg, value)).unwrap_or_default()
    }
}

/// A field of [`Fields`], decoded (borrowing names from the map).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldView<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its bits.
    pub bits: BitRange,
    /// Its value.
    pub value: u64,
    /// The value's name, if the map gives one.
    pub meaning: Option<&'a str>,
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.to_vec())
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Fields {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Fields".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Vec<FieldValue>>::json_schema(generator)
    }
}

impl Layout {
    /// The map, if any.
    pub fn map(&self) -> Option<&RegisterMap> {
        self.map.as_deref()
    }

    /// The map's file as it was given, for a map that is not built in.
    pub fn map_path(&self) -> Option<&PathBuf> {
        match &self.source {
            MapSource::File(p) => Some(p),
            MapSource::Builtin => None,
        }
    }

    /// The map's file (absolute when it can be made so), for a map that is
    /// not built in: what snapshots and traces record to find it again.
    pub fn map_file(&self) -> Option<PathBuf> {
        match &self.source {
            MapSource::File(p) => Some(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
            MapSource::Builtin => None,
        }
    }

    /// Resolve `REG`, `REG.FIELD` or an offset. `width` is for raw offsets
    /// (default 32 bits); a register has its own, and asking for another
    /// one is an error rather than silently ignored.
    pub fn resolve(&self, text: &str, width: Option<Width>) -> Result<Resolved<'_>> {
        let target = regmap::resolve(self.map(), text)?;
        let width = match target {
            Target::Offset(offset) => {
                let width = width.unwrap_or(Width::W32);
                self.check_raw(offset, width)?;
                width
            }
            Target::Register(reg) | Target::Field(reg, _) => {
                if let Some(w) = width.filter(|w| *w != reg.width) {
                    return Err(Error::invalid(
                        format!("{}-bit", w.bits()),
                        format!("{} is a {} register; a width applies to raw offsets only", reg.name, reg.width),
                    ));
                }
                reg.width
            }
        };
        Ok(Resolved { target, width })
    }

    /// A raw access of `width` at `offset`: inside the BAR, aligned, and one
    /// the map allows (unless forced).
    pub fn check_raw(&self, offset: u64, width: Width) -> Result<()> {
        check_access(offset, width, self.len)?;
        if let (Some(map), false) = (self.map(), self.force) {
            map.check_raw_access(offset, width)?;
        }
        Ok(())
    }

    /// The number `operand` stands for at `r`: a number as it is; a name,
    /// the value of the field that the map names so (without regard to
    /// case). A register or an offset has no named values.
    pub fn operand(&self, r: &Resolved<'_>, operand: &Operand) -> Result<u64> {
        let name = match operand {
            Operand::Number(n) => return Ok(*n),
            Operand::Name(name) => name,
        };
        let (target, names) = match r.target {
            Target::Field(reg, field) => match field.value_named(name) {
                Some(v) => return Ok(v),
                None => {
                    (format!("{}.{}", reg.name, field.name), field.values.iter().map(|(_, n)| n.to_string()).collect())
                }
            },
            Target::Register(reg) => {
                (format!("{} (a whole register: a name is a value of one of its fields)", reg.name), Vec::new())
            }
            Target::Offset(o) => (format!("the offset {o:#x}"), Vec::new()),
        };
        Err(MapError::ValueNameNotFound { name: name.clone(), target, names }.into())
    }

    /// Check a read before it is made: write-only registers have nothing to read.
    pub fn check_read(&self, r: &Resolved<'_>) -> Result<()> {
        match r.target.register() {
            Some(reg) if !reg.access.readable() => Err(MapError::WriteOnly { register: reg.name.to_string() }.into()),
            _ => Ok(()),
        }
    }

    /// Check a write of `value` before it is made: a writable target, a value
    /// that fits, and (for fields) a way to write it that changes nothing else.
    pub fn check_write(&self, r: &Resolved<'_>, value: u64) -> Result<()> {
        match r.target {
            Target::Offset(_) => r.width.check_value(value, "write").map(drop),
            Target::Register(reg) => {
                if !reg.access.writable() {
                    return Err(MapError::ReadOnly { register: reg.name.to_string() }.into());
                }
                reg.width.check_value(value, &format!("write of {}", reg.name)).map(drop)
            }
            Target::Field(reg, field) => {
                field.insert(0, value)?;
                plan_field_write(reg, field).map(drop)
            }
        }
    }

    /// The registers `dump` reads (or skips, and why): write-only and
    /// side-effect registers are skipped unless `all`.
    pub fn dump_plan(&self, all: bool) -> Vec<(&Register, Option<Skipped>)> {
        let Some(map) = self.map() else { return Vec::new() };
        map.registers.iter().map(|reg| (reg, skip(reg, all))).collect()
    }

    /// The registers `dump` reads for `names`: a register named is read
    /// even where a dump would skip it (naming it asks for it); a block
    /// named (of a map placed with blocks) is its registers, skipped as
    /// [`Layout::dump_plan`] skips them.
    pub fn dump_named_plan(&self, names: &[String], all: bool) -> Result<Vec<(&Register, Option<Skipped>)>> {
        let map = self.map().ok_or_else(|| MapError::NoMap { name: names.join(" ") })?;
        let mut out = Vec::new();
        for n in names {
            match map.block_registers(n).filter(|_| map.register(n).is_err()) {
                Some(regs) => out.extend(regs.iter().map(|r| (r, skip(r, all)))),
                None => out.push((map.register(n)?, None)),
            }
        }
        Ok(out)
    }

    /// Check a raw hexdump span of 32-bit words before reading it.
    pub fn check_hexdump(&self, offset: u64, len: u64) -> Result<()> {
        if offset >= self.len || offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(AccessError::OutOfRange { offset, width: len, len: self.len }.into());
        }
        if len == 0 {
            return Err(Error::invalid("0", "a hexdump needs a length of at least 4 bytes"));
        }
        if offset % 4 != 0 || len % 4 != 0 {
            return Err(Error::invalid(
                format!("offset {offset:#x} length {len:#x}"),
                "a hexdump reads 32-bit words: offset and length must be multiples of 4",
            ));
        }
        Ok(())
    }
}

/// A read made many times over ([`Window::plan`]). What [`Window::read`]
/// checks that cannot change between reads is checked once, when the plan
/// is made: that the target may be read (not write-only), and where a
/// single access goes, its place in the mapping (inside the BAR, aligned to
/// its width; the map's access rules were checked when the target was
/// resolved). Each [`ReadPlan::read`] is then one volatile load there, made
/// directly rather than through the window's `dyn RegisterIo`, followed by
/// the checks that can: a bus error on the mapping and all-ones from a device
/// that went away ([`crate::mmio::fault::check`]). A read of several
/// accesses, or through a window whose accesses are not plain loads (a
/// trace, pread/pwrite), is [`Window::read`] itself.
pub struct ReadPlan<'w> {
    window: &'w Window,
    target: Resolved<'w>,
    /// The place of the one access, when it is made directly.
    spot: Option<Spot<'w>>,
    /// What a device that went away reads as.
    all_ones: u64,
    /// A field's place in the register (none: the whole value).
    shift: u32,
    mask: u64,
}

impl ReadPlan<'_> {
    /// One read, with every check [`Window::read`] makes of it.
    #[inline]
    pub fn read(&self) -> Result<u64> {
        let Some(spot) = &self.spot else { return self.window.read(&self.target) };
        let raw = spot.read();
        let faulted = spot.faulted();
        // The one fault check, whenever it could find something: a bus
        // error, or all-ones (then it asks sysfs whether the device is there).
        if faulted || raw == self.all_ones {
            crate::mmio::fault::check(&self.window.layout.device, faulted, Some((raw, self.target.width)))?;
        }
        Ok((raw >> self.shift) & self.mask)
    }

    /// Whether each read is one load made directly (else [`Window::read`]).
    pub fn is_direct(&self) -> bool {
        self.spot.is_some()
    }
}

/// An opened BAR with its layout.
pub struct Window {
    layout: Layout,
    io: Box<dyn RegisterIo>,
}

impl Window {
    /// A window on `io` laid out as `layout` (its length is `io`'s).
    pub fn new(mut layout: Layout, io: Box<dyn RegisterIo>) -> Self {
        layout.len = io.len();
        Window { layout, io }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The register I/O behind it.
    pub fn io(&self) -> &dyn RegisterIo {
        self.io.as_ref()
    }

    /// The register I/O behind it, for reads with side effects.
    pub fn io_mut(&mut self) -> &mut dyn RegisterIo {
        self.io.as_mut()
    }

    /// The map, if any.
    pub fn map(&self) -> Option<&RegisterMap> {
        self.layout.map()
    }

    /// [`Layout::resolve`].
    pub fn resolve(&self, text: &str, width: Option<Width>) -> Result<Resolved<'_>> {
        self.layout.resolve(text, width)
    }

    fn tag<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| e.with_device(self.layout.device.clone()))
    }

    /// Read what `r` names: one raw access, a whole register, or one field.
    /// A device that went away is an error ([`ErrorKind::Gone`](crate::error::ErrorKind::Gone)), not a
    /// value: a bus error on the mapping, or all-ones from a device no
    /// longer present.
    pub fn read(&self, r: &Resolved<'_>) -> Result<u64> {
        self.layout.check_read(r)?;
        let raw = self.tag(match r.target {
            Target::Offset(offset) => self.io.read(offset, r.width),
            Target::Register(reg) | Target::Field(reg, _) => regmap::read_register(self.io(), reg),
        })?;
        self.check_present(Some((raw, r.width)))?;
        Ok(match r.target {
            Target::Field(_, field) => field.extract(raw),
            _ => raw,
        })
    }

    /// A read of what `r` names, to be made many times over (a script's line
    /// repeated): [`ReadPlan::read`] is [`Window::read`], with what cannot
    /// change between reads checked here once. See [`ReadPlan`].
    pub fn plan<'w>(&'w self, r: Resolved<'w>) -> ReadPlan<'w> {
        // A read the window refuses, or one of several accesses, is left
        // to Window::read, which says why at each read as it always does.
        let one = match r.target {
            _ if self.layout.check_read(&r).is_err() => None,
            Target::Offset(offset) => Some((offset, r.width)),
            Target::Register(reg) | Target::Field(reg, _) if reg.access_width == reg.width => {
                Some((reg.offset, reg.width))
            }
            _ => None,
        };
        let spot = one.and_then(|(offset, width)| self.io.direct()?.spot(offset, width).ok());
        let (shift, mask) = match r.target {
            Target::Field(_, f) => (f.lsb, f.max_value()),
            _ => (0, u64::MAX),
        };
        ReadPlan { window: self, target: r, spot, all_ones: r.width.max_value(), shift, mask }
    }

    /// Write `value` to what `r` names (a field write changes no other field).
    pub fn write(&self, r: &Resolved<'_>, value: u64) -> Result<()> {
        self.layout.check_write(r, value)?;
        self.tag(match r.target {
            Target::Offset(offset) => self.io.write(offset, r.width, value),
            Target::Register(reg) => regmap::write_register(self.io(), reg, value),
            Target::Field(reg, field) => regmap::write_field(self.io(), reg, field, value).map(drop),
        })?;
        self.check_present(None)
    }

    /// After an access: the mapping took no bus error, and a read of all
    /// ones came from a device still there.
    fn check_present(&self, read: Option<(u64, Width)>) -> Result<()> {
        // The one fault check of every access path (mmio::fault).
        crate::mmio::fault::check(&self.layout.device, self.io.faulted(), read)
    }

    /// A report of an access of `value` at `r` (fields decoded for whole registers).
    pub fn report(&self, r: &Resolved<'_>, value: u64) -> AccessReport {
        let (offset, register, field) = match r.target {
            Target::Offset(offset) => (offset, None, None),
            Target::Register(reg) => (reg.offset, Some(reg.name.clone()), None),
            Target::Field(reg, f) => (reg.offset, Some(reg.name.clone()), Some(f.name.clone())),
        };
        let fields = match (r.target, &self.layout.map) {
            (Target::Register(reg), Some(map)) => Fields::of(map, index_in(map, reg), value),
            _ => Fields::default(),
        };
        AccessReport {
            device: self.layout.device.clone(),
            bar: self.layout.bar,
            offset,
            width: r.width.bits(),
            register,
            field,
            value,
            readback: None,
            fields,
        }
    }

    /// Every register of the map, read unless skipped (see [`Layout::dump_plan`]);
    /// with `all`, write-only registers are read too, as one raw access.
    pub fn dump(&self, all: bool) -> Result<Vec<DumpedRegister>> {
        self.layout.dump_plan(all).into_iter().map(|(reg, skipped)| self.dump_one(reg, skipped)).collect()
    }

    /// The registers and blocks named, in the order given (see
    /// [`Layout::dump_named_plan`]).
    pub fn dump_named(&self, names: &[String], all: bool) -> Result<Vec<DumpedRegister>> {
        let plan = self.layout.dump_named_plan(names, all)?;
        plan.into_iter().map(|(reg, skipped)| self.dump_one(reg, skipped)).collect()
    }

    fn dump_one(&self, reg: &Register, skipped: Option<Skipped>) -> Result<DumpedRegister> {
        let value = match skipped {
            Some(_) => None,
            None if !reg.access.readable() => Some(self.tag(regmap::access::read_raw(self.io(), reg))?),
            None => Some(self.tag(regmap::read_register(self.io(), reg))?),
        };
        self.check_present(value.map(|v| (v, reg.width)))?;
        Ok(DumpedRegister::new(reg, value, skipped))
    }

    /// `len` bytes from `offset` as 32-bit words (checked first).
    pub fn hexdump(&self, offset: u64, len: u64) -> Result<Vec<u32>> {
        self.layout.check_hexdump(offset, len)?;
        let words: Vec<u32> = (offset..offset + len)
            .step_by(4)
            .map(|o| self.tag(self.io.read(o, Width::W32)).map(|v| v as u32))
            .collect::<Result<_>>()?;
        // A device that went away mid-dump reads all-ones from there on.
        let last = words.last().map(|w| (u64::from(*w), Width::W32));
        self.check_present(last)?;
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::mmio::MmioRegion;

    fn window(map: &str) -> Window {
        let map = regmap::parse(map, "t.toml").unwrap();
        let layout = Layout {
            device: DeviceRef::Ram,
            bar: 0,
            len: 0,
            map: Some(map.into()),
            source: MapSource::Builtin,
            force: false,
        };
        Window::new(layout, Box::new(MmioRegion::ram(4096).unwrap()))
    }

    const MAP: &str = "[device]\nname = \"t\"\n[[access]]\nrange = [0, 0x100]\nwidths = [32]\n\
        [[register]]\nname = \"ID\"\noffset = 0\nwidth = 32\naccess = \"RO\"\n\
        [[register]]\nname = \"CTRL\"\noffset = 4\nwidth = 32\naccess = \"RW\"\nfield = [{ name = \"EN\", bits = 0 }]\n\
        [[register]]\nname = \"KICK\"\noffset = 8\nwidth = 32\naccess = \"WO\"\n\
        [[register]]\nname = \"ISR\"\noffset = 12\nwidth = 32\naccess = \"RW\"\nread_side_effects = true\n";

    #[test]
    fn everything_is_checked_before_any_access() {
        let w = window(MAP);
        let l = w.layout();
        assert!(matches!(
            l.resolve("0x0", Some(Width::W8)).unwrap_err().kind(),
            ErrorKind::Map(MapError::WidthNotAllowed { .. })
        ));
        assert!(matches!(
            l.resolve("0x1000", None).unwrap_err().kind(),
            ErrorKind::Access(AccessError::OutOfRange { .. })
        ));
        let e = l.resolve("ID", Some(Width::W16)).unwrap_err();
        assert!(e.to_string().contains("a width applies to raw offsets only"), "{e}");
        let id = l.resolve("ID", Some(Width::W32)).unwrap();
        assert!(matches!(l.check_write(&id, 1).unwrap_err().kind(), ErrorKind::Map(MapError::ReadOnly { .. })));
        let en = l.resolve("CTRL.EN", None).unwrap();
        assert!(matches!(l.check_write(&en, 2).unwrap_err().kind(), ErrorKind::ValueTooLarge { .. }));
        let kick = l.resolve("KICK", None).unwrap();
        assert!(matches!(l.check_read(&kick).unwrap_err().kind(), ErrorKind::Map(MapError::WriteOnly { .. })));
    }

    /// A planned read is `Window::read`: the same values, the same
    /// refusals, and a bus error on the mapping found at the access after
    /// it (a file mapping whose file shrinks faults as a BAR's does).
    #[test]
    fn a_planned_read_is_the_window_read() {
        let w = window(MAP);
        w.io().write(0, Width::W32, 0x0100_00ed).unwrap();
        w.io().write(4, Width::W32, 0xffff_ffff).unwrap();
        for target in ["ID", "CTRL", "CTRL.EN", "ISR", "0x4", "0x0"] {
            let r = w.resolve(target, None).unwrap();
            let plan = w.plan(r);
            assert!(plan.is_direct(), "{target}");
            assert_eq!(plan.read().unwrap(), w.read(&r).unwrap(), "{target}");
        }
        // Write-only: refused at each read, as Window::read refuses it.
        let kick = w.plan(w.resolve("KICK", None).unwrap());
        assert!(!kick.is_direct());
        assert!(matches!(kick.read().unwrap_err().kind(), ErrorKind::Map(MapError::WriteOnly { .. })));

        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        let region = MmioRegion::new(crate::mmio::Mapping::map_file(&file, 4096, 0, true).unwrap());
        let layout = Layout { map: None, ..w.layout().clone() };
        let w = Window::new(layout, Box::new(region));
        w.io().write(8, Width::W32, 7).unwrap();
        let plan = w.plan(w.resolve("0x8", None).unwrap());
        assert_eq!(plan.read().unwrap(), 7);
        file.set_len(0).unwrap();
        assert!(matches!(plan.read().unwrap_err().kind(), ErrorKind::Gone { .. }));
    }

    #[test]
    fn dump_skips_write_only_and_side_effect_registers() {
        let w = window(MAP);
        w.io().write(4, Width::W32, 1).unwrap();
        let regs = w.dump(false).unwrap();
        let shown: Vec<_> = regs.iter().map(|r| (r.name.as_str(), r.value, r.skipped)).collect();
        assert_eq!(
            shown,
            [
                ("ID", Some(0), None),
                ("CTRL", Some(1), None),
                ("KICK", None, Some(Skipped::WriteOnly)),
                ("ISR", None, Some(Skipped::ReadSideEffects))
            ]
        );
        assert!(w.dump(true).unwrap().iter().all(|r| r.value.is_some()));
        let en = w.resolve("CTRL.EN", None).unwrap();
        w.write(&en, 0).unwrap();
        assert_eq!(w.read(&w.resolve("CTRL", None).unwrap()).unwrap(), 0);
        assert_eq!(w.hexdump(0, 8).unwrap(), [0, 0]);
        assert!(w.hexdump(0, 0).is_err() && w.hexdump(2, 4).is_err());
    }
}
