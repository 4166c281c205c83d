//! The JSON Schema (draft 2020-12) of every JSON object the front ends
//! print with `--json`, built from the types that are serialized (feature
//! `schema`). docs/json-schema.json is its output; `mmiodrv json-schema`
//! prints it.
//!
//! Every object carries `"schema": 2` ([`SCHEMA_VERSION`]) and an `op`: the
//! path of the command that made it (`read`, `edu factorial`,
//! `config read`), or `error`. Each command declares the type of its
//! results once, with its declaration: the library's register operations in
//! [`register_ops`], each driver in [`DriverInfo::results`],
//! a front end's own commands through [`document`]'s argument. The document
//! is a `oneOf` with one branch per op (`op` a `const`), each closed (no key
//! that is not declared), the error object (`op` `error`) among them, and
//! the object a batch or pipe line prints when its command made several
//! results: `{"schema": 2, "op": PATH, "results": [...]}`.
//!
//! [`DriverInfo::results`]: crate::drivers::DriverInfo::results

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::command::Command;
use crate::outcome;
pub use crate::outcome::SCHEMA_VERSION;

/// Where the branches of the ops live in the document: `#/$defs/op.read`,
/// `#/$defs/op.edu.factorial`.
const BRANCH: &str = "op.";

/// The object a batch or pipe line prints for several results.
const SEVERAL: &str = "results";

/// The JSON type of each register operation's results, and of an error,
/// for [`document`].
fn register_ops(r: &mut Results) {
    r.add_op::<crate::window::AccessReport>(outcome::op::READ)
        .add_op::<crate::window::AccessReport>(outcome::op::WRITE)
        .add_op::<outcome::Polled>(outcome::op::POLL)
        .add_op::<crate::window::AccessReport>(outcome::op::EXPECT)
        .add_op::<outcome::Armed>(outcome::op::ARM)
        .add_op::<outcome::Fired>(outcome::op::WAIT_IRQ)
        .add_op::<outcome::Slept>(outcome::op::SLEEP)
        .add_op::<outcome::Dump>(outcome::op::DUMP_REGS)
        .add_op::<outcome::Hexdump>(outcome::op::DUMP_REGS)
        .add_op::<outcome::Echo>(outcome::op::ECHO)
        .add_op::<outcome::DmaAllocated>(outcome::op::DMA_ALLOC)
        .add_op::<outcome::DmaWritten>(outcome::op::DMA_WRITE)
        .add_op::<outcome::DmaBytes>(outcome::op::DMA_READ)
        .add_op::<outcome::Maps>(outcome::op::MAPS)
        .add_op::<outcome::ErrorReport>(outcome::op::ERROR);
}

/// The JSON type of each command's results, gathered for [`document`].
pub struct Results {
    generator: SchemaGenerator,
    /// Each op with the schemas of its results' payloads (the objects
    /// without `schema` and `op`), in the order declared.
    ops: Vec<(String, Vec<Schema>)>,
}

impl Default for Results {
    fn default() -> Self {
        Results::new()
    }
}

impl Results {
    /// No results declared yet.
    pub fn new() -> Results {
        Results { generator: SchemaSettings::draft2020_12().for_serialize().into_generator(), ops: Vec::new() }
    }

    /// A result of the command at `path` (a top-level command, then each
    /// a subcommand of the one before: `[&edu, &factorial]`) is a `T`: its
    /// `op` is their names joined by spaces, as the front ends name it.
    /// Declared again for the same command, `T` is one more shape its
    /// results take.
    pub fn add<T: JsonSchema + ?Sized>(&mut self, path: &[&Command]) -> &mut Self {
        let op = path.iter().map(|c| c.name).collect::<Vec<_>>().join(" ");
        self.add_op::<T>(&op)
    }

    /// A result whose `op` is `op` is a `T` (see [`Results::add`]).
    pub fn add_op<T: JsonSchema + ?Sized>(&mut self, op: &str) -> &mut Self {
        let schema = self.generator.subschema_for::<T>();
        match self.ops.iter_mut().find(|(o, _)| o == op) {
            Some((_, shapes)) => shapes.push(schema),
            None => self.ops.push((op.to_string(), vec![schema])),
        }
        self
    }

    /// The ops declared, in order.
    pub fn ops(&self) -> impl Iterator<Item = &str> {
        self.ops.iter().map(|(op, _)| op.as_str())
    }

    /// The document: one closed branch per op, the error object among
    /// them, and the object of several results (of the first `lines` ops
    /// declared: those a script's line runs).
    fn document(mut self, lines: usize) -> Value {
        let mut defs: Map<String, Value> = self.generator.take_definitions(true);
        for def in defs.values_mut() {
            close(def, true);
        }
        let mut branches = Vec::new();
        let mut results_items = Vec::new();
        for (i, (op, shapes)) in self.ops.iter().enumerate() {
            let name = format!("{BRANCH}{}", op.replace(' ', "."));
            let shapes: Vec<Value> = shapes.iter().map(|s| payload(s.as_value(), &defs)).collect();
            let (combine, shapes) = match shapes.len() {
                1 => ("allOf", shapes),
                _ => ("oneOf", shapes),
            };
            let mut branch = json!({
                "description": format!("`{op}`"),
                "type": "object",
                "properties": {
                    "schema": { "const": SCHEMA_VERSION },
                    "op": { "const": op },
                    "host": host(),
                },
                "required": ["schema", "op"],
                "unevaluatedProperties": false,
            });
            branch[combine] = Value::Array(shapes);
            let reference = json!({ "$ref": format!("#/$defs/{name}") });
            if i < lines && op != crate::outcome::op::ERROR {
                results_items.push(reference.clone());
            }
            branches.push(reference);
            defs.insert(name, branch);
        }
        // An error of a script's line holds what the line made before it failed.
        if let Some(error) = defs.get_mut("ErrorReport") {
            error["properties"]["results"] = json!({ "type": "array", "items": { "oneOf": results_items.clone() } });
        }
        let ops: Vec<&str> = self.ops().take(lines).filter(|op| *op != crate::outcome::op::ERROR).collect();
        defs.insert(
            SEVERAL.into(),
            json!({
                "description": "A line of a batch script or of the pipe protocol whose command made several results: each as its own object, in order",
                "type": "object",
                "properties": {
                    "schema": { "const": SCHEMA_VERSION },
                    "op": { "enum": ops },
                    "host": host(),
                    "results": { "type": "array", "minItems": 2, "items": { "oneOf": results_items } },
                },
                "required": ["schema", "op", "results"],
                "additionalProperties": false,
            }),
        );
        branches.push(json!({ "$ref": format!("#/$defs/{SEVERAL}") }));
        let mut doc = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": format!("mmiodrv --json output, schema {SCHEMA_VERSION}"),
            "description": "One object per line (JSON Lines). Generated from the types the objects are made of: mmiodrv json-schema > docs/json-schema.json",
            "oneOf": branches,
            "$defs": defs,
        });
        drop_unused(&mut doc);
        doc.sort_all_objects();
        doc
    }
}

/// The `host` every object has when several hosts ran the command
/// (`--host`, docs/remote.md).
fn host() -> Value {
    json!({ "type": "string", "description": "The remote host that made it, when several hosts ran the command (--host): as given" })
}

/// The whole document: the register operations' results and errors, the
/// drivers' (`drivers` declares them: each installed driver's
/// [`crate::drivers::DriverInfo::results`]), and `front_end`'s own
/// commands' (declared by it on the [`Results`] it is given). A script's
/// line runs the first two kinds: only they can make a line of several
/// results.
pub fn document(drivers: impl FnOnce(&mut Results), front_end: impl FnOnce(&mut Results)) -> Value {
    let mut r = Results::new();
    register_ops(&mut r);
    drivers(&mut r);
    let lines = r.ops.len();
    front_end(&mut r);
    r.document(lines)
}

/// A payload's schema as a part of its op's branch: the definition it
/// refers to, copied, without its own closing (the branch closes the whole
/// object, `schema` and `op` included).
fn payload(schema: &Value, defs: &Map<String, Value>) -> Value {
    let mut schema = match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => defs.get(name).cloned().unwrap_or_else(|| schema.clone()),
        None => schema.clone(),
    };
    if let Some(o) = schema.as_object_mut() {
        o.remove("unevaluatedProperties");
    }
    schema
}

/// Close every object `schema` describes: a schema that describes a whole
/// value (`whole`: a definition, a property's value, an array's items) and
/// has properties of its own, or alternatives that do, gets
/// `unevaluatedProperties: false`; the alternatives themselves are parts of
/// that value and stay open (their properties count as evaluated by it).
fn close(schema: &mut Value, whole: bool) {
    let Some(o) = schema.as_object_mut() else { return };
    let parts = ["oneOf", "anyOf", "allOf"];
    let has_properties = |v: &Value| v.get("properties").is_some();
    let object = o.contains_key("properties")
        || parts.iter().any(|k| o.get(*k).and_then(Value::as_array).is_some_and(|a| a.iter().any(has_properties)));
    if whole && object && !o.contains_key("additionalProperties") {
        o.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for v in props.values_mut() {
            close(v, true);
        }
    }
    for k in ["items", "additionalProperties"] {
        if let Some(v) = o.get_mut(k) {
            close(v, true);
        }
    }
    if let Some(Value::Array(items)) = o.get_mut("prefixItems") {
        for v in items {
            close(v, true);
        }
    }
    for k in parts {
        if let Some(Value::Array(members)) = o.get_mut(k) {
            for m in members {
                close(m, false);
            }
        }
    }
}

/// Remove the definitions nothing refers to (the payloads copied into
/// their branches).
fn drop_unused(doc: &mut Value) {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
                    out.push(r.to_string());
                }
                o.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let Some(defs) = doc.get("$defs").and_then(Value::as_object).cloned() else { return };
    let mut used: Vec<String> = Vec::new();
    let mut todo = Vec::new();
    refs(&doc["oneOf"], &mut todo);
    while let Some(name) = todo.pop() {
        if used.contains(&name) {
            continue;
        }
        if let Some(def) = defs.get(&name) {
            refs(def, &mut todo);
        }
        used.push(name);
    }
    if let Some(Value::Object(defs)) = doc.get_mut("$defs") {
        defs.retain(|name, _| used.contains(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        document(|_| {}, |_| {})
    }

    /// Every register operation of the grammar has its results declared,
    /// under the path of its command (a driver's commands are checked by
    /// `drivers::validate`).
    #[test]
    fn every_operation_declares_its_results() {
        fn leaves(prefix: &str, c: &'static Command, out: &mut Vec<String>) {
            let path = if prefix.is_empty() { c.name.to_string() } else { format!("{prefix} {}", c.name) };
            if !matches!(c.run, crate::command::Run::Group) {
                out.push(path.clone());
            }
            for s in c.subcommands {
                leaves(&path, s, out);
            }
        }
        let mut want = Vec::new();
        for c in crate::session::COMMANDS.iter() {
            leaves("", c, &mut want);
        }
        let mut r = Results::new();
        register_ops(&mut r);
        let mut declared: Vec<String> = r.ops().filter(|op| *op != "error").map(str::to_string).collect();
        want.sort();
        declared.sort();
        assert_eq!(declared, want);
    }

    #[test]
    fn branches_are_closed_and_name_their_op() {
        let d = doc();
        let defs = d["$defs"].as_object().unwrap();
        let branches = d["oneOf"].as_array().unwrap();
        assert!(branches.len() > 10);
        for b in branches {
            let name = b["$ref"].as_str().unwrap().strip_prefix("#/$defs/").unwrap();
            let def = &defs[name];
            if name == SEVERAL {
                assert_eq!(def["additionalProperties"], false);
                continue;
            }
            assert_eq!(def["unevaluatedProperties"], false, "{name}");
            assert_eq!(def["properties"]["schema"]["const"], SCHEMA_VERSION);
            let op = def["properties"]["op"]["const"].as_str().unwrap();
            assert_eq!(name, format!("{BRANCH}{}", op.replace(' ', ".")));
        }
        // Sorted, so the text is the same whatever order maps keep.
        let keys: Vec<&String> = defs.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
