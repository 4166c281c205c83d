//! docs/json-schema.json as a validator (the `jsonschema` crate), for the
//! host tests (tests/cli_ecosystem.rs) and the VM suites alike.

use std::path::PathBuf;

/// The validator for docs/json-schema.json.
pub fn validator() -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/json-schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("docs/json-schema.json: {e}"))
}

/// Every non-empty line of `text` is one JSON object the schema accepts;
/// returns how many there were (an error names the line and what is wrong).
pub fn check_lines(v: &jsonschema::Validator, what: &str, text: &str) -> Result<usize, String> {
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{what}: not JSON ({e}): {line}"))?;
        let problems: Vec<String> = v.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path)).collect();
        if !problems.is_empty() {
            return Err(format!("{what}: {line}\n{}", problems.join("\n")));
        }
        n += 1;
    }
    if n == 0 {
        return Err(format!("{what}: no JSON output"));
    }
    Ok(n)
}
