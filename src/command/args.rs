//! Arguments once parsed: each by its declared name, with a typed value.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::mmio::Width;

/// A parsed argument value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A number (bits, sizes, milliseconds, widths, BARs).
    Int(u64),
    /// A path.
    Path(PathBuf),
    /// Text, a choice, or a checked value.
    Text(String),
    /// A flag.
    Flag(bool),
    /// A counted flag.
    Count(u8),
    /// The words of a positional that takes many (or of a repeated option).
    List(Vec<String>),
}

/// The parsed arguments of one call: what the user gave, and the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    values: Vec<(&'static str, Parsed)>,
    /// Names given by the user (not defaults), in order.
    given: Vec<&'static str>,
}

impl Args {
    /// Record a value the user gave.
    pub fn set(&mut self, name: &'static str, value: Parsed) {
        self.put(name, value);
        if !self.given.contains(&name) {
            self.given.push(name);
        }
    }

    /// Record a default (or an environment variable's) value.
    pub(crate) fn put(&mut self, name: &'static str, value: Parsed) {
        match self.values.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.values.push((name, value)),
        }
    }

    /// Whether `name` has a value (given or default).
    pub fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == name)
    }

    /// Whether the user gave `name` (a flag counts when set).
    pub fn given(&self, name: &str) -> bool {
        self.given.contains(&name) && !matches!(self.get(name), Some(Parsed::Flag(false)) | Some(Parsed::Count(0)))
    }

    /// The value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Parsed> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn missing(name: &str) -> Error {
        Error::invalid(name, "this argument was not given (and has no default)")
    }

    /// A number argument.
    pub fn int(&self, name: &str) -> Result<u64> {
        self.opt_int(name).ok_or_else(|| Self::missing(name))
    }

    /// A value argument ([`super::Value::BitsOrName`]): a number or a name.
    pub fn operand(&self, name: &str) -> Result<crate::value::Operand> {
        match self.get(name) {
            Some(Parsed::Int(v)) => Ok(crate::value::Operand::Number(*v)),
            Some(Parsed::Text(t)) => Ok(crate::value::Operand::Name(t.clone())),
            _ => Err(Self::missing(name)),
        }
    }

    /// A number argument that may be absent.
    pub fn opt_int(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(Parsed::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// A number argument that must fit in 32 bits.
    pub fn opt_u32(&self, name: &str) -> Result<Option<u32>> {
        self.opt_int(name)
            .map(|v| u32::try_from(v).map_err(|_| Error::invalid(v.to_string(), format!("{name} is at most 2^32-1"))))
            .transpose()
    }

    /// A millisecond argument as a duration.
    pub fn millis(&self, name: &str) -> Result<Duration> {
        self.int(name).map(Duration::from_millis)
    }

    /// A millisecond argument that may be absent.
    pub fn opt_millis(&self, name: &str) -> Option<Duration> {
        self.opt_int(name).map(Duration::from_millis)
    }

    /// An access width argument that may be absent.
    pub fn opt_width(&self, name: &str) -> Option<Width> {
        self.opt_int(name).and_then(|b| Width::from_bits(b as u32).ok())
    }

    /// A BAR argument that may be absent.
    pub fn opt_bar(&self, name: &str) -> Option<u8> {
        self.opt_int(name).and_then(|b| u8::try_from(b).ok())
    }

    /// A number with a fraction that may be absent.
    pub fn opt_float(&self, name: &str) -> Option<f64> {
        self.opt_text(name).and_then(|t| t.parse().ok())
    }

    /// A path argument that may be absent.
    pub fn opt_path(&self, name: &str) -> Option<&Path> {
        match self.get(name) {
            Some(Parsed::Path(p)) => Some(p),
            _ => None,
        }
    }

    /// A path argument.
    pub fn path(&self, name: &str) -> Result<&Path> {
        self.opt_path(name).ok_or_else(|| Self::missing(name))
    }

    /// A text or choice argument that may be absent.
    pub fn opt_text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Parsed::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// A text argument.
    pub fn text(&self, name: &str) -> Result<&str> {
        self.opt_text(name).ok_or_else(|| Self::missing(name))
    }

    /// The words of a many-valued argument (empty when not given).
    pub fn list(&self, name: &str) -> &[String] {
        match self.get(name) {
            Some(Parsed::List(words)) => words,
            _ => &[],
        }
    }

    /// A flag.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Parsed::Flag(true)))
    }

    /// How many times a counted flag was given.
    pub fn count(&self, name: &str) -> u8 {
        match self.get(name) {
            Some(Parsed::Count(n)) => *n,
            Some(Parsed::Flag(true)) => 1,
            _ => 0,
        }
    }
}
