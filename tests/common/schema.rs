//! docs/json-schema.json as a validator (the `jsonschema` crate), for the
//! host tests (tests/cli_ecosystem.rs) and the VM suites alike. The file is
//! `mmiodrv json-schema`'s output (cli_ecosystem checks they are the same).

#![allow(dead_code)]

use std::path::PathBuf;

/// docs/json-schema.json, parsed.
pub fn document() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/json-schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The validator for docs/json-schema.json.
pub fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&document()).unwrap_or_else(|e| panic!("docs/json-schema.json: {e}"))
}

/// Why `value` fails its op's branch alone (the whole document only says
/// that no branch of its `oneOf` matched).
fn branch_problems(value: &serde_json::Value) -> Vec<String> {
    let Some(op) = value.get("op").and_then(|o| o.as_str()) else {
        return vec!["no \"op\"".into()];
    };
    let mut doc = document();
    let name =
        if value.get("results").is_some() { "results".to_string() } else { format!("op.{}", op.replace(' ', ".")) };
    if doc["$defs"].get(&name).is_none() {
        return vec![format!("no branch for op {op:?} in docs/json-schema.json")];
    }
    if let Some(o) = doc.as_object_mut() {
        o.remove("oneOf");
        o.insert("$ref".into(), format!("#/$defs/{name}").into());
    }
    match jsonschema::validator_for(&doc) {
        Ok(v) => v.iter_errors(value).map(|e| format!("{e} at {}", e.instance_path)).collect(),
        Err(e) => vec![e.to_string()],
    }
}

/// Every non-empty line of `text` is one JSON object the schema accepts;
/// returns how many there were (an error names the line and what is wrong).
pub fn check_lines(v: &jsonschema::Validator, what: &str, text: &str) -> Result<usize, String> {
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{what}: not JSON ({e}): {line}"))?;
        if !v.is_valid(&value) {
            return Err(format!("{what}: {line}\n{}", branch_problems(&value).join("\n")));
        }
        n += 1;
    }
    if n == 0 {
        return Err(format!("{what}: no JSON output"));
    }
    Ok(n)
}

/// The `op` of each object in `text` (JSON Lines), and of each result a
/// `results` object holds.
pub fn ops(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for value in text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
        if let Some(results) = value.get("results").and_then(|r| r.as_array()) {
            out.push("results".to_string());
            out.extend(results.iter().filter_map(|r| r["op"].as_str()).map(str::to_string));
        } else if let Some(op) = value["op"].as_str() {
            out.push(op.to_string());
        }
    }
    out
}
