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
    // `udev` reads a root with no device list, no nodes and no group (tests/cli_trust.rs has a fake one).
    c.args(args)
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_UDEV_ROOT", "/nonexistent")
        .env_remove("MMIODRV_DEVICE")
        .env_remove("RUST_LOG");
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
    // info and config, as lspci, take every device selected (all without
    // -s/-d); the others need exactly one match, and ambiguity lists them.
    let info = ok(&e, &["-s", "04.0", "info"]);
    assert!(info.starts_with("ffff:00:04.0 Unclassified device [00ff]: Device 1234:11e8"), "{info}");
    assert!(ok(&e, &["-d", "1af4:1110", "info"]).starts_with("ffff:00:05.0 RAM memory"));
    let titles = |text: &str| -> Vec<String> {
        text.lines().filter(|l| l.starts_with("ffff:")).map(|l| l[..12].to_string()).collect()
    };
    assert_eq!(titles(&ok(&e, &["-d", "1234:11e8", "info"])), ["ffff:00:04.0", "ffff:01:00.0"]);
    assert_eq!(titles(&ok(&e, &["info"])).len(), 5);
    assert_eq!(titles(&ok(&e, &["config"])).len(), 5);
    assert!(ok(&e, &["-s", "07.0", "info"]).is_empty());
    fails(&e, &["-d", "1234:11e8", "read", "ID"], 2, "'-d 1234:11e8' matches 2 devices: ffff:00:04.0, ffff:01:00.0");
    fails(&e, &["-s", "07.0", "read", "ID"], 3, "no PCI device matches '-s *:*:07.0'");
    fails(&e, &["--device", "ffff:00:07.0", "info"], 3, "ffff:00:07.0");
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
    // The tree as lspci -t draws it: the bridge from the kernel's parent link
    // (the fake bridge's header says nothing), lspci's empty bus 0000:00 of
    // its host bridge on a machine without domain 0.
    let tree = ok(&e, &["list", "--tree"]);
    let want = "-+-[0000:00]-\n \\-[ffff:00]-+-03.0\n             +-04.0\n             +-05.0\n             \\-1c.0-[01]----00.0\n";
    assert_eq!(tree, want, "{tree}");
    let named = ok(&e, &["list", "-tv"]);
    assert!(named.contains("+-03.0  Intel Corporation 82540EM Gigabit Ethernet Controller\n"), "{named}");
    assert!(named.contains("\\-1c.0-[01]----00.0  Device 1234:11e8\n"), "{named}");
    assert_eq!(ok(&e, &["-s", "01:", "list", "-t"]), "-\\-[ffff:00]-\\-1c.0-[01]----00.0\n");
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
    assert!(line.starts_with("ffff:00:04.0 config 0x0004 COMMAND = 0x0007  INTX_DISABLE=0x0 "), "{line}");
    assert!(line.trim_end().ends_with("BUS_MASTER=0x1 MEMORY=0x1 IO=0x1"), "{line}");
    // The same read as the register map's, in every front end: `read --bar config`.
    assert_eq!(run(&["read", "--bar", "config", "COMMAND"]), line);
    assert_eq!(run(&["config", "read", "MSI.CTRL.64BIT", "-q"]), "0x1\n");
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
        "Unknown register \"NOPE\"",
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
        3,
        "the device has no AER capability (ECAP_AER+4.l; it has none with that ID)",
    );
    fails(
        &e,
        &with(&["config", "read", "CAP_EXP+2.w"]).iter().map(String::as_str).collect::<Vec<_>>(),
        3,
        "the device has no EXP capability (CAP_EXP+2.w; it has none with that ID)",
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

/// Outputs validated, and the ops seen.
struct Checked {
    v: jsonschema::Validator,
    objects: usize,
    ops: Vec<String>,
}

impl Checked {
    fn new() -> Self {
        Checked { v: common::schema::validator(), objects: 0, ops: Vec::new() }
    }

    /// Every line of `text` matches the schema.
    fn text(&mut self, what: &str, text: &str) {
        self.objects += common::schema::check_lines(&self.v, what, text).unwrap_or_else(|e| panic!("{e}"));
        self.ops.extend(common::schema::ops(text));
    }

    /// `args` exits with `code`, and what it printed matches the schema.
    fn run(&mut self, env: &Env, args: &[&str], code: i32) {
        let o = run_in(Some(env), args);
        assert_eq!(o.status.code(), Some(code), "{args:?}:\n{}{}", out(&o), err(&o));
        self.text(&format!("{args:?}"), &out(&o));
    }
}

/// The words of `base` then `more`.
fn cat<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

/// Commands run on the host, on a `sim:` device, a fake sysfs tree, a host
/// file and an ivshmem server on a socket: each object they print with
/// --json is one the schema accepts, and every op the schema has is seen
/// here but those that need the lab's devices (tests/vm/ecosystem.rs).
#[test]
fn every_json_output_matches_the_schema() {
    let mut c = Checked::new();
    let e = tree();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let state = path("state.json");
    let sim = ["--device", "sim:tests/data/edu/edu.svd", "--state", &state, "--json"];
    let script = path("script.mmio");
    fs::write(
        &script,
        "read ID\nwrite LIVENESS 0x1\npoll STATUS.COMPUTING 0\nexpect ID 0x010000ed\ndump\nsleep 1\necho hello there\nmaps\ndump-regs --len 16\n",
    )
    .unwrap();
    let bad = path("bad.mmio");
    fs::write(&bad, "read ID\nread NOPE\n").unwrap();
    let (converted, man) = (path("edu.toml"), path("man"));
    // edu's ID in the fake BAR, so edu's commands find an edu.
    fs::OpenOptions::new()
        .write(true)
        .open(e.tree.device_dir("ffff:00:04.0").join("resource0"))
        .and_then(|f| std::os::unix::fs::FileExt::write_all_at(&f, &0x0100_00ed_u32.to_le_bytes(), 0))
        .unwrap();
    let pci: &[&[&str]] = &[
        &["list", "--json"],
        &["list", "-nn", "--json"],
        &["-s", "04.0", "info", "--json"],
        &["-s", "05.0", "info", "--json"],
        &["-s", "1c.0", "info", "--json"],
        &["-s", "04.0", "config", "--json"],
        &["-s", "04.0", "config", "read", "COMMAND", "--json"],
        &["-s", "04.0", "config", "read", "COMMAND.MEMORY", "--json"],
        &["-s", "04.0", "config", "write", "CAP_MSI+2.w", "0x1:0x1", "--dry-run", "--json"],
        &["-s", "04.0", "config", "write", "LATENCY_TIMER", "0x40", "--json"],
        &["-s", "04.0", "config", "write", "COMMAND.SERR", "1", "--dry-run", "--json"],
        &["config", "read", "MSI.CTRL", "--json"],
        &["-s", "04.0", "read", "--bar", "config", "STATUS", "--json"],
        &["-s", "04.0", "dump-regs", "--bar", "config", "--json"],
        &["--json", "setpci", "-s", "04.0", "COMMAND", "LATENCY_TIMER=40", "CAP_MSI+2.w"],
        &["-F", "tests/data/pciutils/cap-pcie-2", "info", "--json"],
        &["-F", "tests/data/pciutils/cap-pcie-2", "list", "--json"],
        &["-F", "tests/data/pciutils/cap-pcie-2", "config", "--json"],
        &["doctor", "--json"],
        &["udev", "--json"],
        &["-s", "03.0", "doctor", "--json"],
        &["-s", "04.0", "read", "ID", "--json"],
        &["-s", "04.0", "write", "LIVENESS", "0x5", "--json"],
        &["-s", "04.0", "dump-regs", "--json"],
        &["-s", "04.0", "dump-regs", "--len", "32", "--json"],
        &["-s", "04.0", "edu", "id", "--json"],
        &["-s", "04.0", "edu", "status", "--json"],
        &["-s", "04.0", "edu", "irq", "raise", "0x4", "--json"],
        &["-s", "04.0", "edu", "irq", "ack", "0x4", "--json"],
        // A fake BAR computes nothing: N reads back as N!.
        &["-s", "04.0", "edu", "factorial", "3", "--json"],
        // Bound to nothing: nothing to unbind, nothing written.
        &["-s", "04.0", "unbind", "--json"],
    ];
    for args in pci {
        c.run(&e, args, 0);
    }
    // Errors are objects too: the report before a failure, then the error;
    // a line that does not parse; a device that fails a check (exit 10: a
    // finding, not an error object).
    c.run(&e, &["-s", "04.0", "edu", "liveness", "--json"], 6);
    c.run(&e, &["-s", "04.0", "read", "NOPE", "--json"], 3);
    c.run(&e, &["--json", "frobnicate"], 2);
    c.run(&e, &["-s", "04.0", "--json", "read", "ID", "--width", "12"], 2);
    let sims: Vec<Vec<&str>> = vec![
        vec!["read", "ID"],
        vec!["read", "ID.MAGIC"],
        vec!["write", "LIVENESS", "0x12", "--verify"],
        vec!["dump-regs", "--diff-reset"],
        vec!["batch", &script],
        vec!["batch", "--check", &script],
    ];
    for args in &sims {
        c.run(&e, &cat(&sim, args), 0);
    }
    // A failing batch prints its error object (with the file and line) too.
    c.run(&e, &cat(&sim, &["batch", "--keep-going", &bad]), 3);
    // The observation commands (issue 16) on the same simulated device.
    let (snap_a, snap_b, raw, trace) = (path("a.json"), path("b.json"), path("raw.json"), path("t.jsonl"));
    let observing: Vec<(Vec<&str>, i32)> = vec![
        (vec!["snapshot", "--out", &snap_a], 0),
        (vec!["--trace", &trace, "write", "LIVENESS", "0x77"], 0),
        (vec!["snapshot", "--out", &snap_b], 0),
        (vec!["snapshot", "--raw", "--len", "64", "--out", &raw], 0),
        (vec!["watch", "--timeout", "30"], 0),
        (vec!["watch", "LIVENESS", "STATUS.COMPUTING", "--timeout", "30"], 0),
        (vec!["top", "STATUS.COMPUTING", "--count", "5", "--rate", "1000"], 0),
        (vec!["decode", &snap_a], 0),
        (vec!["decode", &raw], 0),
        // Differences are findings: exit status 10.
        (vec!["diff", &snap_a, &snap_b], 10),
        (vec!["diff", &snap_b, &snap_b], 0),
        (vec!["diff", &snap_a], 10),
        (vec!["trace", "show", &trace], 0),
        (vec!["replay", &trace, "--dry-run"], 0),
        (vec!["replay", &trace, "--verify"], 0),
    ];
    for (args, code) in &observing {
        c.run(&e, &cat(&sim, args), *code);
    }
    let files: &[&[&str]] = &[
        &["regmap", "show", "tests/data/edu/edu.svd", "--json"],
        &["regmap", "check", "tests/data/edu/edu.svd", "--json"],
        &["regmap", "convert", "tests/data/edu/edu.svd", "--to", "toml", "-o", &converted, "--json"],
        &["regmap", "convert", "tests/data/edu/edu.svd", "--to", "toml", "--json"],
        &["regmap", "convert", "tests/data/nested/nested.svd", "--to", "ipxact", "--json"],
        &["regmap", "generate", "tests/data/edu/edu.svd", "--lang", "python", "--json"],
        &["man", "--dir", &man, "--json"],
    ];
    for args in files {
        c.run(&e, args, 0);
    }
    // A map that fails its checks: every problem in the object, exit status 7.
    let bad_map = path("bad.toml");
    fs::write(
        &bad_map,
        "[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 2\nwidth = 32\naccess = \"XX\"\n",
    )
    .unwrap();
    c.run(&e, &["regmap", "check", &bad_map, "--json"], 7);
    // ivshmem's commands on the host side of a shared memory (a file).
    let shm = path("shm");
    fs::write(&shm, vec![0u8; 64 << 10]).unwrap();
    let file = format!("file:{shm}");
    let host = ["--device", &file, "--json", "ivshmem"];
    let (read_out, dump_out) = (path("read.bin"), path("dump.bin"));
    let ivshmem: &[&[&str]] = &[
        &["info"],
        &["write", "--string", "hello", "--offset", "0x10"],
        &["fill", "--len", "64", "--offset", "0x100", "--byte", "0xa5"],
        &["read", "--len", "32"],
        &["read", "--len", "32", "--out", &read_out],
        &["dump"],
        &["dump", "--out", &dump_out],
        &["bench", "--size", "4K", "--rounds", "1"],
    ];
    for args in ivshmem {
        c.run(&e, &cat(&host, args), 0);
    }
    ivshmem_server_and_clients(&mut c, &e, dir.path());
    eprintln!("{} JSON objects validated", c.objects);
    // Every op of the schema was seen, but those that need the lab's
    // devices: interrupts, DMA, binding, e1000 and ivshmem's doorbell
    // (validated by tests/vm/ecosystem.rs, vm/e1000.rs, vm_e1000.rs and vm_ivshmem.rs).
    let lab_only = [
        "arm",
        "wait-irq",
        "dma alloc",
        "dma write",
        "dma read",
        "bind",
        "edu dma to-device",
        "edu dma from-device",
        "e1000 mac",
        "e1000 link",
        "e1000 tx",
        "e1000 rx",
        "e1000 stats",
        "ivshmem doorbell",
        "ivshmem wait",
        "results",
    ];
    let doc = common::schema::document();
    let mut missing: Vec<String> = doc["$defs"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, def)| match name.as_str() {
            "results" => Some("results".to_string()),
            _ => def["properties"]["op"]["const"].as_str().map(str::to_string),
        })
        .filter(|op| !c.ops.contains(op) && !lab_only.contains(&op.as_str()))
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "ops the schema has that no command here printed: {missing:?}");
    // The schema is not vacuous: objects of the old shapes and stray keys fail it.
    for old in [
        r#"{"devices": []}"#,
        r#"{"schema": 1, "op": "list", "devices": []}"#,
        r#"{"schema": 2, "devices": []}"#,
        r#"{"schema": 2, "op": "list", "devices": [], "extra": 1}"#,
        r#"{"schema": 2, "op": "frobnicate"}"#,
        r#"{"schema": 1, "address": "ffff:00:04.0", "length": 256, "hex": "00"}"#,
        r#"{"schema": 2, "op": "config", "device": "ffff:00:04.0", "length": 256, "hex": "00"}"#,
        r#"{"schema": 1, "devices": [{"device": "ffff:00:04.0", "vendor_id": "1234"}]}"#,
        r#"{"schema": 2, "op": "read", "device": "ffff:00:04.0", "bar": 0, "offset": "4", "width": 32, "register": null, "field": null, "value": 1}"#,
        r#"{"schema": 2, "op": "read", "device": "ffff:00:04.0", "bar": 0, "offset": 4, "width": 12, "register": null, "field": null, "value": 1}"#,
        r#"{"schema": 2, "op": "read", "device": "sim:x", "anything": [1, 2, 3]}"#,
        r#"{"schema": 2, "op": "snapshot", "device": "sim:x", "bar": 0, "out": "a.json", "time": "t", "registers": 1, "raw_len": null}"#,
        r#"{"schema": 2, "op": "ivshmem write", "device": "file:x", "offset": 0, "bytes": 2, "seconds": 0.001}"#,
        r#"{"schema": 2, "op": "error", "error": "x", "class": "Nope", "exit": 2, "device": null, "fix": null}"#,
        r#"{"schema": 2, "op": "read", "results": [{"schema": 2, "op": "read"}]}"#,
    ] {
        let value: serde_json::Value = serde_json::from_str(old).unwrap();
        assert!(!c.v.is_valid(&value), "the schema accepts {old}");
    }
}

/// ivshmem-server with two host clients: one waits, the other lists the
/// peers and rings it; the server stops on SIGINT.
fn ivshmem_server_and_clients(c: &mut Checked, e: &Env, dir: &Path) {
    let (socket, shm) = (dir.join("ivshmem.sock"), dir.join("ivshmem.shm"));
    let (socket, shm) = (socket.to_str().unwrap(), shm.to_str().unwrap());
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
            .args(args)
            .env("MMIODRV_SYSFS_ROOT", e.tree.root())
            .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn mmiodrv")
    };
    let server =
        spawn(&["--json", "ivshmem-server", "--socket", socket, "--shm", shm, "--size", "64K", "--vectors", "2"]);
    let up = std::time::Instant::now();
    while !Path::new(socket).exists() && up.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let client = ["--json", "ivshmem", "client", "--socket", socket];
    let waiter = spawn(&cat(&client, &["wait", "--vector", "1", "--timeout", "10000"]));
    // The waiter is the only other peer once it has joined.
    let mut peer = None;
    for _ in 0..200 {
        let o = run_in(Some(e), &cat(&client, &["peers"]));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        peer = v["peers"].as_array().and_then(|p| p.first()).and_then(|p| p["peer"].as_u64());
        if peer.is_some() {
            c.text("ivshmem client peers", &out(&o));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let peer = peer.expect("the waiting client joined").to_string();
    c.run(e, &cat(&client, &["ring", &peer, "1"]), 0);
    let waited = waiter.wait_with_output().unwrap();
    assert!(waited.status.success(), "{}", err(&waited));
    c.text("ivshmem client wait", &out(&waited));
    let stopped = Command::new("kill").args(["-INT", &server.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let served = server.wait_with_output().unwrap();
    assert!(served.status.success(), "{}", err(&served));
    let text = out(&served);
    assert!(text.contains(r#""event":"stopped""#) && text.contains(r#""event":"joined""#), "{text}");
    c.text("ivshmem-server", &text);
}

/// docs/json-schema.json is what `mmiodrv json-schema` prints: the schema
/// generated from the types the objects are made of.
#[test]
fn the_schema_file_is_the_generated_one() {
    let o = run_in(None, &["json-schema"]);
    assert!(o.status.success(), "{}", err(&o));
    let file = fs::read_to_string(repo().join("docs/json-schema.json")).unwrap();
    assert!(
        file == out(&o),
        "docs/json-schema.json differs from the schema the types give: regenerate it with\n\
         cargo run -q -- json-schema > docs/json-schema.json\n(and describe the change in docs/json.md)"
    );
    let v: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

/// Config space by name through the one executor, in every front end:
/// `read`/`write --bar config`, `dump-regs`, `watch`, `top`, `snapshot` and
/// `decode`, a batch script; `setpci` on the same registers.
#[test]
fn config_space_through_every_front_end() {
    let e = tree();
    let edu = ["-s", "ffff:00:04.0"];
    let run = |more: &[&str]| ok(&e, &cat(&edu, more));
    let dump = run(&["dump-regs", "--bar", "config"]);
    assert!(dump.starts_with("config ffff:00:04.0 config (built-in config map)"), "{dump}");
    assert!(dump.contains("MSI.CTRL"), "{dump}");
    assert_eq!(run(&["read", "--bar", "config", "STATUS.CAP_LIST", "-q"]), "0x1\n");
    let w = run(&["write", "--bar", "config", "LATENCY_TIMER", "0x20"]);
    assert!(w.starts_with("ffff:00:04.0 config 0x000d LATENCY_TIMER <- 0x20"), "{w}");
    assert_eq!(config_bytes(&e, "ffff:00:04.0")[0x0d], 0x20);
    // A field write leaves the write-1-to-clear bits of STATUS alone.
    let w = run(&["write", "--bar", "config", "COMMAND.SERR", "1"]);
    assert!(w.contains("COMMAND.SERR <- 0x1"), "{w}");
    assert_eq!(config_bytes(&e, "ffff:00:04.0")[4..6], [0x07, 0x01]);
    let watch =
        run(&["watch", "--bar", "config", "LATENCY_TIMER", "--until", "LATENCY_TIMER=0x20", "--timeout", "2000"]);
    assert!(watch.contains("LATENCY_TIMER"), "{watch}");
    let top = run(&["top", "--bar", "config", "COMMAND", "--count", "20", "--refresh", "1000000"]);
    assert!(top.contains("BUS_MASTER"), "{top}");
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("config.json");
    run(&["snapshot", "--bar", "config", "--out", snap.to_str().unwrap()]);
    let decoded = ok(&e, &["decode", snap.to_str().unwrap()]);
    assert!(decoded.contains("LATENCY_TIMER") && decoded.contains("0x20"), "{decoded}");
    let script = dir.path().join("config.mmio");
    fs::write(&script, "read --bar config COMMAND.BUS_MASTER -q\nwrite --bar config LATENCY_TIMER 0x30\nread --bar config 0xd --width 8 -q\n").unwrap();
    assert_eq!(run(&["batch", script.to_str().unwrap()]).lines().last(), Some("0x30"));
    // setpci on the same bytes.
    assert_eq!(run(&["setpci", "LATENCY_TIMER", "COMMAND"]), "30\n0107\n");
    assert_eq!(ok(&e, &["setpci", "-s", "ffff:00:04.0", "LATENCY_TIMER=40", "LATENCY_TIMER"]), "40\n");
    assert_eq!(config_bytes(&e, "ffff:00:04.0")[0x0d], 0x40);
    let o = run_in(Some(&e), &["setpci", "-s", "ffff:00:04.0", "CAP_VNDR@1+3.b"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o), "setpci: Invalid number \"1+3.b\".\nTry `setpci --help' for more information.\n");
    assert_eq!(ok(&e, &["setpci", "--dumpregs"]).lines().next(), Some("cap pos w name"));
}
