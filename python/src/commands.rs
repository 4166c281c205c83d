//! The built-in drivers' commands as methods: `dev.edu.factorial(10)`,
//! `dev.edu.irq.raise_(0x40, wait=True)`, `dev.e1000.mac()`. They come from
//! the same declarations (`mmiodrv::command::Command`) the command line turns
//! into subcommands, run with a front end that collects their reports, and
//! return the reports' JSON objects (what `--json` prints) as dicts.
//!
//! Arguments: positionals by position or by name, options and flags by
//! keyword, names lowercased with `-` as `_` (`N` is `n`, `--to-device` is
//! `to_device`) and a `_` after Python keywords (`raise_`). Numbers are ints
//! (or text as the command line takes it), durations are seconds (the
//! command line's `--timeout MS` is `timeout=5.0`), paths are str or
//! os.PathLike.

use std::fmt::Write as _;
use std::sync::Arc;

use mmiodrv::command::{Arg, ArgKind, Args, Call, Collect, Command, Needs, Parsed, Run, Subject, Value};
use mmiodrv::drivers::installed;
use mmiodrv::error::{Error, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::outcome::Outcome;
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::args;
use crate::errors::OrRaise;
use crate::json;
use crate::state::Shared;

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A command's or argument's name in Python.
pub fn py_name(name: &str) -> String {
    let mut n = name.to_ascii_lowercase().replace('-', "_");
    if KEYWORDS.contains(&n.as_str()) {
        n.push('_');
    }
    n
}

/// A group of commands: a driver's (`dev.edu`) or a group's (`dev.edu.irq`).
#[pyclass(module = "mmiodrv", frozen)]
pub struct Commands {
    shared: Arc<Shared>,
    path: String,
    level: &'static [Command],
}

impl Commands {
    pub fn new(shared: Arc<Shared>, path: String, level: &'static [Command]) -> Self {
        Commands { shared, path, level }
    }
}

#[pymethods]
impl Commands {
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let Some(c) = self.level.iter().find(|c| py_name(c.name) == name) else {
            let names: Vec<String> = self.level.iter().map(|c| py_name(c.name)).collect();
            return Err(PyAttributeError::new_err(format!(
                "{} has no command {name} (commands: {})",
                self.path,
                names.join(", ")
            )));
        };
        let path = format!("{} {}", self.path, c.name);
        if c.subcommands.is_empty() {
            Ok(Py::new(py, CommandFn { shared: self.shared.clone(), path, command: c })?.into_any())
        } else {
            Ok(Py::new(py, Commands::new(self.shared.clone(), path, c.subcommands))?.into_any())
        }
    }

    fn __dir__(slf: &Bound<'_, Self>) -> PyResult<Vec<String>> {
        let mut names: Vec<String> = slf.get_type().dir()?.extract()?;
        names.extend(slf.get().level.iter().map(|c| py_name(c.name)));
        Ok(names)
    }

    fn __repr__(&self) -> String {
        let names: Vec<String> = self.level.iter().map(|c| py_name(c.name)).collect();
        format!("<mmiodrv commands {} on {}: {}>", self.path, self.shared.name, names.join(", "))
    }
}

/// One command, called like a function.
#[pyclass(module = "mmiodrv", frozen)]
pub struct CommandFn {
    shared: Arc<Shared>,
    path: String,
    command: &'static Command,
}

/// A Python value for `arg`, parsed and checked by the library's rules.
fn value(arg: &Arg, obj: &Bound<'_, PyAny>) -> Result<Parsed> {
    let name = py_name(arg.name);
    match (arg.kind, arg.value) {
        (ArgKind::Flag, _) => match obj.extract::<bool>() {
            Ok(b) => Ok(Parsed::Flag(b)),
            Err(_) => Err(Error::invalid(obj.to_string(), format!("{name} is a flag: True or False"))),
        },
        (ArgKind::Count, _) => Ok(Parsed::Count(args::small(obj, &name, u8::MAX as u64)?)),
        (_, Value::Millis) => {
            let d = args::seconds(obj, &name)?;
            Ok(Parsed::Int(d.as_millis().min(u64::MAX as u128) as u64))
        }
        (_, Value::Path) => {
            let os = obj.py().import("os").and_then(|os| os.getattr("fspath")).and_then(|f| f.call1((obj,)));
            match os.as_ref().map(|p| p.cast::<PyString>()) {
                Ok(Ok(p)) => Ok(Parsed::Path(p.to_string().into())),
                _ => Err(Error::invalid(obj.to_string(), format!("{name} must be a path (str or os.PathLike)"))),
            }
        }
        (_, Value::Bits(_) | Value::BitsOrName(_) | Value::Size | Value::Width | Value::Bar | Value::Float) => {
            let text = match obj.cast::<PyString>() {
                Ok(s) => s.to_string(),
                Err(_) => args::uint(obj, &name)?.to_string(),
            };
            arg.value.parse(&text, arg.name)
        }
        (_, Value::Text | Value::Choice(_) | Value::Checked(..) | Value::None) => match obj.cast::<PyString>() {
            Ok(s) => arg.value.parse(&s.to_string(), arg.name),
            Err(_) => Err(Error::invalid(obj.to_string(), format!("{name} must be a str"))),
        },
    }
}

/// Python's positional and keyword arguments as the command's [`Args`],
/// defaults filled in and required ones checked, before the device is touched.
pub(crate) fn collect(
    command: &Command,
    positional: &Bound<'_, PyTuple>,
    keywords: Option<&Bound<'_, PyDict>>,
) -> Result<Args> {
    let mut out = Args::default();
    let mut given: Vec<&str> = Vec::new();
    let mut positionals = command.args.iter().filter(|a| matches!(a.kind, ArgKind::Positional { .. }));
    for obj in positional.iter() {
        let arg = positionals
            .next()
            .ok_or_else(|| Error::invalid(obj.to_string(), format!("{} takes no more arguments", command.name)))?;
        out.set(arg.name, value(arg, &obj)?);
        given.push(arg.name);
    }
    if let Some(kw) = keywords {
        for (key, obj) in kw.iter() {
            let key = key.to_string();
            let arg = command
                .args
                .iter()
                .find(|a| py_name(a.name) == key)
                .ok_or_else(|| Error::invalid(key.clone(), format!("{} takes no such argument", command.name)))?;
            if given.contains(&arg.name) {
                return Err(Error::invalid(key, "given twice (by position and by name)"));
            }
            if obj.is_none() {
                continue; // None: as if not given (the default applies)
            }
            out.set(arg.name, value(arg, &obj)?);
            given.push(arg.name);
        }
    }
    command.complete(&mut out)?;
    Ok(out)
}

#[pymethods]
impl CommandFn {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let on = Some(self.shared.name.as_str());
        let parsed = collect(self.command, args, kwargs).or_raise(py, on)?;
        let Run::Call(run) = self.command.run else {
            return Err(Error::invalid(self.path.clone(), "is a group of commands, not a command")).or_raise(py, on);
        };
        let (command, path) = (self.command, self.path.clone());
        let outcomes = py
            .detach(|| match command.needs {
                // As on the command line: a command that needs no device
                // (the ivshmem client) runs by itself and takes no lock.
                Needs::Nothing | Needs::Selection => self.shared.with(|_| {
                    let mut out = Collect::default();
                    run(&mut Call { command, path: &path, subject: Subject::Nothing, args: &parsed, out: &mut out })?;
                    Ok(out.0)
                }),
                // The others run on the session, which has the device to itself.
                Needs::Device | Needs::DeviceOrFile => {
                    self.shared.with_lock(LockMode::Exclusive, |o| o.run_command(command, path.clone(), parsed.clone()))
                }
            })
            .or_raise(py, on)?;
        let mut objects: Vec<Bound<'py, PyAny>> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Report { report, .. } if !report.json.is_null() => Some(json::to_py(py, &report.json)),
                _ => None,
            })
            .collect::<PyResult<_>>()?;
        Ok(match objects.len() {
            0 => py.None().into_bound(py),
            1 => objects.remove(0),
            _ => PyList::new(py, objects)?.into_any(),
        })
    }

    /// What it does and its arguments.
    #[getter]
    fn help(&self) -> String {
        doc(self.command, "")
    }

    fn __repr__(&self) -> String {
        format!("<mmiodrv command {} on {}: {}>", self.path, self.shared.name, self.command.about)
    }
}

/// The Python type of an argument, for the stubs.
fn py_type(arg: &Arg) -> String {
    match (arg.kind, arg.value) {
        (ArgKind::Flag, _) => "bool".into(),
        (ArgKind::Count, _) => "int".into(),
        (_, Value::Width | Value::Bar) => "int".into(),
        (_, Value::Float) => "float".into(),
        (_, Value::Bits(_) | Value::BitsOrName(_)) => "int | str".into(),
        (_, Value::Size) => "int | str".into(),
        (_, Value::Millis) => "float".into(),
        (_, Value::Path) => "str | os.PathLike[str]".into(),
        (_, Value::Choice(c)) => {
            format!("Literal[{}]", c.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "))
        }
        (_, Value::Text | Value::Checked(..) | Value::None) => "str".into(),
    }
}

/// An argument's default as Python source, for the stubs.
fn py_default(arg: &Arg) -> String {
    match (arg.kind, arg.default, arg.value) {
        (ArgKind::Flag, _, _) => "False".into(),
        (_, None, _) => "None".into(),
        (_, Some(ms), Value::Millis) => match ms.parse::<u64>() {
            Ok(ms) => format!("{:?}", ms as f64 / 1000.0),
            Err(_) => "...".into(),
        },
        (_, Some(d), Value::Bits(_) | Value::Size) if d.chars().all(|c| c.is_ascii_alphanumeric()) => {
            if mmiodrv::value::parse_u64(d).is_ok() {
                d.to_string()
            } else {
                format!("{d:?}")
            }
        }
        (_, Some(d), _) => format!("{d:?}"),
    }
}

fn doc(c: &Command, indent: &str) -> String {
    let mut s = c.about.to_string();
    let args: Vec<&Arg> = c.args.iter().collect();
    if !args.is_empty() {
        s.push_str("\n\n");
        for a in args {
            let _ = writeln!(
                s,
                "{indent}{}: {}",
                py_name(a.name),
                a.help.replace("milliseconds", "seconds").replace("(exit status 8)", "(raises mmiodrv.TimeoutError)")
            );
        }
        s.push_str(indent);
    }
    s
}

fn class_name(path: &[&str]) -> String {
    let camel: String = path
        .iter()
        .flat_map(|p| p.split(['-', '_']))
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    format!("_{camel}Commands")
}

fn stub_class(out: &mut String, path: &[&str], level: &[Command]) {
    let mut nested = Vec::new();
    let _ = writeln!(out, "class {}:", class_name(path));
    for c in level {
        let name = py_name(c.name);
        if !c.subcommands.is_empty() {
            let mut sub = path.to_vec();
            sub.push(c.name);
            let _ = writeln!(out, "    {name}: {}", class_name(&sub));
            nested.push((sub, c.subcommands));
            continue;
        }
        let mut params = vec!["self".to_string()];
        let (pos, opt): (Vec<&Arg>, Vec<&Arg>) =
            c.args.iter().partition(|a| matches!(a.kind, ArgKind::Positional { .. }));
        for a in pos {
            match a.kind {
                ArgKind::Positional { required: true } => params.push(format!("{}: {}", py_name(a.name), py_type(a))),
                _ if a.default.is_some() => {
                    params.push(format!("{}: {} = {}", py_name(a.name), py_type(a), py_default(a)))
                }
                _ => params.push(format!("{}: {} | None = None", py_name(a.name), py_type(a))),
            }
        }
        if !opt.is_empty() {
            params.push("*".into());
        }
        for a in opt {
            match (a.kind, a.default) {
                (ArgKind::Option { required: true }, _) => params.push(format!("{}: {}", py_name(a.name), py_type(a))),
                (ArgKind::Flag, _) | (_, Some(_)) => {
                    params.push(format!("{}: {} = {}", py_name(a.name), py_type(a), py_default(a)))
                }
                _ => params.push(format!("{}: {} | None = None", py_name(a.name), py_type(a))),
            }
        }
        let _ = writeln!(out, "    def {name}({}) -> Any:", params.join(", "));
        let _ = writeln!(out, "        \"\"\"{}\"\"\"", doc(c, "        ").replace('\\', "\\\\"));
        let _ = writeln!(out, "        ...");
    }
    out.push('\n');
    for (sub, level) in nested {
        stub_class(out, &sub, level);
    }
}

/// The typed stubs of every driver's commands (`mmiodrv/_native.pyi` has them
/// between its `generated` markers; a test checks they match).
#[pyfunction]
pub fn _command_stubs() -> String {
    let mut out = String::new();
    for d in installed().iter().filter(|d| !d.commands().is_empty()) {
        stub_class(&mut out, &[d.name()], d.commands());
    }
    out.push_str("class _DriverCommands:\n");
    for d in installed().iter().filter(|d| !d.commands().is_empty()) {
        let _ = writeln!(out, "    {}: {}", py_name(d.name()), class_name(&[d.name()]));
    }
    out
}
