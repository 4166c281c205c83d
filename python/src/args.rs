//! Python arguments into the library's values. Bad input is the library's
//! usage error (`mmiodrv.UsageError`), with its wording, like on the command
//! line: a negative offset is "invalid value '-4'", not an OverflowError.

use mmiodrv::error::{Error, Result};
use mmiodrv::mmio::Width;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into())
}

/// An unsigned integer of at most 64 bits (a Python int, or a bool).
pub fn uint(obj: &Bound<'_, PyAny>, what: &str) -> Result<u64> {
    if obj.is_instance_of::<PyString>() {
        return Err(Error::invalid(repr(obj), format!("{what} must be an int, not a string")));
    }
    obj.extract::<u64>()
        .map_err(|_| Error::invalid(repr(obj), format!("{what} must be an unsigned integer of at most 64 bits")))
}

/// A value to write or compare: an int, or a str that is a number as the
/// command line writes it (`"0x10"`) or the name of one of the field's
/// values (`"fast"`), as `write CTRL.MODE fast` takes it.
pub fn operand(obj: &Bound<'_, PyAny>, what: &str) -> Result<mmiodrv::value::Operand> {
    match obj.cast::<PyString>() {
        Ok(s) => mmiodrv::value::Operand::parse(&s.to_string(), 64, what),
        Err(_) => uint(obj, what).map(mmiodrv::value::Operand::Number),
    }
}

/// [`uint`] that must fit `T` (a BAR index in a u8, a vector in a u32).
pub fn small<T: TryFrom<u64>>(obj: &Bound<'_, PyAny>, what: &str, max: u64) -> Result<T> {
    let v = uint(obj, what)?;
    T::try_from(v)
        .ok()
        .filter(|_| v <= max)
        .ok_or_else(|| Error::invalid(v.to_string(), format!("{what} must be at most {max}")))
}

/// An optional [`small`].
pub fn opt_small<T: TryFrom<u64>>(obj: Option<&Bound<'_, PyAny>>, what: &str, max: u64) -> Result<Option<T>> {
    obj.filter(|o| !o.is_none()).map(|o| small(o, what, max)).transpose()
}

/// An access width in bits (8, 16, 32, 64), or None.
pub fn width(obj: Option<&Bound<'_, PyAny>>) -> Result<Option<Width>> {
    opt_small::<u32>(obj, "width", u32::MAX as u64)?.map(Width::from_bits).transpose()
}

/// A register name, `REG.FIELD`, or an offset (an int, or a number in text
/// as the command line takes it).
pub fn target(obj: &Bound<'_, PyAny>) -> Result<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_string());
    }
    uint(obj, "a target (a register name or an offset)").map(|o| format!("{o:#x}"))
}

/// Seconds as a duration: a non-negative, finite number.
pub fn seconds(obj: &Bound<'_, PyAny>, what: &str) -> Result<std::time::Duration> {
    let bad = || Error::invalid(repr(obj), format!("{what} must be a number of seconds, at least 0"));
    if obj.is_instance_of::<PyString>() {
        return Err(bad());
    }
    let s: f64 = obj.extract().map_err(|_| bad())?;
    if !(0.0..=1e9).contains(&s) {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs_f64(s))
}

/// Bytes from a bytes-like object (bytes, bytearray, memoryview, array...).
pub fn bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if obj.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err("expected bytes, not str (encode it first)"));
    }
    // Anything with the buffer protocol: bytes(obj) copies it.
    let copied = obj.py().import("builtins")?.getattr("bytes")?.call1((obj,))?;
    Ok(copied.cast::<PyBytes>()?.as_bytes().to_vec())
}
