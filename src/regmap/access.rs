//! Reading and writing registers and fields of a map by name, through any
//! [`RegisterIo`].

use crate::error::MapError;
use crate::error::{ErrorKind, Result};
use crate::mmio::RegisterIo;
use crate::regmap::model::{Access, Field, Register, RegisterMap, WordOrder};
use crate::value::parse_u64;

/// What a `read`/`write` argument names.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// A raw offset.
    Offset(u64),
    /// A whole register.
    Register(&'a Register),
    /// One field of a register.
    Field(&'a Register, &'a Field),
}

impl Target<'_> {
    /// The register it names, if any.
    pub fn register(&self) -> Option<&Register> {
        match self {
            Target::Offset(_) => None,
            Target::Register(r) | Target::Field(r, _) => Some(r),
        }
    }
}

/// Resolve a number, `REG`, `REG.FIELD`, `REG[3].FIELD`, with a block
/// `BLOCK.REG`, `BLOCK.REG.FIELD`, or `CAP.REG.FIELD` (the register named
/// `CAP.REG` of config space), against an optional map (see
/// [`RegisterMap::register`] for how a register is found: a whole name
/// first, then the field after the last dot).
pub fn resolve<'a>(map: Option<&'a RegisterMap>, text: &str) -> Result<Target<'a>> {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_u64(text).map(Target::Offset);
    }
    let Some(map) = map else {
        return Err(MapError::NoMap { name: text.to_string() }.into());
    };
    let whole = match map.register(text) {
        Ok(reg) => return Ok(Target::Register(reg)),
        Err(e) => e,
    };
    let Some((reg, field)) = text.rsplit_once('.') else { return Err(whole) };
    // `BLOCK.REG` that is not a register of BLOCK: that error says it.
    let first = text.split('.').next().unwrap_or_default();
    let names_block = map.block(first).is_some() && !reg.contains('.');
    match map.register(reg) {
        Ok(reg) => Ok(Target::Field(reg, reg.field(field)?)),
        Err(_) if names_block => Err(whole),
        Err(e) => Err(e),
    }
}

/// The pieces of a register the device takes in narrower accesses: (offset,
/// shift of the piece in the register value), in address order.
fn pieces(reg: &Register) -> impl Iterator<Item = (u64, u32)> + '_ {
    let n = (reg.width.bits() / reg.access_width.bits()).max(1);
    let bits = reg.access_width.bits();
    (0..n).map(move |i| {
        let shift = match reg.word_order {
            WordOrder::Little => i * bits,
            WordOrder::Big => (n - 1 - i) * bits,
        };
        (reg.offset + u64::from(i) * reg.access_width.bytes(), shift)
    })
}

/// Read a whole register: one access of its width, or one access per piece,
/// lowest address first, for a register the device takes only in narrower
/// accesses (a 64-bit register as 32-bit halves). Refuses registers that
/// cannot be read (write-only: nothing meaningful to read).
pub fn read_register(io: &dyn RegisterIo, reg: &Register) -> Result<u64> {
    if !reg.access.readable() {
        return Err(MapError::WriteOnly { register: reg.name.to_string() }.into());
    }
    read_raw(io, reg)
}

/// Read a register's bits whatever its access says (`dump --all` of write-only registers).
pub fn read_raw(io: &dyn RegisterIo, reg: &Register) -> Result<u64> {
    if reg.access_width == reg.width {
        return io.read(reg.offset, reg.width);
    }
    let mut value = 0;
    for (offset, shift) in pieces(reg) {
        value |= io.read(offset, reg.access_width)? << shift;
    }
    Ok(value)
}

/// Write a whole register (split like [`read_register`]). Refuses read-only ones.
pub fn write_register(io: &dyn RegisterIo, reg: &Register, value: u64) -> Result<()> {
    if !reg.access.writable() {
        return Err(MapError::ReadOnly { register: reg.name.to_string() }.into());
    }
    if value > reg.width.max_value() {
        return Err(ErrorKind::ValueTooLarge {
            value,
            what: format!("register {}", reg.name),
            bits: reg.width.bits(),
            max: reg.width.max_value(),
        }
        .into());
    }
    if reg.access_width == reg.width {
        return io.write(reg.offset, reg.width, value);
    }
    for (offset, shift) in pieces(reg) {
        io.write(offset, reg.access_width, (value >> shift) & reg.access_width.max_value())?;
    }
    Ok(())
}

/// How a write to some bits of a register (one field, or several: the
/// `mask`) is made up: whether the register is read first, and what every
/// other bit of the written word holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldWritePlan {
    /// Read the register first (some other bits must keep their value).
    pub read_first: bool,
    /// Bits taken from the value read (fields that keep their value when written back).
    pub keep_mask: u64,
    /// Bits forced to 1 (fields whose neutral value is all-ones, e.g. zero-to-clear).
    pub ones_mask: u64,
}

impl FieldWritePlan {
    /// The word to write: `value`'s bits under `mask`, every other bit as
    /// the plan says (from `current`, the value read when
    /// [`Self::read_first`], else ignored).
    pub const fn word(&self, current: u64, mask: u64, value: u64) -> u64 {
        let others = (current & self.keep_mask) | self.ones_mask;
        (others & !mask) | (value & mask)
    }
}

/// Plan a write of `field` that leaves every other field as it is (see
/// [`plan_write`]).
pub fn plan_field_write(reg: &Register, field: &Field) -> Result<FieldWritePlan> {
    plan_write(reg, field.mask())
}

/// Plan a write of the bits under `mask` (whole fields: one field written
/// by name, or the fields a typed `modify` changes) that leaves every other
/// field as it is: a field that takes the value written keeps what was
/// read; a write-1-to-clear (or -set, -toggle) field gets 0s, a
/// write-0-to-clear field 1s, so a write never acknowledges or sets
/// anything by accident; write-only and read-only fields (and bits no field
/// names, for registers without side effects) keep what was read. Refused
/// when a field under `mask` cannot be written, when no written value leaves
/// another field unchanged (a field any write clears or sets), or when the
/// register would have to be read and reading it has side effects.
///
/// Every read-modify-write goes through it: `write REG.FIELD VALUE` on the
/// command line, in scripts and in Python, and a typed register's `modify`
/// ([`crate::regmap::typed`]).
pub fn plan_write(reg: &Register, mask: u64) -> Result<FieldWritePlan> {
    check_writable(reg, mask)?;
    let mut keep = 0u64;
    let mut ones = 0u64;
    let readable = reg.access.readable();
    for other in reg.fields.iter().filter(|f| f.mask() & mask == 0) {
        let semantics = reg.field_write(other);
        let Some(neutral) = semantics.neutral(1, other.max_value()) else {
            return Err(ErrorKind::NotSupported {
                what: "this field write",
                why: format!("any write to {} also changes {}.{} ({semantics:?})", reg.name, reg.name, other.name),
            }
            .into());
        };
        if semantics == crate::regmap::WriteSemantics::Normal {
            // Keeps what was read (a write-only field has nothing to read: 0).
            if readable && reg.field_access(other).readable() {
                keep |= other.mask();
            }
        } else if neutral != 0 {
            ones |= other.mask();
        }
    }
    // Bits no field names keep their value too, where they can be read.
    if readable && reg.access != Access::RW1C {
        keep |= reg.unnamed_bits() & !mask;
    }
    if keep != 0 && reg.read_side_effects {
        return Err(MapError::ReadSideEffect {
            register: reg.name.to_string(),
            why: "a field write must read it first".into(),
        }
        .into());
    }
    Ok(FieldWritePlan { read_first: keep != 0, keep_mask: keep, ones_mask: ones })
}

/// Plan a write of the fields under `mask` that is not a read-modify-write
/// (a typed register's `write` of field values): nothing is read, fields
/// that take the value written and are not under `mask` are written 0, and
/// fields with write semantics are written their "no effect" value (0 for
/// write-1-to-clear, 1s for write-0-to-clear). Refused when a field under
/// `mask` cannot be written.
pub fn plan_fresh_write(reg: &Register, mask: u64) -> Result<FieldWritePlan> {
    check_writable(reg, mask)?;
    let ones = reg
        .fields
        .iter()
        .filter(|f| f.mask() & mask == 0)
        .filter(|f| reg.field_write(f).neutral(0, f.max_value()) == Some(f.max_value()))
        .fold(0, |m, f| m | f.mask());
    Ok(FieldWritePlan { read_first: false, keep_mask: 0, ones_mask: ones })
}

/// The register, and every field under `mask`, can be written.
fn check_writable(reg: &Register, mask: u64) -> Result<()> {
    if !reg.access.writable() {
        return Err(MapError::ReadOnly { register: reg.name.to_string() }.into());
    }
    if let Some(field) = reg.fields.iter().find(|f| f.mask() & mask != 0 && !reg.field_access(f).writable()) {
        let name = format!("{}.{}", reg.name, field.name);
        return Err(MapError::ReadOnly { register: name }.into());
    }
    Ok(())
}

/// Write one field (see [`plan_write`]): range-checked before anything
/// is touched, one read when other bits must keep their value, one write.
/// Returns the register value written.
pub fn write_field(io: &dyn RegisterIo, reg: &Register, field: &Field, value: u64) -> Result<u64> {
    let shifted = field.insert(0, value)?;
    write_masked(io, reg, field.mask(), shifted)
}

/// Write the bits of `value` under `mask` (fields in place), leaving every
/// other field as it is ([`plan_write`]). Returns the register value written.
pub fn write_masked(io: &dyn RegisterIo, reg: &Register, mask: u64, value: u64) -> Result<u64> {
    let plan = plan_write(reg, mask)?;
    let current = if plan.read_first { read_register(io, reg)? } else { 0 };
    let new = plan.word(current, mask, value);
    write_register(io, reg, new)?;
    Ok(new)
}
