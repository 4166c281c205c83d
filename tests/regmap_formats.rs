//! `--regmap` importers against the reference tools (tests/data/README.md).
//!
//! For every map, ours (tests/data/) and third-party ones fetched at CI time
//! by tests/data/fetch.sh into target/regmap-data/: `mmiodrv regmap show
//! --json FILE` must equal the reference reading (systemrdl-compiler for
//! SystemRDL, cmsis-svd for SVD, the file's own numbers for IP-XACT and
//! LiteX): every block, every register's name, absolute address, width,
//! access, reset and every field's bit range, access, reset, read action,
//! write semantics and enumerated values. The few refusals and differences
//! are listed below, each with its reason.
//!
//! Our maps' committed readings (tests/data/expected/) are compared always;
//! the third-party ones need target/regmap-data: missing under CI=true is a
//! failure, elsewhere a loud skip, reported as an ignored trial (a
//! libtest-mimic harness, `harness = false`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use libtest_mimic::{Arguments, Trial};
use serde_json::Value;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let manifest = repo().join("target/regmap-data/manifest.json");
    let fetched = manifest.exists() || std::env::var("CI").as_deref() == Ok("true");
    if !fetched && !args.list {
        eprintln!(
            "!!!!! SKIPPING the third-party register maps (reported as ignored): {} is missing (run tests/data/fetch.sh) !!!!!",
            manifest.display()
        );
    }
    let trial = |name: &'static str, f: fn()| {
        Trial::test(name, move || {
            f();
            Ok(())
        })
    };
    let trials = vec![
        trial("our_maps_read_as_their_committed_readings", our_maps_read_as_their_committed_readings),
        trial(
            "every_fetched_map_reads_as_its_reference_tool_reads_it",
            every_fetched_map_reads_as_its_reference_tool_reads_it,
        )
        .with_ignored_flag(!fetched),
        trial(
            "every_block_converts_to_toml_and_reads_back_the_same",
            every_block_converts_to_toml_and_reads_back_the_same,
        ),
        trial(
            "every_format_converts_and_the_reference_tools_read_it_back",
            every_format_converts_and_the_reference_tools_read_it_back,
        )
        .with_ignored_flag(!fetched),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python() -> PathBuf {
    repo().join("target/regmap-data/venv/bin/python")
}

/// Maps mmiodrv refuses on purpose: (file name, what the error says).
const REFUSED: &[(&str, &str)] = &[
    // 128-bit registers: the model's widths are 8 to 64 bits.
    ("wide_regs.rdl", "a 128-bit register is not supported"),
    ("wide_regs.ipxact-2014.xml", "a 128-bit register is not supported"),
    ("wide_regs.ipxact-2009.xml", "a 128-bit register is not supported"),
    // Overlapping fields in one register (as the TOML loader refuses them).
    ("overlapping.rdl", "field overlap_fields.f3 overlaps field f2"),
    ("overlapping.ipxact-2014.xml", "field overlap_fields.f3 overlaps field f2"),
    ("overlapping.ipxact-2009.xml", "field overlap_fields.f3 overlaps field f2"),
];

/// Known differences from the reference: (file name, block, register,
/// field, key, why). svd-parser, which mmiodrv reads SVD with, applies a
/// field's `derivedFrom` when the field has no `<description>`; cmsis-svd 0.6
/// ignores it then (tests/data/README.md, "Reference tool quirks"), so these
/// fields have the enumerated values of the field they derive from here.
const DIFFERENT: &[(&str, &str, &str, &str, &str)] = &[
    ("max32660.svd", "DMA", "INTR", "CH1_IPEND", "enums"),
    ("max32660.svd", "DMA", "INTR", "CH2_IPEND", "enums"),
    ("max32660.svd", "DMA", "INTR", "CH3_IPEND", "enums"),
    ("max32660.svd", "FLC", "FLSH_INTR", "AFIE", "enums"),
];

fn show(file: &Path) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["regmap", "show", "--json"])
        .arg(file)
        .env("MMIODRV_PYTHON", venv_python())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let mut v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    // The command line's own fields (the file, the JSON schema version, the
    // op) are not part of the reading.
    if let Some(o) = v.as_object_mut() {
        o.remove("file");
        if o.remove("schema") != Some(Value::from(2)) || o.remove("op") != Some(Value::from("regmap show")) {
            return Err("`regmap show --json` lacks \"schema\": 2 and \"op\": \"regmap show\"".into());
        }
    }
    Ok(v)
}

/// Apply the known differences: the reference's value of each listed key
/// replaces ours, after checking that ours really differs there.
fn allow_known(name: &str, got: &mut Value, want: &Value) -> Result<(), String> {
    for (file, block, reg, field, key) in DIFFERENT.iter().filter(|d| d.0 == name) {
        let find = |v: &Value| -> Option<(usize, usize, usize)> {
            let blocks = v["blocks"].as_array()?;
            let b = blocks.iter().position(|x| x["name"] == *block)?;
            let regs = blocks[b]["registers"].as_array()?;
            let r = regs.iter().position(|x| x["name"] == *reg)?;
            let f = regs[r]["fields"].as_array()?.iter().position(|x| x["name"] == *field)?;
            Some((b, r, f))
        };
        let (Some(g), Some(w)) = (find(got), find(want)) else {
            return Err(format!("{file}: listed difference {block}.{reg}.{field} not found"));
        };
        let theirs = want["blocks"][w.0]["registers"][w.1]["fields"][w.2][key].clone();
        let ours = &mut got["blocks"][g.0]["registers"][g.1]["fields"][g.2][key];
        if *ours == theirs {
            return Err(format!("{file}: {block}.{reg}.{field}.{key} no longer differs: remove it from DIFFERENT"));
        }
        *ours = theirs;
    }
    Ok(())
}

/// First difference between two readings, as a path.
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                let label = x.get("name").or(y.get("name")).map(|n| format!("{path}{n}.")).unwrap_or(path.into());
                if let Some(d) = first_difference(&format!("{label}{k}/"), va, vb) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(&format!("{path}{i}/"), p, q))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: ours {a}, reference {b}")),
    }
}

fn compare(file: &Path, reading: &Path) -> Result<(), String> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let want: Value = serde_json::from_str(&std::fs::read_to_string(reading).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let refused = REFUSED.iter().find(|(n, _)| *n == name);
    match (show(file), refused) {
        (Err(e), Some((_, why))) if e.contains(why) && e.contains(&format!("{}:", file.display())) => Ok(()),
        (Err(e), Some((_, why))) => Err(format!("{}: refused, but not with '{why}': {e}", file.display())),
        (Ok(_), Some(_)) => Err(format!("{}: read, but listed in REFUSED", file.display())),
        (Err(e), None) => Err(format!("{}: {e}", file.display())),
        (Ok(mut got), None) => {
            allow_known(name, &mut got, &want)?;
            match first_difference("", &got, &want) {
                None => Ok(()),
                Some(d) => Err(format!("{}: {d}", file.display())),
            }
        }
    }
}

fn our_maps_read_as_their_committed_readings() {
    let mut failures = Vec::new();
    let mut n = 0;
    for dir in ["edu", "ivshmem", "w1c", "nested"] {
        let expected = repo().join("tests/data/expected").join(dir);
        for entry in std::fs::read_dir(&expected).expect("tests/data/expected") {
            let reading = entry.expect("entry").path();
            let name = reading.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let name = name.strip_suffix(".json").unwrap_or(name).to_string();
            let file = repo().join("tests/data").join(dir).join(&name);
            if name.ends_with(".rdl") && !venv_python().exists() {
                eprintln!("!!!!! SKIPPING {name}: SystemRDL needs tests/data/fetch.sh's venv (the compiler) !!!!!");
                if std::env::var("CI").as_deref() == Ok("true") {
                    failures.push(format!("{name}: CI=true but target/regmap-data/venv is missing"));
                }
                continue;
            }
            n += 1;
            if let Err(e) = compare(&file, &reading) {
                failures.push(e);
            }
        }
    }
    assert!(n >= 14, "only {n} maps compared");
    assert!(failures.is_empty(), "{} of {n} differ:\n{}", failures.len(), failures.join("\n"));
}

fn every_fetched_map_reads_as_its_reference_tool_reads_it() {
    let manifest = repo().join("target/regmap-data/manifest.json");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        // Only run without the manifest under CI=true (main reports it ignored elsewhere).
        panic!("CI=true but {} is missing: .ci/run must run tests/data/fetch.sh first", manifest.display());
    };
    let manifest: Value = serde_json::from_str(&text).expect("manifest.json");
    let maps = manifest["maps"].as_array().expect("maps");
    let mut failures = Vec::new();
    let mut theirs = 0;
    for m in maps {
        if m["status"] != "ok" {
            continue;
        }
        let file = repo().join(m["file"].as_str().unwrap_or(""));
        let reading = repo().join(m["reading"].as_str().unwrap_or(""));
        theirs += usize::from(m["ours"] == false);
        if let Err(e) = compare(&file, &reading) {
            failures.push(e);
        }
    }
    eprintln!("compared {} maps ({theirs} third-party) with their reference readings", maps.len());
    assert!(theirs >= 30, "only {theirs} third-party maps in the manifest");
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), maps.len(), failures.join("\n"));
}

/// `regmap convert --to toml` of every block of every map reads back as the
/// same block (so an imported map can be edited by hand and nothing is lost).
fn every_block_converts_to_toml_and_reads_back_the_same() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["edu", "ivshmem", "w1c", "nested"] {
        for e in std::fs::read_dir(repo().join("tests/data").join(dir)).expect("tests/data") {
            files.push(e.expect("entry").path());
        }
    }
    if let Ok(text) = std::fs::read_to_string(repo().join("target/regmap-data/manifest.json")) {
        let manifest: Value = serde_json::from_str(&text).expect("manifest.json");
        for m in manifest["maps"].as_array().into_iter().flatten().filter(|m| m["ours"] == false) {
            files.push(repo().join(m["file"].as_str().unwrap_or("")));
        }
    }
    std::env::set_var("MMIODRV_PYTHON", venv_python());
    let mut blocks = 0;
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if REFUSED.iter().any(|(n, _)| *n == name) || (name.ends_with(".rdl") && !venv_python().exists()) {
            continue;
        }
        let map = mmiodrv::regmap::load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        for b in &map.blocks {
            let text = mmiodrv::regmap::formats::toml_out::to_toml(b, "test");
            let back = mmiodrv::regmap::parse(&text, "converted")
                .unwrap_or_else(|e| panic!("{}: block {}: {e}\n{text}", file.display(), b.name));
            let (x, y) = (mmiodrv::regmap::formats::reading::block(b), mmiodrv::regmap::formats::reading::block(&back));
            assert_eq!(x, y, "{}: block {} changed through TOML", file.display(), b.name);
            blocks += 1;
        }
    }
    assert!(blocks >= 20, "only {blocks} blocks converted");
}

/// `regmap convert --to svd|ipxact|systemrdl|toml|json` of our maps (every
/// block): the reference tools read each output back (cmsis-svd, reference.py's
/// IP-XACT reader and peakrdl-ipxact's importer, systemrdl-compiler) as the
/// same registers, fields, access, resets and enums as mmiodrv reads the
/// source, except what `convert` said the format cannot express (names made
/// identifiers, access widths). TOML reads back the same through mmiodrv;
/// JSON is `regmap show --json`.
fn every_format_converts_and_the_reference_tools_read_it_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut n = 0;
    for sub in ["tests/data/edu", "tests/data/ivshmem", "tests/data/w1c", "tests/data/nested", "examples/maps"] {
        for e in std::fs::read_dir(repo().join(sub)).expect("a map directory") {
            let file = e.expect("entry").path();
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            let source = match show(&file) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            for (to, ext) in
                [("svd", "svd"), ("ipxact", "xml"), ("systemrdl", "rdl"), ("toml", "toml"), ("json", "json")]
            {
                let out = dir.path().join(format!("{name}.{ext}"));
                match convert(&file, to, &out) {
                    Err(e) => failures.push(format!("{name} --to {to}: {e}")),
                    Ok(lost) => {
                        n += 1;
                        if let Err(e) = read_back(&source, &out, to, &lost) {
                            failures.push(format!("{name} --to {to}: {e}"));
                        }
                    }
                }
            }
        }
    }
    assert!(n >= 120, "only {n} conversions");
    assert!(failures.is_empty(), "{} of {n} conversions differ:\n{}", failures.len(), failures.join("\n"));
}

/// `regmap convert FILE --to TO -o OUT --json`: what it said was lost.
fn convert(file: &Path, to: &str, out: &Path) -> Result<Vec<String>, String> {
    let o = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["--json", "regmap", "convert", "--to", to, "-o"])
        .arg(out)
        .arg(file)
        .env("MMIODRV_PYTHON", venv_python())
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
    }
    let v: Value = serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())?;
    Ok(v["lost"].as_array().into_iter().flatten().filter_map(|l| l.as_str().map(str::to_string)).collect())
}

/// What the tools read `out` as must be `source` but for what was said lost.
fn read_back(source: &Value, out: &Path, to: &str, lost: &[String]) -> Result<(), String> {
    let mut want = source.clone();
    let mut got = match to {
        "toml" => show(out)?,
        "json" => serde_json::from_str(&std::fs::read_to_string(out).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?,
        _ => reference(out)?,
    };
    for v in [&mut want, &mut got] {
        if let Some(o) = v.as_object_mut() {
            o.remove("format");
        }
    }
    if lost.iter().any(|l| l.contains("names are identifiers")) {
        rename(&mut want);
    }
    if lost.iter().any(|l| l.contains("has no access width")) {
        for r in registers(&mut want) {
            r["access_width"] = r["width"].clone();
            r["word_order"] = Value::Null;
        }
    }
    // The BAR and access ranges are not in the reading.
    let explained = ["names are identifiers", "has no access width", "the BAR and the access ranges"];
    let unexplained: Vec<&String> = lost.iter().filter(|l| !explained.iter().any(|e| l.contains(e))).collect();
    if !unexplained.is_empty() {
        return Err(format!("lost what our maps all have: {unexplained:?}"));
    }
    if to == "ipxact" {
        import_ipxact(out, &got)?;
    }
    match first_difference("", &got, &want) {
        None => Ok(()),
        Some(d) => Err(format!("read back differs: {d} (lost: {lost:?})")),
    }
}

fn registers(v: &mut Value) -> impl Iterator<Item = &mut Value> {
    v["blocks"].as_array_mut().into_iter().flatten().flat_map(|b| b["registers"].as_array_mut().into_iter().flatten())
}

/// Names as the writers make them identifiers (`CH[1]_SRC` → `CH_1__SRC`).
fn rename(v: &mut Value) {
    let id = |v: &mut Value| {
        if let Some(s) = v.as_str() {
            *v = Value::from(mmiodrv::regmap::formats::write::identifier(s));
        }
    };
    for b in v["blocks"].as_array_mut().into_iter().flatten() {
        id(&mut b["name"]);
    }
    for r in registers(v) {
        id(&mut r["name"]);
        for f in r["fields"].as_array_mut().into_iter().flatten() {
            id(&mut f["name"]);
            for e in f["enums"].as_array_mut().into_iter().flatten() {
                id(&mut e["name"]);
            }
        }
    }
    // Registers by (offset, name): renamed, the order may change.
    for b in v["blocks"].as_array_mut().into_iter().flatten() {
        if let Some(regs) = b["registers"].as_array_mut() {
            regs.sort_by_key(|r| (r["offset"].as_u64(), r["name"].as_str().map(str::to_string)));
        }
    }
}

/// The reference reading of a file (tests/data/reference.py).
fn reference(file: &Path) -> Result<Value, String> {
    let o = Command::new(venv_python())
        .arg(repo().join("tests/data/reference.py"))
        .arg("auto")
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!("the reference tool refused it: {}", String::from_utf8_lossy(&o.stderr).trim()));
    }
    serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())
}

/// peakrdl-ipxact's importer takes an IP-XACT file mmiodrv wrote, with as
/// many registers as the reading.
fn import_ipxact(file: &Path, reading: &Value) -> Result<(), String> {
    const IMPORT: &str = "import sys\nfrom systemrdl import RDLCompiler\nfrom systemrdl.node import RegNode\n\
        from peakrdl_ipxact import IPXACTImporter\nc = RDLCompiler()\nIPXACTImporter(c).import_file(sys.argv[1])\n\
        print(sum(1 for n in c.elaborate().descendants(unroll=True) if isinstance(n, RegNode)))\n";
    let o = Command::new(venv_python()).arg("-c").arg(IMPORT).arg(file).output().map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!("peakrdl-ipxact cannot import it: {}", String::from_utf8_lossy(&o.stderr).trim()));
    }
    let count: usize = String::from_utf8_lossy(&o.stdout).trim().parse().map_err(|e| format!("{e}"))?;
    let mut reading = reading.clone();
    let ours = registers(&mut reading).count();
    if count != ours {
        return Err(format!("peakrdl-ipxact reads {count} registers, the reading {ours}"));
    }
    Ok(())
}
