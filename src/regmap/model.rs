//! The validated register map: what the loader produces and everything else reads.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::mmio::Width;

/// How software may access a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Access {
    /// Read-only.
    RO,
    /// Read-write.
    RW,
    /// Write-only: reads return nothing meaningful (or trigger something).
    WO,
    /// Read, write 1 to clear.
    RW1C,
}

impl Access {
    pub fn readable(self) -> bool {
        self != Access::WO
    }
    pub fn writable(self) -> bool {
        self != Access::RO
    }
}

/// A contiguous range of offsets and the widths the device accepts there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessRule {
    pub start: u64,
    pub end: u64,
    pub widths: Vec<Width>,
}

/// A bit field inside a register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    pub msb: u32,
    pub lsb: u32,
    pub description: String,
    /// Named values, sorted by value.
    pub values: Vec<(u64, String)>,
}

impl Field {
    pub fn bits(&self) -> u32 {
        self.msb - self.lsb + 1
    }

    pub fn max_value(&self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }

    /// The field's bits in place, e.g. 0xff00 for bits 15:8.
    pub fn mask(&self) -> u64 {
        self.max_value() << self.lsb
    }

    pub fn extract(&self, register_value: u64) -> u64 {
        (register_value >> self.lsb) & self.max_value()
    }

    /// `register_value` with this field replaced by `value` (checked to fit).
    pub fn insert(&self, register_value: u64, value: u64) -> Result<u64> {
        if value > self.max_value() {
            return Err(Error::ValueTooLarge {
                value,
                what: format!("field {}", self.name),
                bits: self.bits(),
                max: self.max_value(),
            });
        }
        Ok((register_value & !self.mask()) | (value << self.lsb))
    }

    /// The name of a value, if the map gives one.
    pub fn meaning(&self, value: u64) -> Option<&str> {
        self.values.iter().find(|(v, _)| *v == value).map(|(_, n)| n.as_str())
    }

    /// `31:24` or `7`.
    pub fn bit_range(&self) -> String {
        if self.msb == self.lsb {
            self.lsb.to_string()
        } else {
            format!("{}:{}", self.msb, self.lsb)
        }
    }
}

/// One register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Register {
    pub name: String,
    pub offset: u64,
    pub width: Width,
    /// Width of each bus access: equal to `width`, or 32 for a 64-bit register the
    /// device only takes as two 32-bit halves (low half first).
    pub access_width: Width,
    pub access: Access,
    /// Reading changes device state (clear-on-read): never read unless asked.
    pub read_side_effects: bool,
    pub description: String,
    pub fields: Vec<Field>,
}

impl Register {
    pub fn field(&self, name: &str) -> Result<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).ok_or_else(|| Error::FieldNotFound {
            register: self.name.clone(),
            field: name.to_string(),
            fields: self.fields.iter().map(|f| f.name.clone()).collect(),
        })
    }

    pub fn end(&self) -> u64 {
        self.offset + self.width.bytes()
    }
}

/// A device's register map for one BAR.
#[derive(Clone, Debug, Serialize)]
pub struct RegisterMap {
    pub name: String,
    pub description: String,
    pub bar: u8,
    /// Expected BAR size, if the map states it.
    pub size: Option<u64>,
    pub rules: Vec<AccessRule>,
    pub registers: Vec<Register>,
}

impl RegisterMap {
    /// Case-insensitive lookup; the error suggests names that share a prefix.
    pub fn register(&self, name: &str) -> Result<&Register> {
        if let Some(r) = self.registers.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
            return Ok(r);
        }
        let lower = name.to_ascii_lowercase();
        let prefix = &lower[..lower.len().min(3)];
        let suggestions = self
            .registers
            .iter()
            .filter(|r| r.name.to_ascii_lowercase().starts_with(prefix))
            .map(|r| r.name.clone())
            .collect();
        Err(Error::RegisterNotFound { name: name.to_string(), map: self.name.clone(), suggestions })
    }

    /// Is a raw access of `width` at `offset` one the device takes? With no rules,
    /// everything is allowed.
    pub fn check_raw_access(&self, offset: u64, width: Width) -> Result<()> {
        if self.rules.is_empty() {
            return Ok(());
        }
        let end = offset.saturating_add(width.bytes());
        let rule = self.rules.iter().find(|r| r.start <= offset && end <= r.end);
        match rule {
            Some(r) if r.widths.contains(&width) => Ok(()),
            other => Err(Error::WidthNotAllowed {
                map: self.name.clone(),
                offset,
                bits: width.bits(),
                allowed: match other {
                    Some(r) => r.widths.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", "),
                    None => "nothing: the offset is outside every access range".into(),
                },
            }),
        }
    }
}
