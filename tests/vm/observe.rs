//! Watching a device (watch, top, snapshots, traces and replay) on the real
//! edu and ivshmem: changes made by another process are seen, a sampled bit
//! is set in a share of samples strictly between 0 and 1, a diff names exactly
//! the register and field changed, and a trace of `edu factorial 10` replayed
//! on a freshly booted guest leaves 10! in FACTORIAL (and is refused on ivshmem).

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::backends::{bind, reset_edu};
use crate::common::vm::{check, fails, finds, guest_config, ok};
use crate::{EDU, IVSHMEM};

/// A factorial edu takes long enough to be seen computing (about a second
/// under TCG here: N multiplications in QEMU's edu thread).
const LONG_FACTORIAL: u32 = 1_000_000_000;

/// Read a guest file until `done` holds (up to 60 s).
fn wait_for(lab: &mut Lab, path: &str, done: impl Fn(&str) -> bool) -> Result<String, Failed> {
    let start = Instant::now();
    loop {
        let text = ok(lab, &format!("cat {path} 2>/dev/null || true"))?;
        if done(&text) {
            return Ok(text);
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(format!("{path} never got there:\n{text}").into());
        }
        ok(lab, "sleep 0.1")?;
    }
}

pub fn watch_sees_a_factorial_from_another_process(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    ok(lab, &format!("{EDU} write LIVENESS 0"))?;
    ok(lab, "rm -f /tmp/w")?;
    let watch = format!("{EDU} watch STATUS.COMPUTING LIVENESS --interval 2 --count 3 --timeout 60000");
    ok(lab, &format!("({watch} > /tmp/w 2>&1; echo \"exit $?\" >> /tmp/w) &"))?;
    wait_for(lab, "/tmp/w", |t| t.lines().count() >= 2)?;
    let out = ok(lab, &format!("{EDU} edu factorial {LONG_FACTORIAL} --timeout 60000"))?;
    check(out.starts_with(&format!("{LONG_FACTORIAL}! = ")), out)?;
    ok(lab, &format!("{EDU} write LIVENESS 1"))?;
    let got = wait_for(lab, "/tmp/w", |t| t.contains("exit "))?;
    let lines: Vec<&str> = got.lines().collect();
    let shape: Vec<String> =
        lines.iter().map(|l| l.split_once("  ").map_or(*l, |(_, rest)| rest).to_string()).collect();
    check(
        shape
            == [
                "STATUS.COMPUTING  0x0 (idle)",
                "LIVENESS          0xffffffff",
                "STATUS.COMPUTING  0x0 -> 0x1 (busy)",
                "STATUS.COMPUTING  0x1 -> 0x0 (idle)",
                "LIVENESS          0xffffffff -> 0xfffffffe",
                "exit 0",
            ],
        got.clone(),
    )?;
    // Each line has its time: seconds since the watch started, in order.
    let t: Vec<f64> = lines[..5].iter().map(|l| l[1..l.find(' ').unwrap_or(1)].parse().unwrap_or(-1.0)).collect();
    check(t.windows(2).all(|w| 0.0 <= w[0] && w[0] <= w[1]) && t[3] > t[2], format!("times {t:?}\n{got}"))?;
    // JSON lines, and --until: already idle, so it ends at once.
    let out = ok(lab, &format!("{EDU} watch --until STATUS.COMPUTING=0 --json"))?;
    let objects: Vec<serde_json::Value> = out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let names: Vec<&str> = objects.iter().filter_map(|o| o["name"].as_str()).collect();
    check(
        names
            == [
                "ID",
                "LIVENESS",
                "FACTORIAL",
                "STATUS",
                "IRQ_STATUS",
                "DMA_SRC",
                "DMA_DST",
                "DMA_COUNT",
                "DMA_CMD",
                "STATUS.COMPUTING",
            ],
        out.clone(),
    )?;
    check(objects.iter().all(|o| o["device"] == "0000:00:04.0" && o["time"].is_string()), out)
}

pub fn top_samples_status_under_factorials(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    ok(lab, "rm -f /tmp/stop /tmp/loop")?;
    let one = format!("{EDU} edu factorial 100000000 --timeout 60000 >/dev/null");
    ok(lab, &format!("(while [ ! -e /tmp/stop ]; do {one}; done; echo done > /tmp/loop) &"))?;
    let out = ok(lab, &format!("{EDU} top STATUS --rate 500 --count 1500 --json"));
    ok(lab, "touch /tmp/stop")?;
    wait_for(lab, "/tmp/loop", |t| t.contains("done"))?;
    let out = out?;
    let last: serde_json::Value = out.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
    check(last["final"] == true && last["samples"] == 1500, out.clone())?;
    let items = last["items"].as_array().cloned().unwrap_or_default();
    let computing = items.iter().find(|i| i["name"] == "STATUS.COMPUTING").cloned().unwrap_or_default();
    let share = computing["set"].as_f64().unwrap_or(-1.0);
    check(
        0.0 < share && share < 1.0,
        format!("COMPUTING set in a share of samples strictly inside (0, 1): {share}\n{out}"),
    )?;
    let rate = last["rate"].as_f64().unwrap_or(0.0);
    check(rate > 0.0 && rate <= 501.0, format!("achieved rate {rate}"))?;
    let irq_fact = items.iter().find(|i| i["name"] == "STATUS.IRQ_FACT").cloned().unwrap_or_default();
    check(irq_fact["set"] == 0.0, format!("IRQ_FACT never set: {irq_fact}"))?;
    // Not a terminal: the table at the end.
    let out = ok(lab, &format!("{EDU} top STATUS.COMPUTING --rate 100 --count 20"))?;
    check(
        out.contains("0000:00:04.0 BAR0: 20 samples in ")
            && out.contains("STATUS.COMPUTING    0.0%  0x0 (idle) 100.0%"),
        out,
    )
}

pub fn snapshot_then_diff_names_the_register_and_field(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    let out = ok(lab, &format!("{EDU} snapshot --out /tmp/s.json"))?;
    check(out == "0000:00:04.0: BAR0, 9 of 11 registers (built-in edu map) -> /tmp/s.json\n", out)?;
    // decode prints what dump-regs prints, from the file alone.
    let dump = ok(lab, &format!("{EDU} dump-regs"))?;
    let decoded = ok(lab, "mmiodrv decode /tmp/s.json")?;
    let (when, rest) = decoded.split_once('\n').unwrap_or_default();
    check(rest == dump, format!("dump-regs:\n{dump}\ndecode:\n{decoded}"))?;
    check(when.starts_with("snapshot of 0000:00:04.0 taken 20"), decoded.clone())?;
    ok(lab, &format!("{EDU} write STATUS.IRQ_FACT 1"))?;
    let out = finds(lab, &format!("{EDU} diff /tmp/s.json"))?;
    let expected = "STATUS  0x00000000 -> 0x00000080  IRQ_FACT 0x0 -> 0x1\n\
                    1 register differs between /tmp/s.json and 0000:00:04.0 now\n";
    check(out == expected, out)?;
    ok(lab, &format!("{EDU} snapshot --out /tmp/s2.json"))?;
    let out = finds(lab, "mmiodrv diff /tmp/s.json /tmp/s2.json --json")?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    check(
        v["registers"].as_array().map(Vec::len) == Some(1) && v["registers"][0]["fields"][0]["name"] == "IRQ_FACT",
        out,
    )?;
    ok(lab, &format!("{EDU} write STATUS 0"))?;
    // Every backend: the same snapshot, nothing differs.
    for driver in ["uio_pci_generic", "vfio-pci", "none"] {
        bind(lab, "0000:00:04.0", driver)?;
        let out = ok(lab, &format!("{EDU} diff /tmp/s.json"))?;
        check(out == "no differences between /tmp/s.json and 0000:00:04.0 now\n", format!("{driver}: {out}"))?;
    }
    // ivshmem: the clear-on-read INTR_STATUS is not read; raw BAR2 bytes too.
    let out = ok(lab, &format!("{IVSHMEM} snapshot --out /tmp/iv.json && grep -c read-side-effects /tmp/iv.json"))?;
    check(out.ends_with("-> /tmp/iv.json\n1\n"), out)?;
    ok(lab, &format!("{IVSHMEM} snapshot --raw --bar 2 --len 0x100 --out /tmp/bar2.json"))?;
    ok(lab, &format!("{IVSHMEM} write 0x40 0xc0ffee --bar 2"))?;
    let out = finds(lab, &format!("{IVSHMEM} diff /tmp/bar2.json"))?;
    check(out.starts_with("0x0040  0x") && out.contains(" -> 0x00c0ffee\n1 word differs"), out)
}

/// The host side of ivshmem's shared memory as a `file:` device: the host
/// watches and diffs what the guest writes into BAR2.
pub fn host_file_device_sees_guest_writes(lab: &mut Lab) -> Result<(), Failed> {
    use std::os::unix::fs::FileExt;
    // Other trials use BAR2 too: start from a known word.
    let shm = std::fs::OpenOptions::new().write(true).open(lab.shm_path()).map_err(|e| e.to_string())?;
    shm.write_all_at(&[0u8; 16], 0x3000).map_err(|e| e.to_string())?;
    let device = format!("file:{}", lab.shm_path().display());
    let host = env!("CARGO_BIN_EXE_mmiodrv");
    let snap = lab.temp_dir().join("host-snap.json");
    let run = |args: &[&str]| Command::new(host).args(["--device", &device]).args(args).output();
    let o = run(&["snapshot", "--raw", "--offset", "0x3000", "--len", "0x10", "--out", &snap.display().to_string()])
        .map_err(|e| e.to_string())?;
    check(o.status.success(), String::from_utf8_lossy(&o.stderr))?;
    let mut child = Command::new(host)
        .args(["--device", &device, "watch", "0x3000", "--interval", "5", "--count", "1", "--timeout", "30000"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut reader = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut first = String::new();
    reader.read_line(&mut first).map_err(|e| e.to_string())?;
    ok(lab, &format!("{IVSHMEM} write 0x3000 0x12345678 --bar 2"))?;
    let mut change = String::new();
    reader.read_line(&mut change).map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    check(status.success() && change.ends_with("  0x3000  0x00000000 -> 0x12345678\n"), format!("{first}{change}"))?;
    let o = run(&["diff", &snap.display().to_string()]).map_err(|e| e.to_string())?;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    check(out.starts_with("0x3000  0x00000000 -> 0x12345678\n1 word differs"), out)
}

pub fn trace_then_replay_on_a_fresh_guest(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    let out = ok(lab, &format!("{EDU} --trace /tmp/fact.trace edu factorial 10"))?;
    check(out == "10! = 3628800 (0x00375f00)\n", out)?;
    let shown = ok(lab, "mmiodrv trace show /tmp/fact.trace")?;
    check(shown.starts_with("trace of 0000:00:04.0 (IDs 1234:11e8 rev 10), sysfs backend, recorded "), shown.clone())?;
    check(shown.lines().filter(|l| l.contains("  write  ")).count() == 1, shown.clone())?;
    check(shown.lines().any(|l| l.ends_with("BAR0  0x0008  write  0x0000000a          FACTORIAL")), shown.clone())?;
    check(
        shown.lines().last().is_some_and(|l| l.ends_with("BAR0  0x0008  read   0x00375f00          FACTORIAL")),
        shown.clone(),
    )?;
    // Recorded on edu, refused on ivshmem: nothing written.
    fails(
        lab,
        &format!("{IVSHMEM} replay /tmp/fact.trace"),
        6,
        "/tmp/fact.trace was recorded on 0000:00:04.0 (IDs 1234:11e8 rev 10, edu), this device has 0000:00:05.0 (IDs 1af4:1110",
    )?;
    // Interrupts are in a trace too (VFIO, MSI).
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    ok(lab, &format!("{EDU} --trace /tmp/irq.trace edu factorial 5 --irq"))?;
    let shown = ok(lab, "mmiodrv trace show /tmp/irq.trace")?;
    check(shown.contains("vfio backend") && shown.contains("  MSI vector 0 fired (1 time(s))"), shown)?;
    bind(lab, "0000:00:04.0", "none")?;
    // The trace into a freshly booted guest.
    let trace = ok(lab, "cat /tmp/fact.trace")?;
    let started = Instant::now();
    // Under heavy load a TCG boot now and then panics in the kernel's timer
    // check ("timer doesn't work through Interrupt-remapped IO-APIC"), before
    // any of mmiodrv runs: one more boot then.
    let mut fresh = match Lab::boot(guest_config()) {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("observe: the second guest did not boot ({e}); booting it again");
            Lab::boot(guest_config()).map_err(|e| format!("second guest: {e}"))?
        }
    };
    eprintln!("observe: second guest up in {:.1} s", started.elapsed().as_secs_f64());
    fresh.put_file("/tmp/fact.trace", trace.as_bytes()).map_err(|e| e.to_string())?;
    let r = replay_in(&mut fresh);
    let down = fresh.shutdown();
    r?;
    down.map_err(|e| Failed::from(e.to_string()))
}

fn replay_in(lab: &mut Lab) -> Result<(), Failed> {
    check(ok(lab, &format!("{EDU} read FACTORIAL --quiet"))? == "0x00000000\n", "a fresh edu holds 0")?;
    let out = ok(lab, &format!("{EDU} replay /tmp/fact.trace --dry-run"))?;
    let expected = "BAR0 0x0008 FACTORIAL    write 0x0000000a\n\
                    dry run: would replay 1 write of /tmp/fact.trace on 0000:00:04.0\n";
    check(out == expected, out)?;
    check(ok(lab, &format!("{EDU} read FACTORIAL --quiet"))? == "0x00000000\n", "a dry run writes nothing")?;
    let out = ok(lab, &format!("{EDU} replay /tmp/fact.trace --verify"))?;
    let expected = "BAR0 0x0020 STATUS       read  0x00000000  ok\n\
                    BAR0 0x0008 FACTORIAL    write 0x0000000a\n\
                    BAR0 0x0020 STATUS       read  0x00000000  ok\n\
                    BAR0 0x0008 FACTORIAL    read  0x00375f00  ok\n\
                    replayed 1 write and verified 3 reads of /tmp/fact.trace on 0000:00:04.0\n";
    check(out == expected, out)?;
    check(ok(lab, &format!("{EDU} read FACTORIAL --quiet"))? == "0x00375f00\n", "FACTORIAL holds 10!")?;
    fails(lab, &format!("{IVSHMEM} replay /tmp/fact.trace"), 6, "fix: pass --force if you are sure")?;
    Ok(())
}
