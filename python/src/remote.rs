//! `mmiodrv.open(device, host="lab1")`: a device in another machine, over
//! ssh (docs/remote.md). The far side is `mmiodrv --json batch -` there (the
//! pipe protocol, the same executor as every front end); each call sends
//! its line and returns what the line's JSON objects say, as the local
//! `Device` returns it; errors are the far side's, raised as the same
//! exception classes, their message naming the host. `run_many` sends many
//! lines before reading their replies (pipelining).
//!
//! Only what the pipe protocol carries is here: `run`, `read`, `write`,
//! `dump`, interrupts, DMA buffers, the built-in drivers' commands; `regs`
//! and `bar()` (mapped windows) are the local `Device`'s.

use std::sync::Mutex;
use std::time::Duration;

use mmiodrv::command::{ArgKind, Args, Command, Parsed};
use mmiodrv::drivers;
use mmiodrv::error::{Error, Result};
use mmiodrv::remote::{self, Call, Host, Pipe};
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::args;
use crate::commands::{collect, py_name};
use crate::errors::OrRaise;
use crate::interrupt::Interrupt;
use crate::json;

/// One word of a line, quoted when it must be.
fn word(w: &str) -> String {
    if !w.is_empty() && !w.chars().any(|c| c.is_whitespace() || "'\"\\#".contains(c)) {
        return w.to_string();
    }
    let mut q = String::from("\"");
    for c in w.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// A command's line from its parsed arguments (what was given; the far side
/// fills in the defaults).
fn line_of(path: &str, command: &Command, parsed: &Args) -> String {
    let mut words: Vec<String> = path.split(' ').map(str::to_string).collect();
    let text = |p: &Parsed| -> Vec<String> {
        match p {
            Parsed::Int(n) => vec![n.to_string()],
            Parsed::Path(p) => vec![p.display().to_string()],
            Parsed::Text(t) => vec![t.clone()],
            Parsed::List(l) => l.clone(),
            Parsed::Flag(_) | Parsed::Count(_) => Vec::new(),
        }
    };
    for arg in command.args.iter().filter(|a| parsed.given(a.name)) {
        let Some(value) = parsed.get(arg.name) else { continue };
        match (arg.kind, value) {
            (ArgKind::Positional { .. }, v) => words.extend(text(v)),
            (ArgKind::Flag, Parsed::Flag(true)) => words.push(format!("--{}", arg.name)),
            (ArgKind::Flag, _) => {}
            (ArgKind::Count, Parsed::Count(n)) => words.extend((0..*n).map(|_| format!("--{}", arg.name))),
            (_, v) => {
                for t in text(v) {
                    words.push(format!("--{}", arg.name));
                    words.push(t);
                }
            }
        }
    }
    words.iter().map(|w| word(w)).collect::<Vec<_>>().join(" ")
}

/// A device on another machine.
#[pyclass(module = "mmiodrv", frozen)]
pub struct RemoteDevice {
    name: String,
    host: String,
    pipe: Mutex<Option<Pipe>>,
}

/// Open `device` on `host` (see `mmiodrv.open`).
#[allow(clippy::too_many_arguments)]
pub fn open(
    py: Python<'_>,
    device: &str,
    host: &str,
    backend: &str,
    regmap: Option<std::path::PathBuf>,
    force: bool,
    block: Option<&str>,
    copy: bool,
) -> PyResult<RemoteDevice> {
    let host = Host::parse(host).or_raise(py, None)?;
    let mut args: Vec<String> =
        vec!["--device".into(), device.into(), "--json".into(), "--backend".into(), backend.into()];
    if force {
        args.push("--force".into());
    }
    if let Some(m) = regmap {
        args.extend(["--regmap".into(), m.display().to_string()]);
    }
    if let Some(b) = block {
        args.extend(["--block".into(), b.into()]);
    }
    // Every call is a line; one that fails does not end the session.
    args.extend(["batch".into(), "-".into(), "--keep-going".into()]);
    let binary = remote::binary_to_copy(None);
    let call = Call {
        host: host.clone(),
        args,
        env: Vec::new(),
        tty: false,
        script: Some("the calls".into()),
        key: remote::cache_key(binary.as_deref()),
    };
    let running = py
        .detach(|| {
            remote::connect(&call, copy, binary.as_deref(), &mut |host, place| {
                eprintln!(
                    "mmiodrv: {host} has no mmiodrv {}: copying {} to {place} there (copy=False refuses)",
                    remote::VERSION,
                    binary.as_deref().map(|b| b.display().to_string()).unwrap_or_default()
                )
            })
        })
        .or_raise(py, Some(device))?;
    Ok(RemoteDevice { name: device.to_string(), host: host.label, pipe: Mutex::new(Some(Pipe::new(running))) })
}

impl RemoteDevice {
    fn with<T>(&self, f: impl FnOnce(&mut Pipe) -> Result<T>) -> Result<T> {
        let mut guard = self.pipe.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(pipe) => f(pipe),
            None => Err(mmiodrv::ErrorKind::Gone { why: "closed".into() }.into()),
        }
    }

    /// Run `line` there: its JSON objects.
    fn line(&self, py: Python<'_>, line: &str) -> PyResult<Vec<serde_json::Value>> {
        let on = Some(self.name.as_str());
        py.detach(|| self.with(|p| p.run(line))).or_raise(py, on)
    }

    fn first(&self, py: Python<'_>, line: &str) -> PyResult<serde_json::Value> {
        let mut objects = self.line(py, line)?;
        if objects.is_empty() {
            return Err(Error::invalid(line.to_string(), "no result came back")).or_raise(py, Some(&self.name));
        }
        Ok(objects.remove(0))
    }
}

/// ` --NAME VALUE` when given.
fn opt(name: &str, value: Option<impl ToString>) -> String {
    value.map(|v| format!(" --{name} {}", word(&v.to_string()))).unwrap_or_default()
}

#[pymethods]
impl RemoteDevice {
    /// The device, as given.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The host, as given.
    #[getter]
    fn host(&self) -> &str {
        &self.host
    }

    /// Whether it was closed.
    #[getter]
    fn closed(&self) -> bool {
        self.pipe.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// One line of the session language there, as `Device.run`.
    fn run<'py>(&self, py: Python<'py>, line: &str) -> PyResult<Bound<'py, PyList>> {
        let objects = self.line(py, line)?;
        let items: Vec<Bound<'py, PyAny>> = objects.iter().map(|v| json::to_py(py, v)).collect::<PyResult<_>>()?;
        PyList::new(py, items)
    }

    /// Many lines, sent before their replies are read (pipelining): each
    /// line's list of results; the first line that failed raises, after
    /// every line ran (its exception's `line` is its index).
    fn run_many<'py>(&self, py: Python<'py>, lines: Vec<String>) -> PyResult<Bound<'py, PyList>> {
        let on = Some(self.name.as_str());
        let replies: Vec<Result<Vec<serde_json::Value>>> = py
            .detach(|| {
                self.with(|p| {
                    // All sent at once; the replies are read as they come.
                    let numbers = p.send_many(&lines)?;
                    Ok(numbers.map(|n| p.reply(n)).collect())
                })
            })
            .or_raise(py, on)?;
        let mut out = Vec::with_capacity(replies.len());
        let mut first_error = None;
        for (i, r) in replies.into_iter().enumerate() {
            match r {
                Ok(objects) => {
                    let items: Vec<Bound<'py, PyAny>> =
                        objects.iter().map(|v| json::to_py(py, v)).collect::<PyResult<_>>()?;
                    out.push(PyList::new(py, items)?.into_any());
                }
                Err(e) => {
                    if first_error.is_none() {
                        let err = crate::errors::to_py(py, &e, on);
                        err.value(py).setattr("line", i)?;
                        first_error = Some(err);
                    }
                    out.push(py.None().into_bound(py));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => PyList::new(py, out),
        }
    }

    /// Read a register, field or offset (as `Device.read`).
    #[pyo3(signature = (target, width = None, bar = None))]
    fn read(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        width: Option<&Bound<'_, PyAny>>,
        bar: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let (t, w, b) =
            (|| Ok((args::target(target)?, args::width(width)?, args::opt_small::<u8>(bar, "bar", 255)?)))()
                .or_raise(py, Some(&self.name))?;
        let line = format!("read {}{}{}", word(&t), opt("width", w.map(|w| w.bits())), opt("bar", b));
        let o = self.first(py, &line)?;
        o["value"].as_u64().ok_or_else(|| Error::invalid(line, "no value came back")).or_raise(py, Some(&self.name))
    }

    /// Write a register, field or offset (as `Device.write`).
    #[pyo3(signature = (target, value, width = None, bar = None))]
    fn write(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        width: Option<&Bound<'_, PyAny>>,
        bar: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (t, v, w, b) = (|| {
            Ok((
                args::target(target)?,
                args::operand(value, "value")?,
                args::width(width)?,
                args::opt_small::<u8>(bar, "bar", 255)?,
            ))
        })()
        .or_raise(py, Some(&self.name))?;
        // A number as hex, a name of one of the field's values as one word.
        let v = word(&v.to_string());
        self.line(py, &format!("write {} {v}{}{}", word(&t), opt("width", w.map(|w| w.bits())), opt("bar", b)))?;
        Ok(())
    }

    /// Every register of the map, as dicts (as `Device.dump`).
    #[pyo3(signature = (all = false, bar = None))]
    fn dump<'py>(&self, py: Python<'py>, all: bool, bar: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let b = args::opt_small::<u8>(bar, "bar", 255).or_raise(py, Some(&self.name))?;
        let o = self.first(py, &format!("dump-regs{}{}", if all { " --all" } else { "" }, opt("bar", b)))?;
        json::to_py(py, &o["registers"])
    }

    /// Arm interrupts there (as `Device.arm_irq`): (kind, vectors).
    #[pyo3(signature = (kind = None))]
    fn arm_irq(&self, py: Python<'_>, kind: Option<&str>) -> PyResult<(String, u32)> {
        let o = self.first(py, &format!("arm{}", opt("index", kind)))?;
        Ok((o["kind"].as_str().unwrap_or_default().to_string(), o["vectors"].as_u64().unwrap_or(0) as u32))
    }

    /// Wait there for an interrupt (as `Device.wait_irq`; Ctrl-C waits for the timeout).
    #[pyo3(signature = (timeout = None, vector = None, kind = None))]
    fn wait_irq(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
        vector: Option<&Bound<'_, PyAny>>,
        kind: Option<&str>,
    ) -> PyResult<Interrupt> {
        let (timeout, vector) = (|| {
            let timeout = match timeout {
                Some(t) if !t.is_none() => args::seconds(t, "timeout")?,
                _ => Duration::from_secs(1),
            };
            Ok((timeout, args::opt_small::<u32>(vector, "vector", u32::MAX as u64)?))
        })()
        .or_raise(py, Some(&self.name))?;
        let line = format!("wait-irq --timeout {}{}{}", timeout.as_millis(), opt("vector", vector), opt("index", kind));
        let o = self.first(py, &line)?;
        let e = &o["interrupts"][0];
        Ok(Interrupt {
            kind: e["kind"].as_str().unwrap_or_default().to_string(),
            vector: e["vector"].as_u64().unwrap_or(0) as u32,
            count: e["count"].as_u64().unwrap_or(0),
        })
    }

    /// A DMA buffer there (as `Device.dma_buffer`).
    #[pyo3(signature = (size, iova = None, mask_bits = None))]
    fn dma_buffer(
        slf: Bound<'_, Self>,
        size: &Bound<'_, PyAny>,
        iova: Option<&Bound<'_, PyAny>>,
        mask_bits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RemoteDmaBuffer> {
        let py = slf.py();
        let this = slf.get();
        let (size, iova, mask) = (|| {
            let size: u64 = args::small(size, "size", u64::MAX)?;
            let iova = iova.filter(|i| !i.is_none()).map(|i| args::uint(i, "iova")).transpose()?;
            Ok((size, iova, args::opt_small::<u32>(mask_bits, "mask_bits", 64)?))
        })()
        .or_raise(py, Some(&this.name))?;
        let o = this.first(
            py,
            &format!("dma alloc {size}{}{}", opt("iova", iova.map(|i| format!("{i:#x}"))), opt("mask-bits", mask)),
        )?;
        Ok(RemoteDmaBuffer {
            device: slf.clone().unbind(),
            buffer: o["buffer"].as_u64().unwrap_or(0),
            iova: o["iova"].as_u64().unwrap_or(0),
            size,
        })
    }

    /// End the session there: the far side lets the device go.
    fn close(&self, py: Python<'_>) {
        let pipe = self.pipe.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(p) = pipe {
            py.detach(|| {
                let _ = p.close();
            });
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// A built-in driver's commands, run there: `dev.edu.factorial(10)`.
    fn __getattr__(slf: Bound<'_, Self>, name: &str) -> PyResult<RemoteCommands> {
        match drivers::installed().iter().find(|d| !d.commands().is_empty() && py_name(d.name()) == name) {
            Some(d) => Ok(RemoteCommands { device: slf.unbind(), path: d.name().to_string(), level: d.commands() }),
            None => Err(PyAttributeError::new_err(format!("'RemoteDevice' object has no attribute '{name}'"))),
        }
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { ", closed" } else { "" };
        format!("<mmiodrv.RemoteDevice {} on {}{state}>", self.name, self.host)
    }
}

/// A DMA buffer on a remote device.
#[pyclass(module = "mmiodrv", frozen)]
pub struct RemoteDmaBuffer {
    device: Py<RemoteDevice>,
    buffer: u64,
    /// The IOVA the device uses.
    #[pyo3(get)]
    iova: u64,
    /// Bytes.
    #[pyo3(get)]
    size: u64,
}

#[pymethods]
impl RemoteDmaBuffer {
    /// `n` bytes from `offset`.
    fn read_bytes<'py>(&self, py: Python<'py>, offset: u64, n: u64) -> PyResult<Bound<'py, PyBytes>> {
        let d = self.device.get();
        let o = d.first(py, &format!("dma read {offset:#x} {n} --buffer {}", self.buffer))?;
        let hex = o["hex"].as_str().unwrap_or_default();
        let bytes = mmiodrv::value::parse_hex_bytes(hex).or_raise(py, Some(&d.name))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Put `data` at `offset`.
    fn write_bytes(&self, py: Python<'_>, offset: u64, data: &[u8]) -> PyResult<()> {
        let d = self.device.get();
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        d.line(py, &format!("dma write {offset:#x} --hex {hex} --buffer {}", self.buffer))?;
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("<mmiodrv.RemoteDmaBuffer {} at IOVA {:#x}, {} bytes>", self.buffer, self.iova, self.size)
    }
}

/// A driver's commands (or a group's) on a remote device.
#[pyclass(module = "mmiodrv", frozen)]
pub struct RemoteCommands {
    device: Py<RemoteDevice>,
    path: String,
    level: &'static [Command],
}

#[pymethods]
impl RemoteCommands {
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let Some(c) = self.level.iter().find(|c| py_name(c.name) == name) else {
            return Err(PyAttributeError::new_err(format!("{} has no command {name}", self.path)));
        };
        let path = format!("{} {}", self.path, c.name);
        let device = self.device.clone_ref(py);
        if c.subcommands.is_empty() {
            Ok(Py::new(py, RemoteCommandFn { device, path, command: c })?.into_any())
        } else {
            Ok(Py::new(py, RemoteCommands { device, path, level: c.subcommands })?.into_any())
        }
    }
}

/// One driver command on a remote device, called like a function.
#[pyclass(module = "mmiodrv", frozen)]
pub struct RemoteCommandFn {
    device: Py<RemoteDevice>,
    path: String,
    command: &'static Command,
}

#[pymethods]
impl RemoteCommandFn {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.device.get();
        let parsed = collect(self.command, args, kwargs).or_raise(py, Some(&d.name))?;
        let objects = d.line(py, &line_of(&self.path, self.command, &parsed))?;
        let mut items: Vec<Bound<'py, PyAny>> = objects.iter().map(|v| json::to_py(py, v)).collect::<PyResult<_>>()?;
        // Without "schema" and "op", as the local commands return them.
        for item in &items {
            if let Ok(dict) = item.cast::<PyDict>() {
                let _ = dict.del_item("schema");
                let _ = dict.del_item("op");
            }
        }
        Ok(match items.len() {
            0 => py.None().into_bound(py),
            1 => items.remove(0),
            _ => PyList::new(py, items)?.into_any(),
        })
    }
}
