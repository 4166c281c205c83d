//! `regmap convert --to toml`: a map file (every block, `[[block]]`s when
//! there are several) written as mmiodrv's TOML, so an imported map can be
//! edited by hand. Everything the model
//! holds is written (resets, per-field access, write semantics and read
//! actions, access width and word order, the block's base), so the TOML
//! reads back as the same map.

use std::fmt::Write;

use crate::regmap::model::{Access, ReadAction, RegisterMap, WordOrder, WriteSemantics};

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn access_word(a: Access) -> &'static str {
    match a {
        Access::RO => "RO",
        Access::RW => "RW",
        Access::WO => "WO",
        Access::RW1C => "RW1C",
        Access::RW1 => "RW1",
        Access::W1 => "W1",
        Access::NA => "NA",
    }
}

/// The TOML text of `map`; `origin` is said in a comment at the top.
pub fn to_toml(map: &RegisterMap, origin: &str) -> String {
    file_to_toml(&map.name, 0, &[map], origin)
}

/// The TOML text of a map file's `blocks` (the `[[block]]` form for more
/// than one), called `name`, placed `at`.
pub fn file_to_toml(name: &str, at: i64, blocks: &[&RegisterMap], origin: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Converted by mmiodrv from {origin}");
    let one = match blocks {
        [b] => Some(*b),
        _ => None,
    };
    let _ = writeln!(s, "[device]\nname = {}", quote(one.map_or(name, |b| &b.name)));
    if let Some(b) = one.filter(|b| !b.description.is_empty()) {
        let _ = writeln!(s, "description = {}", quote(&b.description));
    }
    let first = blocks.first();
    let _ = writeln!(s, "bar = {}", first.map_or(0, |b| b.bar));
    if let Some(b) = one.filter(|b| b.base != 0) {
        let _ = writeln!(s, "base = {:#x}", b.base);
    }
    if at != 0 {
        // TOML has no negative hexadecimal.
        let _ = writeln!(s, "at = {}", if at < 0 { at.to_string() } else { format!("{at:#x}") });
    }
    if blocks.iter().any(|b| b.overlaps) {
        let _ = writeln!(s, "overlaps = true   # registers may share addresses, fields names (as in the source)");
    }
    if let Some(size) = one.and_then(|b| b.size) {
        let _ = writeln!(s, "size = {size:#x}");
    }
    match one {
        Some(b) => registers(&mut s, b, ""),
        None => {
            for b in blocks {
                let _ = writeln!(s, "\n[[block]]\nname = {}", quote(&b.name));
                if !b.description.is_empty() {
                    let _ = writeln!(s, "description = {}", quote(&b.description));
                }
                if b.base != 0 {
                    let _ = writeln!(s, "base = {:#x}", b.base);
                }
                registers(&mut s, b, "block.");
            }
        }
    }
    s
}

/// A block's access ranges and registers, as `[[PREFIXaccess]]` and `[[PREFIXregister]]`.
fn registers(s: &mut String, map: &RegisterMap, prefix: &str) {
    for rule in map.rules.iter() {
        let widths: Vec<String> = rule.widths.iter().map(|w| w.bits().to_string()).collect();
        let _ = writeln!(
            s,
            "\n[[{prefix}access]]\nrange = [{:#x}, {:#x}]\nwidths = [{}]",
            rule.start,
            rule.end,
            widths.join(", ")
        );
    }
    for r in map.registers.iter() {
        let _ = writeln!(
            s,
            "\n[[{prefix}register]]\nname = {}\noffset = {:#x}\nwidth = {}",
            quote(&r.name),
            r.offset,
            r.width.bits()
        );
        let _ = writeln!(s, "access = {}", quote(access_word(r.access)));
        if r.access_width != r.width {
            let _ = writeln!(s, "access_width = {}", r.access_width.bits());
            if r.word_order == WordOrder::Big {
                let _ = writeln!(s, "word_order = \"big\"");
            }
        }
        if r.read_side_effects && r.fields.iter().all(|f| f.read_action == ReadAction::None) {
            let _ = writeln!(s, "read_side_effects = true");
        }
        if let Some(reset) = r.reset {
            let _ = writeln!(s, "reset = {reset:#x}");
        }
        if !r.description.is_empty() {
            let _ = writeln!(s, "description = {}", quote(&r.description));
        }
        for f in r.fields.iter() {
            let _ = writeln!(s, "\n[[{prefix}register.field]]\nname = {}", quote(&f.name));
            if f.msb == f.lsb {
                let _ = writeln!(s, "bits = {}", f.lsb);
            } else {
                let _ = writeln!(s, "bits = \"{}:{}\"", f.msb, f.lsb);
            }
            if let Some(a) = f.access.filter(|a| *a != r.access) {
                let _ = writeln!(s, "access = {}", quote(access_word(a)));
            }
            if f.write != WriteSemantics::Normal {
                let _ = writeln!(s, "write = {}", quote(f.write.reading_name()));
            }
            if f.read_action != ReadAction::None {
                let _ = writeln!(s, "read = {}", quote(f.read_action.reading_name()));
            }
            if let Some(reset) = f.reset {
                let _ = writeln!(s, "reset = {reset:#x}");
            }
            if !f.description.is_empty() {
                let _ = writeln!(s, "description = {}", quote(&f.description));
            }
            let repeated = f.values.windows(2).any(|w| w[0].0 == w[1].0);
            if repeated {
                let values: Vec<String> =
                    f.values.iter().map(|(v, n)| format!("{{ value = {v:#x}, name = {} }}", quote(n))).collect();
                let _ = writeln!(s, "values = [{}]", values.join(", "));
            } else if !f.values.is_empty() {
                let values: Vec<String> = f.values.iter().map(|(v, n)| format!("\"{v:#x}\" = {}", quote(n))).collect();
                let _ = writeln!(s, "values = {{ {} }}", values.join(", "));
            }
        }
    }
}
