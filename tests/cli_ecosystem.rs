//! The habits of lspci/setpci users on fake sysfs trees and simulated
//! devices (issue 15): `-s`/`-d` selection, `list` with names, `-n`/`-nn`,
//! `--tree`; `config read|write` by name; `doctor`; shell completions (the
//! bash one completing register names) and man pages; `--version`; and every
//! command's `--json` output validated against docs/json-schema.json. The
//! same commands run on QEMU's devices in tests/vm.rs and vm_noiommu.rs.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fake_sysfs::{FakeDevice, FakeSysfs};

const PCI_IDS: &str = "1af4  Red Hat, Inc.\n\t1110  Inter-VM shared memory\n8086  Intel Corporation\n\t100e  82540EM Gigabit Ethernet Controller\nC 00  Unclassified device\nC 02  Network controller\n\t00  Ethernet controller\nC 05  Memory controller\n\t00  RAM memory\nC 06  Bridge\n\t04  PCI bridge\n";

struct Env {
    tree: FakeSysfs,
    ids: PathBuf,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_in(env: Option<&Env>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmiodrv"));
    c.args(args).env("MMIODRV_FAKE_SYSFS_ONLY", "1").env_remove("MMIODRV_DEVICE").env_remove("RUST_LOG");
    match env {
        Some(e) => c.env("MMIODRV_SYSFS_ROOT", e.tree.root()).env("MMIODRV_PCI_IDS", &e.ids),
        None => c.env("MMIODRV_SYSFS_ROOT", "/nonexistent").env("MMIODRV_PCI_IDS", "/nonexistent"),
    };
    c.current_dir(repo()).output().expect("run mmiodrv")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(env: &Env, args: &[&str]) -> String {
    let o = run_in(Some(env), args);
    assert_eq!(o.status.code(), Some(0), "{args:?}:\n{}{}", out(&o), err(&o));
    out(&o)
}

/// A check that found something: its report on stdout, exit status 10, nothing on stderr.
fn finds(env: &Env, args: &[&str]) -> String {
    let o = run_in(Some(env), args);
    assert_eq!(o.status.code(), Some(10), "{args:?}:\n{}{}", out(&o), err(&o));
    assert!(err(&o).is_empty(), "{args:?}: {}", err(&o));
    out(&o)
}

fn fails(env: &Env, args: &[&str], code: i32, msg: &str) -> String {
    let o = run_in(Some(env), args);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}{e}", out(&o));
    assert!(e.contains(msg) && e.trim_end().lines().count() == 1, "{args:?}: {e:?} lacks {msg:?}");
    e
}

/// edu at 04.0, ivshmem at 05.0, e1000 (bound) at 03.0, a bridge at 1c.0
/// with a second edu behind it (bus 01).
fn tree() -> Env {
    let t = FakeSysfs::new();
    t.add(&FakeDevice::edu("ffff:00:04.0"));
    t.add(&FakeDevice {
        address: "ffff:00:05.0",
        vendor: 0x1af4,
        device: 0x1110,
        class: 0x050000,
        iommu_group: Some(4),
        ..FakeDevice::edu("")
    });
    t.add(&FakeDevice {
        address: "ffff:00:03.0",
        vendor: 0x8086,
        device: 0x100e,
        class: 0x020000,
        driver: Some("e1000"),
        iommu_group: Some(4),
        ..FakeDevice::edu("")
    });
    t.add(&FakeDevice {
        address: "ffff:00:1c.0",
        vendor: 0x1b36,
        device: 0x000c,
        class: 0x060400,
        bars: vec![],
        iommu_group: None,
        ..FakeDevice::edu("")
    });
    // The device behind the bridge lives in the bridge's directory, as in
    // /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0.
    let child = t.add(&FakeDevice { iommu_group: None, ..FakeDevice::edu("ffff:01:00.0") });
    let inside = t.device_dir("ffff:00:1c.0").join("ffff:01:00.0");
    fs::rename(&child, &inside).unwrap();
    symlink(&inside, &child).unwrap();
    let ids = t.root().join("pci.ids");
    fs::write(&ids, PCI_IDS).unwrap();
    Env { tree: t, ids }
}

fn config_bytes(env: &Env, addr: &str) -> Vec<u8> {
    fs::read(env.tree.device_dir(addr).join("config")).unwrap()
}

#[test]
fn selection_as_lspci() {
    let e = tree();
    let rows = |args: &[&str]| -> Vec<String> {
        ok(&e, args).lines().skip(1).map(|l| l.split_whitespace().next().unwrap_or("").to_string()).collect()
    };
    assert_eq!(rows(&["list"]).len(), 5);
    assert_eq!(rows(&["-d", "1234:", "list"]), ["ffff:00:04.0", "ffff:01:00.0"]);
    assert_eq!(rows(&["-d", "1234:11e8", "-s", "01:", "list"]), ["ffff:01:00.0"]);
    assert_eq!(rows(&["-s", "05.0", "list"]), ["ffff:00:05.0"]);
    assert_eq!(rows(&["-s", "ffff:*:00.*", "list"]), ["ffff:01:00.0"]);
    assert_eq!(rows(&["-d", "::0200", "list"]), ["ffff:00:03.0"]);
    assert_eq!(rows(&["-d", "*:*:0604:00", "list"]), ["ffff:00:1c.0"]);
    assert_eq!(rows(&["--device", "1af4:1110", "list"]), ["ffff:00:05.0"]);
    assert!(rows(&["-d", "abcd:", "list"]).is_empty());
    // Other commands need exactly one match; ambiguity lists the matches.
    let info = ok(&e, &["-s", "04.0", "info"]);
    assert!(info.starts_with("ffff:00:04.0 Unclassified device [00ff]: Device 1234:11e8"), "{info}");
    assert!(ok(&e, &["-d", "1af4:1110", "info"]).starts_with("ffff:00:05.0 RAM memory"));
    fails(&e, &["-d", "1234:11e8", "info"], 2, "'-d 1234:11e8' matches 2 devices: ffff:00:04.0, ffff:01:00.0");
    fails(&e, &["-s", "07.0", "info"], 3, "no PCI device matches '-s *:*:07.0'");
    // Malformed filters are usage errors from the parser, naming the syntax.
    fails(&e, &["-d", "1af4", "list"], 2, "expected [VENDOR]:[DEVICE][:CLASS[:PROGIF]]");
    fails(&e, &["-d", "0000:00:1e.7", "info"], 2, "a device address goes to -s or --device");
    fails(&e, &["-s", "00:20.0", "list"], 2, "expected [[DOMAIN:]BUS:][DEV][.[FUNC]]");
    fails(&e, &["-s", "04.0", "--device", "ffff:00:04.0", "info"], 2, "cannot be used together");
    // ... but they override $MMIODRV_DEVICE.
    let o = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["-s", "05.0", "info"])
        .env("MMIODRV_DEVICE", "ffff:00:04.0")
        .env("MMIODRV_SYSFS_ROOT", e.tree.root())
        .env("MMIODRV_PCI_IDS", &e.ids)
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .output()
        .unwrap();
    assert!(out(&o).starts_with("ffff:00:05.0 "), "{}{}", out(&o), err(&o));
}

#[test]
fn list_names_numbers_and_tree() {
    let e = tree();
    let names = ok(&e, &["list"]);
    let nic = names.lines().find(|l| l.starts_with("ffff:00:03.0")).unwrap();
    assert!(
        nic.contains("Ethernet controller") && nic.contains("Intel Corporation 82540EM Gigabit Ethernet Controller"),
        "{names}"
    );
    assert!(nic.contains("e1000"), "{nic}");
    let n = ok(&e, &["list", "-n"]);
    let nic = n.lines().find(|l| l.starts_with("ffff:00:03.0")).unwrap();
    assert!(nic.contains(" 0200 ") && nic.contains(" 8086:100e ") && !nic.contains("Intel"), "{nic}");
    let nn = ok(&e, &["list", "-nn"]);
    assert!(nn.contains("Ethernet controller [0200]"), "{nn}");
    assert!(nn.contains("Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e]"), "{nn}");
    assert!(nn.contains("Device [1234:11e8]"), "{nn}");
    let tree = ok(&e, &["list", "--tree"]);
    let lines: Vec<&str> = tree.lines().collect();
    let bridge = lines.iter().position(|l| l.starts_with("ffff:00:1c.0 PCI bridge")).expect(&tree);
    assert_eq!(lines[bridge + 1], "`-- ffff:01:00.0 Unclassified device: Device 1234:11e8", "{tree}");
    assert_eq!(lines.len(), 5, "{tree}");
    let json: serde_json::Value = serde_json::from_str(&ok(&e, &["list", "--json"])).unwrap();
    let child = json["devices"].as_array().unwrap().iter().find(|d| d["device"] == "ffff:01:00.0").unwrap();
    assert_eq!(child["parent"], "ffff:00:1c.0");
}

#[test]
fn config_read_write_by_name() {
    let e = tree();
    let edu = ["-s", "ffff:00:04.0"];
    let with = |more: &[&str]| -> Vec<String> { edu.iter().chain(more).map(|s| s.to_string()).collect() };
    let run = |more: &[&str]| ok(&e, &with(more).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run(&["config", "read", "COMMAND", "--quiet"]), "0x0007\n");
    let line = run(&["config", "read", "COMMAND"]);
    assert!(line.starts_with("ffff:00:04.0 config 0x004 COMMAND = 0x0007  IO=0x1 MEMORY=0x1 BUS_MASTER=0x1"), "{line}");
    assert_eq!(run(&["config", "read", "COMMAND.BUS_MASTER", "-q"]), "0x1\n");
    assert_eq!(run(&["config", "read", "CAP_MSI+2.w", "-q"]), "0x0080\n");
    assert_eq!(run(&["config", "read", "0x2c.l", "-q"]), "0x11001af4\n");
    // A field write changes only its bit, and reaches the config file.
    let w = run(&["config", "write", "COMMAND.BUS_MASTER", "0"]);
    assert!(w.contains("COMMAND.BUS_MASTER <- 0x0 (0x0007 -> 0x0003)"), "{w}");
    assert_eq!(config_bytes(&e, "ffff:00:04.0")[4..6], [0x03, 0x00]);
    // VALUE:MASK as setpci; --dry-run writes nothing.
    let d = run(&["config", "write", "COMMAND", "0x4:0x4", "--dry-run"]);
    assert!(d.contains("(0x0003 -> 0x0007) (dry run: nothing written)"), "{d}");
    assert_eq!(config_bytes(&e, "ffff:00:04.0")[4..6], [0x03, 0x00]);
    assert_eq!(run(&["config", "write", "LATENCY_TIMER", "0x40", "-q"]), "0x40\n");
    assert_eq!(config_bytes(&e, "ffff:00:04.0")[0x0d], 0x40);
    // Errors before anything is written.
    let before = config_bytes(&e, "ffff:00:04.0");
    fails(
        &e,
        &with(&["config", "write", "COMMAND", "0x10000"]).iter().map(String::as_str).collect::<Vec<_>>(),
        2,
        "does not fit",
    );
    fails(
        &e,
        &with(&["config", "write", "NOPE", "1"]).iter().map(String::as_str).collect::<Vec<_>>(),
        2,
        "no register setpci knows",
    );
    fails(
        &e,
        &with(&["config", "write", "COMMAND", "1:zz"]).iter().map(String::as_str).collect::<Vec<_>>(),
        2,
        "invalid value 'zz'",
    );
    fails(
        &e,
        &with(&["config", "read", "ECAP_AER+4.l"]).iter().map(String::as_str).collect::<Vec<_>>(),
        6,
        "4096 are needed",
    );
    fails(
        &e,
        &with(&["config", "read", "CAP_EXP+2.w"]).iter().map(String::as_str).collect::<Vec<_>>(),
        3,
        "the device has no CAP_EXP capability (CAP_EXP+2.w)",
    );
    assert_eq!(config_bytes(&e, "ffff:00:04.0"), before);
    // A device a kernel driver owns: refused unless --force (a dry run is fine).
    fails(&e, &["-s", "03.0", "config", "write", "COMMAND.MEMORY", "0"], 6, "bound to kernel driver 'e1000'");
    ok(&e, &["-s", "03.0", "config", "write", "COMMAND.MEMORY", "0", "--dry-run"]);
    assert_eq!(config_bytes(&e, "ffff:00:03.0")[4], 0x07);
    ok(&e, &["-s", "03.0", "--force", "config", "write", "COMMAND.MEMORY", "0"]);
    assert_eq!(config_bytes(&e, "ffff:00:03.0")[4], 0x05);
}

#[test]
fn doctor_names_causes_and_fixes() {
    let e = tree();
    // Memory decoding off on the edu.
    let mut c = config_bytes(&e, "ffff:00:04.0");
    c[4] = 0x05;
    fs::write(e.tree.device_dir("ffff:00:04.0").join("config"), &c).unwrap();
    // A problem found: exit status 10, the report and its count on stdout.
    let text = finds(&e, &["-s", "04.0", "doctor"]);
    assert!(text.contains("FAIL  decoding: memory decoding is off in COMMAND"), "{text}");
    assert!(text.trim_end().ends_with("problem found") || text.trim_end().ends_with("problems found"), "{text}");
    assert!(text.contains("fix: enable it (setpci -s ffff:00:04.0 COMMAND=0x2:0x2)"), "{text}");
    let nic = ok(&e, &["-s", "03.0", "doctor"]);
    assert!(nic.contains("WARN  driver: bound to kernel driver e1000"), "{nic}");
    assert!(nic.contains("fix: mmiodrv --device ffff:00:03.0 bind vfio-pci"), "{nic}");
    let iv = ok(&e, &["-s", "05.0", "doctor"]);
    assert!(iv.contains("IOMMU group 4 also holds devices under host drivers: ffff:00:03.0 (e1000)"), "{iv}");
    let v: serde_json::Value = serde_json::from_str(&finds(&e, &["-s", "04.0", "doctor", "--json"])).unwrap();
    assert_eq!(v["device"], "ffff:00:04.0");
    let decoding = v["checks"].as_array().unwrap().iter().find(|c| c["check"] == "decoding").unwrap();
    assert_eq!(decoding["status"], "fail");
    assert!(decoding["fix"].as_str().unwrap().contains("COMMAND=0x2:0x2"));
    assert!(v["problems"].as_u64().unwrap() >= 1);
}

/// The bash completion, sourced into bash, completing a line.
fn bash_complete(env: Option<&Env>, script: &Path, line: &str) -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mmiodrv"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let program = format!(
        "source {}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; read -ra COMP_WORDS <<< \"$COMP_LINE\"; \
         COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _mmiodrv_registers mmiodrv; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let mut c = Command::new("bash");
    c.args(["--norc", "-c", &program]).env("PATH", path).env("MMIODRV_FAKE_SYSFS_ONLY", "1").current_dir(repo());
    match env {
        Some(e) => c.env("MMIODRV_SYSFS_ROOT", e.tree.root()),
        None => c.env("MMIODRV_SYSFS_ROOT", "/nonexistent"),
    };
    let o = c.output().expect("bash");
    assert!(o.status.success(), "{}", err(&o));
    out(&o)
}

#[test]
fn completions_man_pages_and_version() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in
        [("bash", "_mmiodrv_registers"), ("zsh", "#compdef mmiodrv"), ("fish", "complete -c mmiodrv")]
    {
        let o = run_in(None, &["completions", shell]);
        assert!(o.status.success() && out(&o).contains(marker), "{shell}: {}", err(&o));
        assert!(out(&o).contains("config") && out(&o).contains("doctor"), "{shell}");
    }
    let script = dir.path().join("mmiodrv.bash");
    fs::write(&script, run_in(None, &["completions", "bash"]).stdout).unwrap();
    // Register names of a simulated device's map, and of a PCI device's built-in map.
    let sim = "mmiodrv --device sim:tests/data/edu/edu.svd read LIV";
    assert_eq!(bash_complete(None, &script, sim), "LIVENESS\n");
    let fields = bash_complete(None, &script, "mmiodrv --device sim:tests/data/edu/edu.svd write ID.M");
    assert_eq!(fields, "ID.MAJOR\nID.MINOR\nID.MAGIC\n");
    let e = tree();
    let pci = bash_complete(Some(&e), &script, "mmiodrv -s ffff:00:04.0 write STATUS.");
    assert_eq!(pci, "STATUS.IRQ_FACT\nSTATUS.COMPUTING\n");
    // Not a register position: clap's completion (options here).
    let opts = bash_complete(None, &script, "mmiodrv --device sim:tests/data/edu/edu.svd read ID --qu");
    assert!(opts.contains("--quiet"), "{opts}");

    let man = dir.path().join("man");
    let o = run_in(None, &["man", "--dir", man.to_str().unwrap()]);
    assert!(o.status.success(), "{}", err(&o));
    for page in ["mmiodrv.1", "mmiodrv-read.1", "mmiodrv-config.1", "mmiodrv-edu-factorial.1", "mmiodrv-doctor.1"] {
        let text = fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    assert!(!man.join("mmiodrv-complete-registers.1").exists(), "hidden helpers get no page");
    let version = out(&run_in(None, &["--version"]));
    assert!(version.starts_with("mmiodrv 0.1.0 (commit ") && version.trim_end().ends_with(')'), "{version}");
}

// ---- JSON: one schema for every command

fn assert_valid(v: &jsonschema::Validator, what: &str, text: &str) -> usize {
    common::schema::check_lines(v, what, text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_json_output_matches_the_schema() {
    let v = common::schema::validator();
    let e = tree();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    let sim = ["--device", "sim:tests/data/edu/edu.svd", "--state", state, "--json"];
    let script = dir.path().join("script.mmio");
    fs::write(&script, "read ID\nwrite LIVENESS 0x1\npoll STATUS.COMPUTING 0\nexpect ID 0x010000ed\ndump\n").unwrap();
    let bad = dir.path().join("bad.mmio");
    fs::write(&bad, "read ID\nread NOPE\n").unwrap();
    let converted = dir.path().join("edu.toml");
    let man = dir.path().join("man");
    let pci: &[&[&str]] = &[
        &["list", "--json"],
        &["list", "-nn", "--json"],
        &["-s", "04.0", "info", "--json"],
        &["-s", "1c.0", "info", "--json"],
        &["-s", "04.0", "config", "--json"],
        &["-s", "04.0", "config", "read", "COMMAND", "--json"],
        &["-s", "04.0", "config", "read", "COMMAND.MEMORY", "--json"],
        &["-s", "04.0", "config", "write", "CAP_MSI+2.w", "0x1:0x1", "--dry-run", "--json"],
        &["doctor", "--json"],
        &["-s", "03.0", "doctor", "--json"],
        &["-s", "04.0", "read", "ID", "--json"],
        &["-s", "04.0", "write", "LIVENESS", "0x5", "--json"],
        &["-s", "04.0", "dump-regs", "--json"],
        &["-s", "04.0", "dump-regs", "--len", "32", "--json"],
    ];
    let mut checked = 0;
    for args in pci {
        checked += assert_valid(&v, &format!("{args:?}"), &ok(&e, args));
    }
    let sims: Vec<Vec<&str>> = vec![
        vec!["read", "ID"],
        vec!["read", "ID.MAGIC"],
        vec!["write", "LIVENESS", "0x12", "--verify"],
        vec!["dump-regs", "--diff-reset"],
        vec!["batch", script.to_str().unwrap()],
        vec!["batch", "--check", script.to_str().unwrap()],
    ];
    for args in &sims {
        let full: Vec<&str> = sim.iter().copied().chain(args.iter().copied()).collect();
        checked += assert_valid(&v, &format!("{args:?}"), &ok(&e, &full));
    }
    // The observation commands (issue 16) on the same simulated device.
    let snap_a = dir.path().join("a.json");
    let snap_b = dir.path().join("b.json");
    let trace = dir.path().join("t.jsonl");
    let (snap_a, snap_b, trace) = (snap_a.to_str().unwrap(), snap_b.to_str().unwrap(), trace.to_str().unwrap());
    let observing: Vec<Vec<&str>> = vec![
        vec!["snapshot", "--out", snap_a],
        vec!["--trace", trace, "write", "LIVENESS", "0x77"],
        vec!["snapshot", "--out", snap_b],
        vec!["watch", "--timeout", "30"],
        vec!["watch", "LIVENESS", "STATUS.COMPUTING", "--timeout", "30"],
        vec!["top", "STATUS.COMPUTING", "--count", "5", "--rate", "1000"],
        vec!["decode", snap_a],
        vec!["diff", snap_a, snap_b],
        vec!["diff", snap_a],
        vec!["trace", "show", trace],
        vec!["replay", trace, "--dry-run"],
        vec!["replay", trace, "--verify"],
    ];
    for args in &observing {
        let full: Vec<&str> = sim.iter().copied().chain(args.iter().copied()).collect();
        checked += assert_valid(&v, &format!("{args:?}"), &ok(&e, &full));
    }
    // A failing batch prints its error object (with the file and line) too.
    let full: Vec<&str> = sim.iter().copied().chain(["batch", "--keep-going", bad.to_str().unwrap()]).collect();
    let o = run_in(Some(&e), &full);
    checked += assert_valid(&v, "batch with an error", &out(&o));
    let files: &[&[&str]] = &[
        &["regmap", "show", "tests/data/edu/edu.svd", "--json"],
        &["regmap", "check", "tests/data/edu/edu.svd", "--json"],
        &["regmap", "convert", "tests/data/edu/edu.svd", "--to", "toml", "-o", converted.to_str().unwrap(), "--json"],
        &["man", "--dir", man.to_str().unwrap(), "--json"],
    ];
    for args in files {
        checked += assert_valid(&v, &format!("{args:?}"), &ok(&e, args));
    }
    eprintln!("{checked} JSON objects validated");
    // The schema is not vacuous: objects of the old shape fail it.
    for old in [
        r#"{"devices": []}"#,
        r#"{"schema": 1, "address": "ffff:00:04.0", "length": 256, "hex": "00"}"#,
        r#"{"schema": 1, "devices": [{"device": "ffff:00:04.0", "vendor_id": "1234"}]}"#,
        r#"{"schema": 1, "device": "ffff:00:04.0", "bar": 0, "offset": "4", "width": 32, "value": 1}"#,
    ] {
        let value: serde_json::Value = serde_json::from_str(old).unwrap();
        assert!(!v.is_valid(&value), "the schema accepts {old}");
    }
}
