//! Reading and writing registers and fields of a map through any [`RegisterIo`].

use crate::error::{Error, Result};
use crate::mmio::{RegisterIo, Width};
use crate::regmap::model::{Access, Field, Register, RegisterMap};
use crate::value::parse_u64;

/// What a `read`/`write` argument names.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    Offset(u64),
    Register(&'a Register),
    Field(&'a Register, &'a Field),
}

/// Resolve `REG`, `REG.FIELD` or a number against an optional map.
pub fn resolve<'a>(map: Option<&'a RegisterMap>, text: &str) -> Result<Target<'a>> {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_u64(text).map(Target::Offset);
    }
    let Some(map) = map else {
        return Err(Error::InvalidValue {
            input: text.to_string(),
            reason: "register names need a register map (a known device or --regmap FILE); give an offset instead"
                .into(),
        });
    };
    match text.split_once('.') {
        Some((reg, field)) => {
            let reg = map.register(reg)?;
            Ok(Target::Field(reg, reg.field(field)?))
        }
        None => Ok(Target::Register(map.register(text)?)),
    }
}

/// Read a whole register: one access of its width, or low then high half for a
/// 64-bit register the device takes only as 32-bit accesses.
pub fn read_register(io: &dyn RegisterIo, reg: &Register) -> Result<u64> {
    if reg.access == Access::WO {
        return Err(Error::WriteOnly { register: reg.name.clone() });
    }
    if reg.access_width == reg.width {
        return io.read(reg.offset, reg.width);
    }
    let low = io.read(reg.offset, Width::W32)?;
    let high = io.read(reg.offset + 4, Width::W32)?;
    Ok(low | (high << 32))
}

/// Write a whole register (split like [`read_register`]). Refuses read-only ones.
pub fn write_register(io: &dyn RegisterIo, reg: &Register, value: u64) -> Result<()> {
    if !reg.access.writable() {
        return Err(Error::ReadOnly { register: reg.name.clone() });
    }
    if value > reg.width.max_value() {
        return Err(Error::ValueTooLarge {
            value,
            what: format!("register {}", reg.name),
            bits: reg.width.bits(),
            max: reg.width.max_value(),
        });
    }
    if reg.access_width == reg.width {
        return io.write(reg.offset, reg.width, value);
    }
    io.write(reg.offset, Width::W32, value & 0xffff_ffff)?;
    io.write(reg.offset + 4, Width::W32, value >> 32)
}

/// Read-modify-write one field. The value is range-checked before anything is
/// touched. For RW1C registers the other fields are written as 0 so that the
/// write does not clear their pending bits.
pub fn write_field(io: &dyn RegisterIo, reg: &Register, field: &Field, value: u64) -> Result<u64> {
    field.insert(0, value)?;
    if !reg.access.writable() {
        return Err(Error::ReadOnly { register: reg.name.clone() });
    }
    let current = match reg.access {
        Access::RW => {
            if reg.read_side_effects {
                return Err(Error::ReadSideEffect {
                    register: reg.name.clone(),
                    description: "a field write must read it first".into(),
                });
            }
            read_register(io, reg)?
        }
        // WO cannot be read back; RW1C must not write 1s to other fields.
        Access::WO | Access::RW1C | Access::RO => 0,
    };
    let new = field.insert(current, value)?;
    write_register(io, reg, new)?;
    Ok(new)
}
