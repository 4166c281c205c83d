//! `regmap convert --to FORMAT`: a map file written in another format, every
//! block kept at its base. What the target format cannot express is listed
//! in [`Written::lost`] (said to the user), never dropped silently:
//!
//! | | TOML | CMSIS-SVD | IP-XACT 2014 | SystemRDL | JSON |
//! | --- | --- | --- | --- | --- | --- |
//! | split registers (access width, word order) | yes | no | no | yes (`accesswidth`, `bigendian` per block) | yes |
//! | no-access (`NA`) | yes | no | no | yes | yes |
//! | read action `modifyExternal` | yes | yes | no | no | yes |
//! | names with `[N]`, value names with spaces | yes | yes | made identifiers (`displayName` keeps a value's) | made identifiers (`name` keeps a value's) | yes |
//! | access ranges (`[[access]]`), BAR | yes | no | no | no | no |
//!
//! JSON is the normalized reading (tests/data/README.md), what `regmap show
//! --json` prints: a format for programs, not read back by mmiodrv.

use std::fmt::Write;

use crate::regmap::formats::reading::{self, register_reset};
use crate::regmap::formats::MapFile;
use crate::regmap::model::{Access, Field, ReadAction, Register, RegisterMap, WordOrder, WriteSemantics};

/// The formats a map converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// mmiodrv's TOML.
    Toml,
    /// CMSIS-SVD 1.3.
    Svd,
    /// IP-XACT IEEE 1685-2014.
    IpXact,
    /// SystemRDL 2.0.
    SystemRdl,
    /// The normalized reading as JSON.
    Json,
}

impl Target {
    /// From its name on the command line (`toml`, `svd`, `ipxact`, `systemrdl`, `json`).
    pub fn from_name(name: &str) -> Option<Target> {
        Some(match name {
            "toml" => Target::Toml,
            "svd" => Target::Svd,
            "ipxact" => Target::IpXact,
            "systemrdl" | "rdl" => Target::SystemRdl,
            "json" => Target::Json,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Target::Toml => "toml",
            Target::Svd => "svd",
            Target::IpXact => "ipxact",
            Target::SystemRdl => "systemrdl",
            Target::Json => "json",
        }
    }
}

/// A converted map: its text, and what the format could not say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The file's text.
    pub text: String,
    /// What was lost, one sentence each (deduplicated, in order found).
    pub lost: Vec<String>,
}

impl Written {
    fn lose(&mut self, what: String) {
        if !self.lost.contains(&what) && self.lost.len() < 100 {
            self.lost.push(what);
        }
    }
}

/// `file` (every block, or only `block`) written as `to`.
pub fn convert(file: &MapFile, block: Option<&str>, to: Target) -> crate::Result<Written> {
    let blocks: Vec<&RegisterMap> = match block {
        Some(name) => vec![file.block(Some(name))?],
        None => file.blocks.iter().collect(),
    };
    let origin = format!("{} ({})", file.source, file.format.name());
    let name = match &blocks[..] {
        [one] if block.is_some() || file.blocks.len() == 1 => one.name.to_string(),
        _ => file.name.clone(),
    };
    let name = if crate::regmap::loader::is_name(&name) { name } else { identifier(&name) };
    let mut w = Written::default();
    if to != Target::Toml && to != Target::Json && file.at != 0 {
        w.lose(format!("the placement at {:#x} (TOML's [device] at)", file.at));
    }
    if !matches!(to, Target::Toml | Target::Json) && blocks.iter().any(|b| !b.rules.is_empty() || b.bar != 0) {
        w.lose("the BAR and the access ranges (TOML's bar and [[access]]): the format has no place for them".into());
    }
    match to {
        Target::Toml => w.text = crate::regmap::formats::toml_out::file_to_toml(&name, file.at, &blocks, &origin),
        Target::Json => {
            let sub = MapFile { blocks: blocks.iter().map(|b| (*b).clone()).collect(), ..file.clone() };
            w.text = serde_json::to_string_pretty(&reading::reading(&sub)).unwrap_or_default() + "\n";
        }
        Target::Svd => svd(&mut w, &name, &blocks, &origin),
        Target::IpXact => ipxact(&mut w, &name, &blocks, &origin),
        Target::SystemRdl => systemrdl(&mut w, &name, &blocks, &origin),
    }
    Ok(w)
}

/// XML text.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A name made an identifier (`CH[1]_SRC` → `CH_1__SRC`, `RAM to device` → `RAM_to_device`).
pub fn identifier(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The reset of a register and the bits it defines.
fn reset_of(r: &Register) -> Option<(u64, u64)> {
    let mask = r.reset_mask();
    register_reset(r).filter(|_| mask != 0).map(|v| (v & mask, mask))
}

/// A register's fields as a format that needs some writes them: its own,
/// or one of all its bits named like it (what the readers give back).
fn fields_of(r: &Register) -> Vec<Field> {
    if !r.fields.is_empty() {
        let implied_clear = r.read_side_effects && r.fields.iter().all(|f| f.read_action == ReadAction::None);
        return r
            .fields
            .iter()
            .map(|f| Field {
                access: Some(r.field_access(f)),
                write: r.field_write(f),
                read_action: if implied_clear { ReadAction::Clear } else { f.read_action },
                ..f.clone()
            })
            .collect();
    }
    let write = if r.access == Access::RW1C { WriteSemantics::OneToClear } else { WriteSemantics::Normal };
    let read = if r.read_side_effects { ReadAction::Clear } else { ReadAction::None };
    let mut f = crate::regmap::formats::implicit_field(r, r.reset, read, write);
    f.access = Some(if r.access == Access::RW1C { Access::RW } else { r.access });
    vec![f]
}

/// What every writer but TOML and JSON checks: split registers.
fn split(w: &mut Written, format: &str, b: &RegisterMap, r: &Register) {
    if r.access_width != r.width {
        w.lose(format!(
            "{format} has no access width: {}.{} ({}, taken as {} accesses, {} word first) is written as one {} register",
            b.name,
            r.name,
            r.width,
            r.access_width,
            if r.word_order == WordOrder::Big { "most significant" } else { "least significant" },
            r.width
        ));
    }
}

/// An access as CMSIS-SVD and IP-XACT both spell it (`None`: no access, which
/// neither file says with this word).
fn xml_access(a: Access) -> Option<&'static str> {
    Some(match a {
        Access::RO => "read-only",
        Access::WO => "write-only",
        Access::RW | Access::RW1C => "read-write",
        Access::W1 => "writeOnce",
        Access::RW1 => "read-writeOnce",
        Access::NA => return None,
    })
}

fn svd(w: &mut Written, name: &str, blocks: &[&RegisterMap], origin: &str) {
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    let _ = writeln!(s, "<!-- Converted by mmiodrv from {} -->", xml(origin).replace("--", "- -"));
    let _ = writeln!(
        s,
        "<device schemaVersion=\"1.3\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema-instance\" xs:noNamespaceSchemaLocation=\"CMSIS-SVD.xsd\">"
    );
    let _ = writeln!(s, "  <vendor>mmiodrv</vendor>\n  <name>{}</name>\n  <version>1.0</version>", xml(name));
    let desc = blocks.first().map(|b| b.description.to_string()).filter(|d| !d.is_empty() && blocks.len() == 1);
    let _ = writeln!(s, "  <description>{}</description>", xml(desc.as_deref().unwrap_or(name)));
    let _ = writeln!(s, "  <addressUnitBits>8</addressUnitBits>\n  <width>32</width>\n  <peripherals>");
    for b in blocks {
        let _ = writeln!(s, "    <peripheral>\n      <name>{}</name>", xml(&b.name));
        if !b.description.is_empty() {
            let _ = writeln!(s, "      <description>{}</description>", xml(&b.description));
        }
        let span = b.registers.iter().map(Register::end).max().unwrap_or(4).max(4);
        let _ = writeln!(s, "      <baseAddress>{:#x}</baseAddress>", b.base);
        let _ = writeln!(
            s,
            "      <addressBlock>\n        <offset>0x0</offset>\n        <size>{span:#x}</size>\n        <usage>registers</usage>\n      </addressBlock>"
        );
        let _ = writeln!(s, "      <registers>");
        for r in b.registers.iter() {
            split(w, "CMSIS-SVD", b, r);
            let _ = writeln!(s, "        <register>\n          <name>{}</name>", xml(&r.name));
            if !r.description.is_empty() {
                let _ = writeln!(s, "          <description>{}</description>", xml(&r.description));
            }
            let _ = writeln!(
                s,
                "          <addressOffset>{:#x}</addressOffset>\n          <size>{}</size>",
                r.offset,
                r.width.bits()
            );
            match xml_access(r.access) {
                Some(a) => {
                    let _ = writeln!(s, "          <access>{a}</access>");
                }
                None => w.lose(format!("CMSIS-SVD has no no-access: {}.{} is written read-only", b.name, r.name)),
            }
            if r.access == Access::NA {
                let _ = writeln!(s, "          <access>read-only</access>");
            }
            match reset_of(r) {
                Some((v, m)) => {
                    let _ = writeln!(
                        s,
                        "          <resetValue>{v:#x}</resetValue>\n          <resetMask>{m:#x}</resetMask>"
                    );
                }
                None => {
                    let _ = writeln!(s, "          <resetMask>0x0</resetMask>");
                }
            }
            let _ = writeln!(s, "          <fields>");
            for f in fields_of(r) {
                let _ = writeln!(s, "            <field>\n              <name>{}</name>", xml(&f.name));
                if !f.description.is_empty() {
                    let _ = writeln!(s, "              <description>{}</description>", xml(&f.description));
                }
                let _ = writeln!(s, "              <bitRange>[{}:{}]</bitRange>", f.msb, f.lsb);
                let access = f.access.unwrap_or(r.access);
                match xml_access(access) {
                    Some(a) => {
                        let _ = writeln!(s, "              <access>{a}</access>");
                    }
                    None => {
                        w.lose(format!(
                            "CMSIS-SVD has no no-access: {}.{}.{} is written read-only",
                            b.name, r.name, f.name
                        ));
                        let _ = writeln!(s, "              <access>read-only</access>");
                    }
                }
                if f.write != WriteSemantics::Normal {
                    let _ = writeln!(
                        s,
                        "              <modifiedWriteValues>{}</modifiedWriteValues>",
                        f.write.reading_name()
                    );
                }
                if f.read_action != ReadAction::None {
                    let _ = writeln!(s, "              <readAction>{}</readAction>", f.read_action.reading_name());
                }
                if !f.values.is_empty() {
                    let _ = writeln!(s, "              <enumeratedValues>");
                    for (v, n) in f.values.iter() {
                        let _ = writeln!(
                            s,
                            "                <enumeratedValue>\n                  <name>{}</name>\n                  <value>{v:#x}</value>\n                </enumeratedValue>",
                            xml(n)
                        );
                    }
                    let _ = writeln!(s, "              </enumeratedValues>");
                }
                let _ = writeln!(s, "            </field>");
            }
            let _ = writeln!(s, "          </fields>\n        </register>");
        }
        let _ = writeln!(s, "      </registers>\n    </peripheral>");
    }
    let _ = writeln!(s, "  </peripherals>\n</device>");
    w.text = s;
}

fn ipxact(w: &mut Written, name: &str, blocks: &[&RegisterMap], origin: &str) {
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(s, "<!-- Converted by mmiodrv from {} -->", xml(origin).replace("--", "- -"));
    let _ = writeln!(
        s,
        "<ipxact:component xmlns:ipxact=\"http://www.accellera.org/XMLSchema/IPXACT/1685-2014\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.accellera.org/XMLSchema/IPXACT/1685-2014 http://www.accellera.org/XMLSchema/IPXACT/1685-2014/index.xsd\">"
    );
    let _ = writeln!(
        s,
        "  <ipxact:vendor>mmiodrv</ipxact:vendor>\n  <ipxact:library>converted</ipxact:library>\n  <ipxact:name>{}</ipxact:name>\n  <ipxact:version>1.0</ipxact:version>",
        xml(name)
    );
    let _ =
        writeln!(s, "  <ipxact:memoryMaps>\n    <ipxact:memoryMap>\n      <ipxact:name>{}</ipxact:name>", xml(name));
    for b in blocks {
        let bname = id_name(w, "IP-XACT", "block", &b.name);
        let _ = writeln!(s, "      <ipxact:addressBlock>\n        <ipxact:name>{bname}</ipxact:name>");
        if !b.description.is_empty() {
            let _ = writeln!(s, "        <ipxact:description>{}</ipxact:description>", xml(&b.description));
        }
        let span = b.registers.iter().map(Register::end).max().unwrap_or(4).max(4);
        let range = b.size.filter(|s| *s >= span && b.base == 0).unwrap_or(span);
        let _ = writeln!(
            s,
            "        <ipxact:baseAddress>'h{:x}</ipxact:baseAddress>\n        <ipxact:range>'h{range:x}</ipxact:range>\n        <ipxact:width>32</ipxact:width>",
            b.base
        );
        for r in b.registers.iter() {
            split(w, "IP-XACT", b, r);
            let rname = id_name(w, "IP-XACT", "register", &r.name);
            let _ = writeln!(s, "        <ipxact:register>\n          <ipxact:name>{rname}</ipxact:name>");
            if !r.description.is_empty() {
                let _ = writeln!(s, "          <ipxact:description>{}</ipxact:description>", xml(&r.description));
            }
            let _ = writeln!(
                s,
                "          <ipxact:addressOffset>'h{:x}</ipxact:addressOffset>\n          <ipxact:size>{}</ipxact:size>",
                r.offset,
                r.width.bits()
            );
            match xml_access(r.access) {
                Some(a) => {
                    let _ = writeln!(s, "          <ipxact:access>{a}</ipxact:access>");
                }
                None => w.lose(format!(
                    "IP-XACT 2014 has no no-access (2022 has): {}.{} is written without an access",
                    b.name, r.name
                )),
            }
            let reset = reset_of(r);
            for f in fields_of(r) {
                let fname = id_name(w, "IP-XACT", "field", &f.name);
                let _ = writeln!(s, "          <ipxact:field>\n            <ipxact:name>{fname}</ipxact:name>");
                if !f.description.is_empty() {
                    let _ = writeln!(s, "            <ipxact:description>{}</ipxact:description>", xml(&f.description));
                }
                let _ = writeln!(s, "            <ipxact:bitOffset>{}</ipxact:bitOffset>", f.lsb);
                let fmask = f.max_value();
                let field_reset = f.reset.or_else(|| {
                    let (v, m) = reset?;
                    ((m >> f.lsb) & fmask == fmask).then_some((v >> f.lsb) & fmask)
                });
                if let Some(v) = field_reset {
                    let _ = writeln!(
                        s,
                        "            <ipxact:resets><ipxact:reset><ipxact:value>'h{v:x}</ipxact:value></ipxact:reset></ipxact:resets>"
                    );
                }
                let _ = writeln!(s, "            <ipxact:bitWidth>{}</ipxact:bitWidth>", f.bits());
                let access = f.access.unwrap_or(r.access);
                match xml_access(access) {
                    Some(a) => {
                        let _ = writeln!(s, "            <ipxact:access>{a}</ipxact:access>");
                    }
                    None => w.lose(format!(
                        "IP-XACT 2014 has no no-access: {}.{}.{} is written with the register's access",
                        b.name, r.name, f.name
                    )),
                }
                if !f.values.is_empty() {
                    let _ = writeln!(s, "            <ipxact:enumeratedValues>");
                    for (v, n) in f.values.iter() {
                        let _ = writeln!(
                            s,
                            "              <ipxact:enumeratedValue>\n                <ipxact:name>{}</ipxact:name>\n                <ipxact:displayName>{}</ipxact:displayName>\n                <ipxact:value>'h{v:x}</ipxact:value>\n              </ipxact:enumeratedValue>",
                            id_name(w, "IP-XACT", "value name", n),
                            xml(n)
                        );
                    }
                    let _ = writeln!(s, "            </ipxact:enumeratedValues>");
                }
                if f.write != WriteSemantics::Normal {
                    let _ = writeln!(
                        s,
                        "            <ipxact:modifiedWriteValue>{}</ipxact:modifiedWriteValue>",
                        f.write.reading_name()
                    );
                }
                match f.read_action {
                    ReadAction::None => {}
                    ReadAction::ModifyExternal => w.lose(format!(
                        "IP-XACT has no readAction modifyExternal: {}.{}.{} is written without it",
                        b.name, r.name, f.name
                    )),
                    a => {
                        let _ = writeln!(s, "            <ipxact:readAction>{}</ipxact:readAction>", a.reading_name());
                    }
                }
                let _ = writeln!(s, "          </ipxact:field>");
            }
            let _ = writeln!(s, "        </ipxact:register>");
        }
        let _ = writeln!(s, "      </ipxact:addressBlock>");
    }
    let _ = writeln!(s, "      <ipxact:addressUnitBits>8</ipxact:addressUnitBits>");
    let _ = writeln!(s, "    </ipxact:memoryMap>\n  </ipxact:memoryMaps>\n</ipxact:component>");
    w.text = s;
}

/// A SystemRDL string.
fn rdl_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn rdl_access(a: Access) -> &'static str {
    match a {
        Access::RO => "r",
        Access::WO => "w",
        Access::RW | Access::RW1C => "rw",
        Access::W1 => "w1",
        Access::RW1 => "rw1",
        Access::NA => "na",
    }
}

fn rdl_onwrite(w: WriteSemantics) -> Option<&'static str> {
    Some(match w {
        WriteSemantics::Normal => return None,
        WriteSemantics::OneToClear => "woclr",
        WriteSemantics::OneToSet => "woset",
        WriteSemantics::OneToToggle => "wot",
        WriteSemantics::ZeroToClear => "wzc",
        WriteSemantics::ZeroToSet => "wzs",
        WriteSemantics::ZeroToToggle => "wzt",
        WriteSemantics::Clear => "wclr",
        WriteSemantics::Set => "wset",
        WriteSemantics::Modify => "wuser",
    })
}

/// A name as an identifier of `format`, the change said once.
fn id_name(w: &mut Written, format: &str, what: &str, name: &str) -> String {
    let id = identifier(name);
    if id != name {
        w.lose(format!("{format} names are identifiers: {what} '{name}' is written '{id}'"));
    }
    id
}

fn rdl_name(w: &mut Written, what: &str, name: &str) -> String {
    id_name(w, "SystemRDL", what, name)
}

fn systemrdl(w: &mut Written, name: &str, blocks: &[&RegisterMap], origin: &str) {
    let mut enums = String::new();
    let mut body = String::new();
    // One block at 0 is the top address map; else each is one inside it.
    let one = blocks.len() == 1 && blocks[0].base == 0;
    let top = identifier(if one { &blocks[0].name } else { name });
    for b in blocks {
        let indent = if one { "    " } else { "        " };
        if b.registers.is_empty() {
            w.lose(format!("SystemRDL has no empty address map: block {} (no registers) is left out", b.name));
            continue;
        }
        let mut regs = String::new();
        let big = b.registers.iter().filter(|r| r.access_width != r.width).map(|r| r.word_order).collect::<Vec<_>>();
        let bigendian = !big.is_empty() && big.iter().all(|o| *o == WordOrder::Big);
        if big.contains(&WordOrder::Big) && !bigendian {
            w.lose(format!(
                "SystemRDL's word order is one per address map: block {} mixes both, written little-endian",
                b.name
            ));
        }
        for r in b.registers.iter() {
            let rname = rdl_name(w, "register", &r.name);
            let _ = writeln!(regs, "{indent}reg {{");
            let _ = writeln!(regs, "{indent}    regwidth = {};", r.width.bits());
            if r.access_width != r.width {
                let _ = writeln!(regs, "{indent}    accesswidth = {};", r.access_width.bits());
            }
            if !r.description.is_empty() {
                let _ = writeln!(regs, "{indent}    desc = {};", rdl_string(&r.description));
            }
            let reset = reset_of(r);
            for f in fields_of(r) {
                let fname = rdl_name(w, "field", &f.name);
                let access = f.access.unwrap_or(r.access);
                let mut props = vec![format!("sw = {}", rdl_access(access))];
                // A field software only reads is one hardware writes.
                props.push(if access.writable() { "hw = r".into() } else { "hw = w".into() });
                if let Some(ow) = rdl_onwrite(f.write) {
                    props.push(format!("onwrite = {ow}"));
                }
                match f.read_action {
                    ReadAction::None => {}
                    ReadAction::Clear => props.push("onread = rclr".into()),
                    ReadAction::Set => props.push("onread = rset".into()),
                    ReadAction::Modify => props.push("onread = ruser".into()),
                    ReadAction::ModifyExternal => w.lose(format!(
                        "SystemRDL has no read action modifyExternal: {}.{}.{} is written without it",
                        b.name, r.name, f.name
                    )),
                }
                if !f.description.is_empty() {
                    props.push(format!("desc = {}", rdl_string(&f.description)));
                }
                if !f.values.is_empty() {
                    let ename = format!("{}_{}_{}_e", identifier(&b.name), identifier(&r.name), identifier(&f.name));
                    let _ = writeln!(enums, "enum {ename} {{");
                    let mut seen = Vec::new();
                    for (v, n) in f.values.iter() {
                        let id = rdl_name(w, "value name", n);
                        if seen.contains(&id) || seen.len() >= 4096 {
                            w.lose(format!(
                                "SystemRDL enum members are unique: {}.{}.{} value {v:#x} '{n}' is left out",
                                b.name, r.name, f.name
                            ));
                            continue;
                        }
                        let _ = writeln!(enums, "    {id} = {v:#x} {{ name = {}; }};", rdl_string(n));
                        seen.push(id);
                    }
                    let _ = writeln!(enums, "}};");
                    props.push(format!("encode = {ename}"));
                }
                let fmask = f.max_value();
                let field_reset = f.reset.or_else(|| {
                    let (v, m) = reset?;
                    ((m >> f.lsb) & fmask == fmask).then_some((v >> f.lsb) & fmask)
                });
                let reset = field_reset.map(|v| format!(" = {v:#x}")).unwrap_or_default();
                let _ = writeln!(
                    regs,
                    "{indent}    field {{ {}; }} {fname}[{}:{}]{reset};",
                    props.join("; "),
                    f.msb,
                    f.lsb
                );
            }
            let _ = writeln!(regs, "{indent}}} {rname} @ {:#x};", r.offset);
        }
        let endian = if bigendian { format!("{indent}bigendian;\n") } else { String::new() };
        if one {
            let _ = write!(body, "{endian}{regs}");
        } else {
            let bname = rdl_name(w, "block", &b.name);
            let desc = if b.description.is_empty() {
                String::new()
            } else {
                format!("        desc = {};\n", rdl_string(&b.description))
            };
            let _ = write!(body, "    addrmap {{\n{desc}{endian}{regs}    }} {bname} @ {:#x};\n", b.base);
        }
    }
    let mut s = format!("// Converted by mmiodrv from {origin}\n");
    s.push_str(&enums);
    let desc = match blocks {
        [b] if !b.description.is_empty() => format!("    desc = {};\n", rdl_string(&b.description)),
        _ => String::new(),
    };
    let _ = write!(s, "addrmap {top} {{\n{desc}{body}}};\n");
    w.text = s;
}
