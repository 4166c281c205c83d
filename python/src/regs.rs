//! `dev.regs`: the register map by attribute, for scripts and IPython's tab
//! completion. Attribute access never touches the device; reading `.value`
//! or a field is one read of the register, assigning them one write (a field:
//! read-modify-write), exactly as `dev.read`/`dev.write` by name.

use mmiodrv::error::MapError;
use std::sync::Arc;

use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::regmap::Register as Reg;
use pyo3::exceptions::{PyAttributeError, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::args;
use crate::errors::{to_py, OrRaise};
use crate::state::{Open, Shared};

/// The register named `name` in the map of `bar`, found without opening it.
fn with_register<T>(o: &Open, bar: Option<u8>, name: &str, f: impl FnOnce(&Reg) -> T) -> Result<T> {
    let layout = o.layout(bar)?;
    let map = layout.map().ok_or_else(|| MapError::NoMap { name: name.to_string() })?;
    Ok(f(map.register(name)?))
}

/// The registers of a map: `regs.ID`, `regs["ID"]`, `for r in regs`.
#[pyclass(module = "mmiodrv", frozen)]
pub struct Registers {
    shared: Arc<Shared>,
    bar: Option<u8>,
}

impl Registers {
    pub fn new(shared: Arc<Shared>, bar: Option<u8>) -> Self {
        Registers { shared, bar }
    }

    fn names(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let bar = self.bar;
        py.detach(|| {
            self.shared.with(|o| {
                let layout = o.layout(bar)?;
                Ok(layout.map().map(|m| m.registers.iter().map(|r| r.name.to_string()).collect()).unwrap_or_default())
            })
        })
        .or_raise(py, Some(&self.shared.name))
    }

    fn get(&self, py: Python<'_>, name: &str) -> mmiodrv::Result<Register> {
        let bar = self.bar;
        let shared = &self.shared;
        py.detach(|| {
            shared.with(|o| {
                with_register(o, bar, name, |r| Register {
                    shared: shared.clone(),
                    bar,
                    name: r.name.to_string(),
                    offset: r.offset,
                    width: r.width.bits(),
                    access: format!("{:?}", r.access),
                    read_side_effects: r.read_side_effects,
                    description: r.description.to_string(),
                    fields: r.fields.iter().map(|f| f.name.to_string()).collect(),
                })
            })
        })
    }
}

#[pymethods]
impl Registers {
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Register> {
        if name.starts_with('_') {
            return Err(PyAttributeError::new_err(name.to_string()));
        }
        // A name the map lacks is an AttributeError (so hasattr and getattr
        // with a default work), with the library's message; anything else
        // (a closed device) raises as usual.
        self.get(py, name).map_err(|e| match e.kind() {
            ErrorKind::Map(MapError::RegisterNotFound { .. }) | ErrorKind::Map(MapError::NoMap { .. }) => {
                PyAttributeError::new_err(crate::errors::message(&e, None).0)
            }
            _ => to_py(py, &e, Some(&self.shared.name)),
        })
    }

    fn __getitem__(&self, py: Python<'_>, name: &str) -> PyResult<Register> {
        self.get(py, name).map_err(|e| match e.kind() {
            ErrorKind::Map(MapError::RegisterNotFound { .. }) | ErrorKind::Map(MapError::NoMap { .. }) => {
                PyKeyError::new_err(crate::errors::message(&e, None).0)
            }
            _ => to_py(py, &e, Some(&self.shared.name)),
        })
    }

    fn __contains__(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        match self.get(py, name) {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Map(MapError::RegisterNotFound { .. }) | ErrorKind::Map(MapError::NoMap { .. })
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(to_py(py, &e, Some(&self.shared.name))),
        }
    }

    fn __dir__(slf: &Bound<'_, Self>) -> PyResult<Vec<String>> {
        let mut names: Vec<String> = slf.get_type().dir()?.extract()?;
        names.extend(slf.get().names(slf.py())?);
        Ok(names)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.names(py)?.len())
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let regs: Vec<Register> = self
            .names(py)?
            .iter()
            .map(|n| self.get(py, n))
            .collect::<mmiodrv::Result<_>>()
            .or_raise(py, Some(&self.shared.name))?;
        let list = pyo3::types::PyList::new(py, regs)?;
        Ok(list.try_iter()?.into_any().unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let names = self.names(py).unwrap_or_default();
        format!("<registers of {}: {}>", self.shared.name, names.join(", "))
    }
}

/// One register of the map. `value` reads it (one access) and assigning it
/// writes; a field's name reads or writes that field; `repr` reads nothing.
#[pyclass(module = "mmiodrv", frozen)]
pub struct Register {
    shared: Arc<Shared>,
    bar: Option<u8>,
    /// Its name in the map.
    #[pyo3(get)]
    name: String,
    /// Its offset in the BAR.
    #[pyo3(get)]
    offset: u64,
    /// Its width in bits.
    #[pyo3(get)]
    width: u32,
    /// "RO", "RW", "WO" or "RW1C".
    #[pyo3(get)]
    access: String,
    /// Whether reading it changes the device (dump() skips it).
    #[pyo3(get)]
    read_side_effects: bool,
    /// The map's description.
    #[pyo3(get)]
    description: String,
    /// Its fields' names.
    #[pyo3(get)]
    fields: Vec<String>,
}

impl Register {
    fn read_target(&self, py: Python<'_>, target: &str) -> PyResult<u64> {
        let bar = self.bar;
        py.detach(|| self.shared.with_lock(LockMode::Shared, |o| o.read(bar, target, None).map(|a| a.value)))
            .or_raise(py, Some(&self.shared.name))
    }

    fn write_target(&self, py: Python<'_>, target: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = args::operand(value, "value").or_raise(py, Some(&self.shared.name))?;
        let bar = self.bar;
        py.detach(|| self.shared.with_lock(LockMode::Shared, |o| o.write(bar, target, None, value)))
            .or_raise(py, Some(&self.shared.name))
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.eq_ignore_ascii_case(name)).map(String::as_str)
    }
}

#[pymethods]
impl Register {
    /// Read it: one access of its width.
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<u64> {
        self.read_target(py, &self.name)
    }

    /// Read it (the same as `.value`).
    fn read(&self, py: Python<'_>) -> PyResult<u64> {
        self.read_target(py, &self.name)
    }

    /// Write it (checked first: read-only registers and values that do not fit are refused).
    fn write(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.write_target(py, &self.name, value)
    }

    /// Read it once and decode every field: {"MAJOR": 1, "MINOR": 0, ...}.
    fn decode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (bar, name) = (self.bar, self.name.as_str());
        let fields = py
            .detach(|| self.shared.with_lock(LockMode::Shared, |o| o.read(bar, name, None).map(|a| a.fields)))
            .or_raise(py, Some(&self.shared.name))?;
        let dict = PyDict::new(py);
        for f in fields.iter() {
            dict.set_item(f.name, f.value)?;
        }
        Ok(dict)
    }

    fn __int__(&self, py: Python<'_>) -> PyResult<u64> {
        self.read_target(py, &self.name)
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<u64> {
        match self.field(name) {
            Some(f) => self.read_target(py, &format!("{}.{f}", self.name)),
            None => Err(PyAttributeError::new_err(format!(
                "register {} has no field {name} (fields: {})",
                self.name,
                if self.fields.is_empty() { "none".to_string() } else { self.fields.join(", ") }
            ))),
        }
    }

    fn __setattr__(&self, py: Python<'_>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if name == "value" {
            return self.write_target(py, &self.name, value);
        }
        match self.field(name) {
            Some(f) => self.write_target(py, &format!("{}.{f}", self.name), value),
            None => Err(PyAttributeError::new_err(format!(
                "register {}: only .value and its fields ({}) can be assigned",
                self.name,
                self.fields.join(", ")
            ))),
        }
    }

    fn __dir__(slf: &Bound<'_, Self>) -> PyResult<Vec<String>> {
        let mut names: Vec<String> = slf.get_type().dir()?.extract()?;
        names.extend(slf.get().fields.iter().cloned());
        Ok(names)
    }

    fn __repr__(&self) -> String {
        let side = if self.read_side_effects { ", read has side effects" } else { "" };
        format!("<Register {} @ {:#06x}: {}-bit {}{side}>", self.name, self.offset, self.width, self.access)
    }
}
