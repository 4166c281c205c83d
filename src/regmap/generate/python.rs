//! Typed Python classes over the `mmiodrv` module, and their stubs:
//!
//! ```python
//! import edu_regs
//! with edu_regs.open("0000:00:04.0") as dev:   # any mmiodrv.open() arguments
//!     dev.regs.ID.MAGIC                        # one read of ID
//!     dev.regs.DMA_CMD.DIRECTION = edu_regs.DMA_CMD_DIRECTION.device_to_RAM
//!     dev.regs.LIVENESS.value = 0x1234         # one write
//! ```
//!
//! Each register is a class with its `NAME`, `OFFSET` and `WIDTH`, its
//! fields as attributes (reading one is one read of the register, setting
//! one a read-modify-write, through `Device.read`/`Device.write` by name:
//! the library's checks apply), and `value`. Named values are `IntEnum`s. A
//! map of several blocks has one attribute per block (`dev.regs.DMA1.CTRL`).
//! Classes have `__slots__`, so a misspelt field is an `AttributeError`,
//! never a new attribute. The `.pyi` says the same to editors and mypy.

use std::fmt::Write;

use super::{banner, identifier, split_name};
use crate::regmap::model::{Register, RegisterMap};

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "value", "regs",
];

/// A Python identifier for a name of the map.
fn py(name: &str) -> String {
    let id = identifier(name);
    if KEYWORDS.contains(&id.as_str()) || id.starts_with('_') && !name.starts_with('_') {
        format!("{id}_")
    } else {
        id
    }
}

/// A Python string literal.
fn string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32 & 0xff);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A register's class name: `ID`, or `DMA1_CH_1__SRC` in a map of blocks.
fn class_name(r: &Register) -> String {
    match split_name(&r.name) {
        (Some(b), reg) => format!("{}_{}", py(b), py(reg)),
        (None, reg) => py(reg),
    }
}

/// The enum class of a field's named values, if it has some.
fn enum_name(r: &Register, field: &str) -> String {
    format!("{}_{}", class_name(r), py(field))
}

/// Enum members: identifiers, unique.
fn members(values: &[(u64, crate::regmap::model::Text)]) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for (v, n) in values {
        let id = py(n);
        if !out.iter().any(|(m, _)| *m == id) {
            out.push((id, *v));
        }
    }
    out
}

/// The module (`.py`) and its stubs (`.pyi`).
pub fn module(map: &RegisterMap, origin: &str) -> (String, String) {
    let mut s = String::new();
    let mut t = String::new();
    let head = format!("# {}\n", banner(origin));
    let doc = format!(
        "\"\"\"Registers of {} (BAR{}) as typed classes over mmiodrv.\n\n    import {}\n    with {}.open(\"0000:00:04.0\") as dev:  # mmiodrv.open()'s arguments\n        dev.regs.REGISTER.FIELD        # one read\n        dev.regs.REGISTER.FIELD = 1    # read-modify-write\n\"\"\"\n",
        map.name,
        map.bar,
        py(&map.name).to_lowercase(),
        py(&map.name).to_lowercase()
    );
    s.push_str(&head);
    s.push_str(&doc);
    s.push_str(PRELUDE);
    let _ = writeln!(s, "BAR = {}\n", map.bar);
    t.push_str(&head);
    t.push_str(STUB_PRELUDE);
    let _ = writeln!(t, "BAR: int\n");
    for r in map.registers.iter() {
        let cls = class_name(r);
        for f in r.fields.iter().filter(|f| !f.values.is_empty()) {
            let en = enum_name(r, &f.name);
            let _ = writeln!(s, "\nclass {en}(enum.IntEnum):");
            let _ = writeln!(t, "\nclass {en}(enum.IntEnum):");
            for (m, v) in members(&f.values) {
                let _ = writeln!(s, "    {m} = {v:#x}");
                let _ = writeln!(t, "    {m} = {v:#x}");
            }
        }
        let _ = writeln!(s, "\n\nclass {cls}(_Register):");
        let _ = writeln!(t, "\nclass {cls}(_Register):");
        let _ = writeln!(
            s,
            "    {}",
            string(&format!("{}", if r.description.is_empty() { &r.name } else { &r.description }))
        );
        let _ = writeln!(s, "    __slots__ = ()");
        let _ = writeln!(
            s,
            "    NAME = {}\n    OFFSET = {:#x}\n    WIDTH = {}\n    ACCESS = {}",
            string(&r.name),
            r.offset,
            r.width.bits(),
            string(&format!("{:?}", r.access))
        );
        let _ = writeln!(t, "    NAME: str\n    OFFSET: int\n    WIDTH: int\n    ACCESS: str");
        let mut fields: Vec<_> = r.fields.iter().collect();
        fields.sort_by_key(|f| std::cmp::Reverse(f.lsb));
        for f in fields {
            let en = if f.values.is_empty() { "None".to_string() } else { enum_name(r, &f.name) };
            let _ = writeln!(s, "    {} = _Field({}, {}, {}, {en})", py(&f.name), string(&f.name), f.msb, f.lsb);
            let ty = if f.values.is_empty() { "int".to_string() } else { format!("{en} | int") };
            let _ = writeln!(t, "    {}: _FieldOf[{ty}]", py(&f.name));
        }
    }
    // Blocks, then the registers object.
    let blocks: Vec<&str> = map.blocks.iter().filter(|_| map.blocks.len() > 1).map(|b| b.name.as_ref()).collect();
    for b in &blocks {
        let regs: Vec<&Register> =
            map.registers.iter().filter(|r| split_name(&r.name).0.is_some_and(|x| x == *b)).collect();
        write_holder(
            &mut s,
            &mut t,
            &format!("{}_Block", py(b)),
            &format!("Block {b}"),
            regs.iter().map(|r| (py(split_name(&r.name).1), class_name(r))),
        );
    }
    if blocks.is_empty() {
        write_holder(
            &mut s,
            &mut t,
            "Regs",
            &format!("The registers of {}", map.name),
            map.registers.iter().map(|r| (py(&r.name), class_name(r))),
        );
    } else {
        write_holder(
            &mut s,
            &mut t,
            "Regs",
            &format!("The blocks of {}", map.name),
            blocks.iter().map(|b| (py(b), format!("{}_Block", py(b)))),
        );
    }
    s.push_str(DEVICE);
    t.push_str(STUB_DEVICE);
    (s, t)
}

/// A class holding registers or blocks as slots, made from the device.
fn write_holder(
    s: &mut String,
    t: &mut String,
    name: &str,
    doc: &str,
    members: impl Iterator<Item = (String, String)>,
) {
    let members: Vec<(String, String)> = members.collect();
    let _ = writeln!(s, "\n\nclass {name}:\n    {}", string(doc));
    let slots: Vec<String> = members.iter().map(|(m, _)| string(m)).collect();
    let _ = writeln!(s, "    __slots__ = ({}{})", slots.join(", "), if slots.len() == 1 { "," } else { "" });
    let _ = writeln!(s, "\n    def __init__(self, dev: mmiodrv.Device) -> None:");
    if members.is_empty() {
        let _ = writeln!(s, "        pass");
    }
    for (m, cls) in &members {
        let _ = writeln!(s, "        self.{m} = {cls}(dev)");
    }
    let _ = writeln!(t, "\nclass {name}:");
    for (m, cls) in &members {
        let _ = writeln!(t, "    {m}: {cls}");
    }
    let _ = writeln!(t, "    def __init__(self, dev: mmiodrv.Device) -> None: ...");
}

const PRELUDE: &str = r#"
from __future__ import annotations

import enum
from typing import Any, Optional

import mmiodrv


class _Field:
    """A field: reading it is one read of its register, setting it a
    read-modify-write that leaves the other fields as they are."""

    __slots__ = ("name", "msb", "lsb", "values")

    def __init__(self, name: str, msb: int, lsb: int, values: Optional[type] = None) -> None:
        self.name, self.msb, self.lsb, self.values = name, msb, lsb, values

    def __get__(self, reg: Optional["_Register"], owner: Any = None) -> Any:
        if reg is None:
            return self
        v = reg._dev.read(reg.NAME + "." + self.name, bar=BAR)
        if self.values is not None:
            try:
                return self.values(v)
            except ValueError:
                return v
        return v

    def __set__(self, reg: "_Register", value: int) -> None:
        reg._dev.write(reg.NAME + "." + self.name, int(value), bar=BAR)


class _Register:
    """A register: `value` reads or writes it whole; its fields are attributes."""

    __slots__ = ("_dev",)
    NAME = ""
    OFFSET = 0
    WIDTH = 32
    ACCESS = "RW"

    def __init__(self, dev: mmiodrv.Device) -> None:
        self._dev = dev

    @property
    def value(self) -> int:
        return self._dev.read(self.NAME, bar=BAR)

    @value.setter
    def value(self, v: int) -> None:
        self._dev.write(self.NAME, int(v), bar=BAR)

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return "<%s @ %#x>" % (self.NAME, self.OFFSET)

"#;

const STUB_PRELUDE: &str = r#"from __future__ import annotations

import enum
from typing import Any, Generic, TypeVar, overload

import mmiodrv

_T = TypeVar("_T")

class _FieldOf(Generic[_T]):
    @overload
    def __get__(self, reg: None, owner: Any = None) -> _FieldOf[_T]: ...
    @overload
    def __get__(self, reg: _Register, owner: Any = None) -> _T: ...
    def __set__(self, reg: _Register, value: int) -> None: ...

class _Register:
    NAME: str
    OFFSET: int
    WIDTH: int
    ACCESS: str
    def __init__(self, dev: mmiodrv.Device) -> None: ...
    @property
    def value(self) -> int: ...
    @value.setter
    def value(self, v: int) -> None: ...
    def __int__(self) -> int: ...
"#;

const DEVICE: &str = r#"

class Device:
    """An opened mmiodrv.Device with typed registers in `regs`; everything
    else is the device's own (read, write, dump, commands...)."""

    def __init__(self, dev: mmiodrv.Device) -> None:
        self._dev = dev
        self.regs = Regs(dev)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dev, name)

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._dev.close()


def open(device: str, **kwargs: Any) -> Device:
    """mmiodrv.open(device, **kwargs), with typed registers."""
    return Device(mmiodrv.open(device, **kwargs))
"#;

const STUB_DEVICE: &str = r#"
class Device:
    regs: Regs
    def __init__(self, dev: mmiodrv.Device) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    def __enter__(self) -> Device: ...
    def __exit__(self, *exc: Any) -> None: ...

def open(device: str, **kwargs: Any) -> Device: ...
"#;
