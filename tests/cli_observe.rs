//! `watch`, `top`, `snapshot`, `decode`, `diff`, `--trace`, `trace show` and
//! `replay` on the host: on `file:` devices (a shared-memory file with a
//! user's map, another thread or process changing it) and on fake sysfs
//! trees (a fake edu and ivshmem, for the built-in maps and the replay's ID
//! check). The same commands run on QEMU's real edu in tests/vm/observe.rs.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::fake_sysfs::{FakeDevice, FakeSysfs, MEM32};

const MAP: &str = r#"
[device]
name = "mbox"
bar = 2

[[register]]
name = "MAGIC"
offset = 0x0
width = 32
access = "RW"

[[register]]
name = "STATE"
offset = 0x4
width = 32
access = "RW"
field = [
    { name = "PHASE", bits = "3:1", values = { 0 = "idle", 1 = "sending", 2 = "done" } },
    { name = "BUSY", bits = 0 },
]

[[register]]
name = "SEQ"
offset = 0x8
width = 64
access = "RW"

[[register]]
name = "DOORBELL"
offset = 0x10
width = 32
access = "WO"

[[register]]
name = "EVENTS"
offset = 0x14
width = 32
access = "RW"
read_side_effects = true
"#;

/// A 4 KiB shared-memory file and a map for it, in a temp dir.
struct Shm {
    dir: tempfile::TempDir,
}

impl Shm {
    fn new() -> Shm {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("shm"), [0u8; 4096]).unwrap();
        fs::write(dir.path().join("mbox.toml"), MAP).unwrap();
        Shm { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn device(&self) -> String {
        format!("file:{}", self.path("shm").display())
    }
    fn map(&self) -> String {
        self.path("mbox.toml").display().to_string()
    }
    fn put32(&self, offset: u64, v: u32) {
        let f = fs::OpenOptions::new().write(true).open(self.path("shm")).unwrap();
        f.write_all_at(&v.to_le_bytes(), offset).unwrap();
    }
    /// mmiodrv --device file:SHM ARGS... (with --regmap MAP when `map`).
    fn run(&self, args: &[&str], map: bool) -> Output {
        let mut all: Vec<String> = vec!["--device".into(), self.device()];
        all.extend(args.iter().map(|s| s.to_string()));
        if map {
            all.extend(["--regmap".into(), self.map()]);
        }
        run(&all, None)
    }
}

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S], sysfs: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmiodrv"));
    c.args(args)
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_PCI_IDS", "/nonexistent")
        .env_remove("RUST_LOG")
        .env_remove("MMIODRV_DEVICE");
    match sysfs {
        Some(root) => c.env("MMIODRV_SYSFS_ROOT", root),
        // No PCI device is reached without a tree: point at an empty one.
        None => c.env("MMIODRV_SYSFS_ROOT", "/nonexistent"),
    };
    c.output().expect("run mmiodrv")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn expect(o: &Output, code: i32) -> String {
    assert_eq!(o.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
    stdout(o)
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn a_file_is_bar0_and_a_map_applies_whatever_bar_it_names() {
    let s = Shm::new();
    s.put32(4, 0x5);
    let out = expect(&s.run(&["dump-regs"], true), 0);
    assert!(out.starts_with(&format!("mbox {} BAR0 ({})\n", s.device(), s.map())), "{out}");
    assert!(out.contains("0x0004  STATE     0x00000005          PHASE=0x2 (done) BUSY=0x1"), "{out}");
    assert!(out.contains("0x0014  EVENTS    (not read: read has side effects; --all reads it)"), "{out}");
    let out = expect(&s.run(&["read", "0x4", "--quiet"], false), 0);
    assert_eq!(out, "0x00000005\n", "offsets are file offsets");
    let o = s.run(&["read", "0x1000"], false);
    assert!(stderr(&o).contains("outside the 0x1000-byte region"), "{}", stderr(&o));
    let empty = s.path("empty");
    fs::write(&empty, b"").unwrap();
    let o = run(&["--device", &format!("file:{}", empty.display()), "dump-regs"], None);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains("the file is empty"), "{}", stderr(&o));
}

#[test]
fn watch_prints_each_change_with_its_time() {
    use std::io::BufRead;
    let s = Shm::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["--device", &s.device(), "watch", "--regmap", &s.map()])
        .args(["--interval", "5", "--count", "3", "--timeout", "20000"])
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env_remove("MMIODRV_DEVICE")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut out = String::new();
    // The first sample (three registers), then one change at a time, each
    // made after the watch has reported the one before.
    for _ in 0..3 {
        reader.read_line(&mut out).unwrap();
    }
    for (offset, v) in [(4u64, 1u32), (0, 0xfeed), (4, 0x4)] {
        std::thread::sleep(Duration::from_millis(50));
        s.put32(offset, v);
        reader.read_line(&mut out).unwrap();
    }
    assert!(child.wait().unwrap().success(), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "three first values, three changes:\n{out}");
    assert!(lines[0].starts_with("+0.0") && lines[0].ends_with("  MAGIC  0x00000000"), "{out}");
    assert!(lines[1].ends_with("STATE  0x00000000  PHASE=0x0 (idle) BUSY=0x0"), "{out}");
    assert!(lines[3].ends_with("STATE  0x00000000 -> 0x00000001  BUSY 0x0 -> 0x1"), "{out}");
    assert!(lines[4].ends_with("MAGIC  0x00000000 -> 0x0000feed"), "{out}");
    assert!(lines[5].ends_with("STATE  0x00000001 -> 0x00000004  PHASE 0x0 -> 0x2 (done) BUSY 0x1 -> 0x0"), "{out}");
    let t: Vec<f64> = lines.iter().map(|l| l[1..l.find(' ').unwrap()].parse().unwrap()).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]) && t[3] >= 0.05 && t[5] >= t[3] + 0.1, "timestamps {t:?}");
    // Nothing to wait for: --until holds at once; a condition not met is exit 8.
    let out = expect(&s.run(&["watch", "STATE.BUSY", "--until", "STATE.PHASE=2", "--json"], true), 0);
    let v = json_lines(&out);
    assert_eq!(v.len(), 2, "{out}");
    assert_eq!(
        (v[1]["name"].as_str(), v[1]["new"].as_u64(), v[1]["meaning"].as_str()),
        (Some("STATE.PHASE"), Some(2), Some("done"))
    );
    assert!(
        v.iter().all(|o| o["device"] == s.device() && o["old"].is_null() && o["t_ms"].is_u64() && o["op"] == "watch"),
        "{out}"
    );
    assert_eq!((v[0]["field"].as_str(), v[1]["field"].as_str()), (Some("BUSY"), Some("PHASE")), "{out}");
    let o = s.run(&["watch", "--until", "MAGIC=1", "--interval", "5", "--timeout", "50"], true);
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    assert!(stderr(&o).contains("timed out after 50 ms waiting for MAGIC to read 0x1"), "{}", stderr(&o));
    // Without --count or --until, --timeout is how long to watch.
    expect(&s.run(&["watch", "--interval", "5", "--timeout", "30"], true), 0);
    // Checked before anything is read.
    let o = s.run(&["watch", "--until", "STATE.BUSY=2"], true);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = s.run(&["watch", "DOORBELL"], true);
    assert!(stderr(&o).contains("DOORBELL is write-only"), "{}", stderr(&o));
}

#[test]
fn watch_reads_side_effect_registers_only_when_named() {
    let s = Shm::new();
    let trace = s.path("watch.trace");
    let t = trace.display().to_string();
    expect(&s.run(&["--trace", &t, "watch", "--interval", "5", "--timeout", "40"], true), 0);
    let text = fs::read_to_string(&trace).unwrap();
    let entries = json_lines(&text);
    let reads: Vec<u64> = entries.iter().filter(|e| e["op"] == "read").map(|e| e["offset"].as_u64().unwrap()).collect();
    assert!(reads.len() >= 4, "several samples:\n{text}");
    assert!(reads.iter().all(|o| [0, 4, 8].contains(o)), "never EVENTS (0x14) or DOORBELL (0x10): {reads:?}");
    expect(&s.run(&["--trace", &t, "watch", "EVENTS", "--interval", "5", "--timeout", "20"], true), 0);
    let text = fs::read_to_string(&trace).unwrap();
    assert!(json_lines(&text).iter().any(|e| e["op"] == "read" && e["offset"] == 0x14), "named: read\n{text}");
}

#[test]
fn top_shows_each_fields_share_and_the_rate() {
    let s = Shm::new();
    let shm = s.path("shm");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let toggler = std::thread::spawn(move || {
        let f = fs::OpenOptions::new().write(true).open(shm).unwrap();
        let mut on = false;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            on = !on;
            f.write_all_at(&u32::from(on).to_le_bytes(), 4).unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
    });
    let out =
        expect(&s.run(&["top", "STATE", "--rate", "1000", "--count", "500", "--refresh", "100", "--json"], true), 0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    toggler.join().unwrap();
    let v = json_lines(&out);
    assert!(v.len() >= 2, "periodic objects, then the final one:\n{out}");
    let last = v.last().unwrap();
    assert_eq!((last["final"].as_bool(), last["samples"].as_u64()), (Some(true), Some(500)));
    assert!(v[..v.len() - 1].iter().all(|o| o["final"] == false && o["device"] == s.device()));
    let rate = last["rate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate <= 1001.0, "achieved rate {rate}");
    let busy = last["items"].as_array().unwrap().iter().find(|i| i["name"] == "STATE.BUSY").unwrap();
    let set = busy["set"].as_f64().unwrap();
    assert!(set > 0.0 && set < 1.0, "BUSY toggles: share {set}");
    let phase = last["items"].as_array().unwrap().iter().find(|i| i["name"] == "STATE.PHASE").unwrap();
    assert_eq!(phase["values"][0]["meaning"], "idle");
    // Not a terminal: periodic lines, then the table.
    let out = expect(&s.run(&["top", "--rate", "200", "--count", "40", "--refresh", "50"], true), 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("samples in") && lines[0].contains("STATE.BUSY"), "{out}");
    let head = lines.iter().position(|l| l.starts_with(&format!("{} BAR0: 40 samples", s.device()))).unwrap();
    assert_eq!(lines[head + 1].split_whitespace().collect::<Vec<_>>(), ["NAME", "SET", "VALUES"], "{out}");
    assert!(lines[head..].iter().any(|l| l.starts_with("STATE.PHASE") && l.contains("0x0 (idle) 100.0%")), "{out}");
    assert!(!out.contains("EVENTS"), "the side-effect register is not sampled:\n{out}");
    let o = s.run(&["top", "--rate", "0"], true);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn snapshot_decode_and_diff_name_exactly_what_changed() {
    let s = Shm::new();
    s.put32(0, 0xfeed);
    let snap = s.path("a.json");
    let a = snap.display().to_string();
    let out = expect(&s.run(&["snapshot", "--out", &a], true), 0);
    assert_eq!(out, format!("{}: BAR0, 3 of 5 registers ({}) -> {a}\n", s.device(), s.map()));
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(
        (v["snapshot"].as_u64(), v["device"].as_str(), v["bar"].as_u64()),
        (Some(1), Some(s.device().as_str()), Some(0))
    );
    assert_eq!(v["map"]["name"], "mbox");
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
    // decode prints what dump-regs prints, from the file alone.
    let dump = expect(&s.run(&["dump-regs"], true), 0);
    let decoded = expect(&run(&["decode", &a], None), 0);
    assert!(decoded.starts_with(&format!("snapshot of {} taken 20", s.device())), "{decoded}");
    assert_eq!(decoded.lines().skip(1).collect::<Vec<_>>(), dump.lines().collect::<Vec<_>>());
    // One field of one register changes: diff names exactly that.
    s.put32(4, 0x2);
    // A difference found is exit status 10, as `doctor` finding a problem.
    let out = expect(&s.run(&["diff", &a], false), 10);
    assert_eq!(
        out,
        format!(
            "STATE  0x00000000 -> 0x00000002  PHASE 0x0 (idle) -> 0x1 (sending)\n1 register differs between {a} and {} now\n",
            s.device()
        )
    );
    let b = s.path("b.json").display().to_string();
    expect(&s.run(&["snapshot", "--out", &b], true), 0);
    let out = expect(&run(&["diff", &a, &b, "--json"], None), 10);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["registers"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(v["registers"][0]["fields"][0]["new_meaning"], "sending");
    assert_eq!(expect(&run(&["diff", &b, &b], None), 0), format!("no differences between {b} and {b}\n"));
    // Raw snapshots: words; with a map, registers.
    let raw = s.path("raw.json").display().to_string();
    expect(&s.run(&["snapshot", "--raw", "--len", "0x20", "--out", &raw], true), 0);
    s.put32(8, 7);
    let out = expect(&s.run(&["diff", &raw], false), 10);
    assert_eq!(
        out,
        format!("0x0008  0x00000000 -> 0x00000007  (SEQ)\n1 word differs between {raw} and {} now\n", s.device())
    );
    let decoded = expect(&run(&["decode", &raw], None), 0);
    assert!(
        decoded.contains("00000010: -------- -------- 00000000 00000000"),
        "DOORBELL and EVENTS not read:\n{decoded}"
    );
    let decoded = expect(&run(&["decode", &raw, "--regmap", &s.map()], None), 0);
    assert!(decoded.contains("0x0004  STATE     0x00000002          PHASE=0x1 (sending) BUSY=0x0"), "{decoded}");
    // Bad input: one line, exit 2, nothing else.
    fs::write(s.path("bad.json"), "{\"snapshot\": 1,\n\"device\": 3}").unwrap();
    let o = run(&["decode", &s.path("bad.json").display().to_string()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.json:2: not a valid mmiodrv snapshot"), "{}", stderr(&o));
}

fn fake_tree() -> FakeSysfs {
    let t = FakeSysfs::new();
    t.add(&FakeDevice::edu("ffff:00:04.0"));
    t.add(&FakeDevice {
        vendor: 0x1af4,
        device: 0x1110,
        class: 0x050000,
        bars: vec![(0x100, MEM32), (0, 0), (0x100000, MEM32)],
        ..FakeDevice::edu("ffff:00:05.0")
    });
    t
}

fn bar0(t: &FakeSysfs, addr: &str) -> fs::File {
    fs::OpenOptions::new().read(true).write(true).open(t.device_dir(addr).join("resource0")).unwrap()
}

#[test]
fn a_trace_records_every_access_and_replays_on_the_same_kind_of_device_only() {
    let t = fake_tree();
    let root = Some(t.root());
    let trace = t.root().join("w.trace");
    let tr = trace.display().to_string();
    expect(&run(&["--device", "ffff:00:04.0", "--trace", &tr, "write", "STATUS.IRQ_FACT", "1"], root), 0);
    expect(&run(&["--device", "ffff:00:04.0", "--trace", &tr, "write", "FACTORIAL", "10"], root), 0);
    let lines = json_lines(&fs::read_to_string(&trace).unwrap());
    assert_eq!(lines[0]["trace"], 1);
    assert_eq!((lines[0]["device"].as_str(), lines[0]["ids"]["vendor"].as_u64()), (Some("ffff:00:04.0"), Some(0x1234)));
    let ops: Vec<_> = lines[1..].iter().map(|e| (e["op"].as_str().unwrap(), e["offset"].as_u64())).collect();
    assert_eq!(ops, [("regmap", None), ("write", Some(8))], "a new trace per run; the write alone");
    let out = expect(&run(&["trace", "show", &tr], None), 0);
    assert!(out.starts_with("trace of ffff:00:04.0 (IDs 1234:11e8 rev 10), sysfs backend, recorded "), "{out}");
    assert!(out.lines().any(|l| l.ends_with("BAR0  0x0008  write  0x0000000a          FACTORIAL")), "{out}");
    assert!(out.lines().any(|l| l.ends_with("BAR0  register map edu (built-in)")), "{out}");
    // A batch run is traced the same way, one trace for the whole run.
    let btrace = t.root().join("b.trace");
    let script = t.root().join("s.txt");
    fs::write(&script, "write LIVENESS 0x5\nread LIVENESS\n").unwrap();
    let bt = btrace.display().to_string();
    expect(&run(&["--device", "ffff:00:04.0", "--trace", &bt, "batch", &script.display().to_string()], root), 0);
    let ops: Vec<(String, Option<u64>, Option<u64>)> = json_lines(&fs::read_to_string(&btrace).unwrap())[1..]
        .iter()
        .filter(|e| e["op"] != "regmap")
        .map(|e| (e["op"].as_str().unwrap().to_string(), e["offset"].as_u64(), e["value"].as_u64()))
        .collect();
    assert_eq!(ops, [("write".into(), Some(4), Some(5)), ("read".into(), Some(4), Some(5))]);
    // Replay: the write again, on a device left at 0; refused on another kind.
    bar0(&t, "ffff:00:04.0").write_all_at(&[0; 16], 0).unwrap();
    let out = expect(&run(&["--device", "ffff:00:04.0", "replay", &tr, "--dry-run"], root), 0);
    assert_eq!(
        out,
        format!("BAR0 0x0008 FACTORIAL    write 0x0000000a\ndry run: would replay 1 write of {tr} on ffff:00:04.0\n")
    );
    let mut b = [0u8; 4];
    bar0(&t, "ffff:00:04.0").read_exact_at(&mut b, 8).unwrap();
    assert_eq!(u32::from_le_bytes(b), 0, "a dry run writes nothing");
    let out = expect(&run(&["--device", "ffff:00:04.0", "replay", &tr, "--verify"], root), 0);
    assert_eq!(out, format!("BAR0 0x0008 FACTORIAL    write 0x0000000a\nreplayed 1 write and verified 0 reads of {tr} on ffff:00:04.0\n"));
    bar0(&t, "ffff:00:04.0").read_exact_at(&mut b, 8).unwrap();
    assert_eq!(u32::from_le_bytes(b), 10);
    let o = run(&["--device", "ffff:00:05.0", "replay", &tr], root);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("was recorded on ffff:00:04.0 (IDs 1234:11e8 rev 10, edu), this device has ffff:00:05.0 (IDs 1af4:1110 rev 10, ivshmem)"), "{err}");
    assert!(err.contains("fix: pass --force if you are sure") && err.lines().count() == 1, "{err}");
    bar0(&t, "ffff:00:05.0").read_exact_at(&mut b, 8).unwrap();
    assert_eq!(u32::from_le_bytes(b), 0, "nothing written on the refused device");
    // --verify checks reads: a read recorded as 0x0a, now another value.
    let rtrace = t.root().join("r.trace");
    let rt = rtrace.display().to_string();
    expect(&run(&["--device", "ffff:00:04.0", "--trace", &rt, "read", "FACTORIAL"], root), 0);
    bar0(&t, "ffff:00:04.0").write_all_at(&11u32.to_le_bytes(), 8).unwrap();
    let o = run(&["--device", "ffff:00:04.0", "replay", &rt, "--verify", "--timeout", "20"], root);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("BAR0 0x0008 FACTORIAL    read  0x0000000a  MISMATCH: read 0x0000000b\n"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("1 replayed read(s) differ from the trace"), "{}", stderr(&o));
    // A trace that is not one.
    fs::write(&rtrace, "{\"trace\":1}\n").unwrap();
    let o = run(&["--device", "ffff:00:04.0", "replay", &rt], root);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("r.trace:1: not a valid mmiodrv trace"), "{}", stderr(&o));
}

#[test]
fn a_simulated_device_is_observed_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let svd = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/edu/edu.svd");
    let device = format!("sim:{}", svd.display());
    let state = dir.path().join("state.json").display().to_string();
    let at = |name: &str| dir.path().join(name).display().to_string();
    let sim = |args: &[&str]| {
        let mut all = vec!["--device", device.as_str(), "--state", state.as_str()];
        all.extend_from_slice(args);
        run(&all, None)
    };
    let (snap, trace) = (at("s.json"), at("t.jsonl"));
    expect(&sim(&["snapshot", "--out", &snap]), 0);
    expect(&sim(&["--trace", &trace, "write", "STATUS.IRQ_FACT", "1"]), 0);
    let out = expect(&sim(&["diff", &snap]), 10);
    assert_eq!(out, format!("STATUS  0x00000000 -> 0x00000080  IRQ_FACT 0x0 -> 0x1\n1 register differs between {snap} and {device} now\n"));
    let out = expect(&sim(&["watch", "STATUS", "--until", "STATUS.IRQ_FACT=1"]), 0);
    assert!(out.ends_with("STATUS.IRQ_FACT  0x1\n"), "{out}");
    // The trace names the map's file: read (as data) only when asked, its
    // registers then named; replayed on a fresh state, the write lands again.
    let unasked = expect(&run(&["trace", "show", &trace], None), 0);
    assert!(unasked.lines().any(|l| l.trim_end().ends_with("write  0x00000080")), "shown by offset: {unasked}");
    let shown = expect(&run(&["trace", "show", &trace, "--recorded-map"], None), 0);
    assert!(
        shown.lines().any(|l| l.ends_with("write  0x00000080          STATUS  IRQ_FACT=0x1 COMPUTING=0x0 (idle)")),
        "{shown}"
    );
    fs::remove_file(&state).unwrap();
    expect(&sim(&["replay", &trace, "--verify"]), 0);
    assert_eq!(expect(&sim(&["read", "STATUS", "--quiet"]), 0), "0x00000080\n");
}
