//! The e1000 data path on a real topology (issue 27): the lab guest with two
//! e1000 NICs on one QEMU hub (`LabConfig::e1000_pair`), 00:0e.0 driven by
//! mmiodrv through VFIO, 00:07.0 by the kernel's e1000 driver (eth0).
//!
//! - mmiodrv transmits N frames and eth0's `rx_packets` grows by exactly N;
//! - the kernel sends N frames (benches/baseline/af_packet.c, built static
//!   here and put in the guest) and mmiodrv receives all N, each with the
//!   right contents;
//!   both in polling and in interrupt mode;
//! - bad input, a device the kernel owns and a ring that cannot be
//!   allocated are refused before the device is written;
//! - after every run, and after SIGINT mid-run, the device is left reset
//!   (interrupts masked, receive and transmit off, ring registers cleared)
//!   and the kernel's driver takes it back and works.

mod common;

use std::process::{Command, ExitCode};

use common::vm::{check, driver_of, fails, ok, run_suite, sh, skip_suite, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::{Lab, LabConfig, E1000_MAC, E1000_PEER_BDF, E1000_PEER_MAC};

const NIC: &str = "mmiodrv -s 00:0e.0";
/// The kernel's interface on 00:07.0 (the first e1000 the kernel probes).
const KERNEL_IF: &str = "eth0";
/// Where the kernel's side is built (host) and put (guest).
const AF_PACKET_HOST: &str = "target/vm_e1000/af_packet";
const AF_PACKET: &str = "/usr/local/bin/af_packet";

/// Registers a stopped, reset device has at zero: no interrupt enabled,
/// receive and transmit off, no ring.
const RESET_REGS: &[&str] = &["IMS", "RCTL", "TCTL", "RDBAL", "RDLEN", "RDT", "TDBAL", "TDLEN", "TDT"];

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("e1000::bad_input_is_refused_before_the_device_is_touched", bad_input),
        ("e1000::tx_reaches_the_kernel_polling_and_on_interrupts", tx_reaches_the_kernel),
        ("e1000::rx_gets_every_frame_the_kernel_sends_polling_and_on_interrupts", rx_from_the_kernel),
        ("e1000::sigint_mid_run_leaves_the_device_reset_for_the_kernel", sigint_mid_run),
    ];
    if let Err(e) = build_af_packet() {
        if std::env::var("CI").as_deref() == Ok("true") {
            eprintln!("vm_e1000: {e}");
            return ExitCode::FAILURE;
        }
        return skip_suite("vm_e1000", tests, &e);
    }
    run_suite("vm_e1000", tests, configure)
}

/// The kernel's side, static (the guest has no libc), with the host's C compiler.
fn build_af_packet() -> Result<(), String> {
    let root = mmiodrv_lab::repo_root();
    let out = root.join(AF_PACKET_HOST);
    std::fs::create_dir_all(out.parent().unwrap_or(&root)).map_err(|e| e.to_string())?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-O2", "-static", "-o"])
        .arg(&out)
        .arg(root.join("benches/baseline/af_packet.c"))
        .status()
        .map_err(|e| format!("cannot run {cc} to build benches/baseline/af_packet.c: {e}"))?;
    if !status.success() {
        return Err(format!("{cc} -static failed on benches/baseline/af_packet.c (a static libc is needed)"));
    }
    Ok(())
}

fn configure(cfg: &mut LabConfig) {
    cfg.e1000_pair = true;
    cfg.extra_files.push((AF_PACKET.into(), mmiodrv_lab::repo_root().join(AF_PACKET_HOST)));
}

/// 00:0e.0 bound to vfio-pci, eth0 up with its link, and QEMU's model ready
/// to deliver to it (it holds frames back for a second after RCTL is written).
fn ready(lab: &mut Lab) -> Result<(), Failed> {
    if driver_of(lab, E1000_PEER_BDF)? != "vfio-pci" {
        ok(lab, &format!("{NIC} bind vfio-pci"))?;
    }
    if ok(lab, &format!("cat /sys/class/net/{KERNEL_IF}/operstate"))?.trim() != "up" {
        ok(lab, &format!("ip link set {KERNEL_IF} up"))?;
        ok(
            lab,
            &format!(
                "i=0; until [ \"$(cat /sys/class/net/{KERNEL_IF}/carrier)\" = 1 ]; do \
                 i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done; sleep 1.2"
            ),
        )?;
    }
    Ok(())
}

fn rx_packets(lab: &mut Lab) -> Result<u64, Failed> {
    let v = ok(lab, &format!("cat /sys/class/net/{KERNEL_IF}/statistics/rx_packets"))?;
    v.trim().parse().map_err(|e| format!("rx_packets {v:?}: {e}").into())
}

/// The registers of `RESET_REGS`, read in one batch through VFIO.
fn reset_state(lab: &mut Lab) -> Result<(), Failed> {
    let script: String = RESET_REGS.iter().map(|r| format!("read {r} --quiet\n")).collect();
    let out = ok(lab, &format!("printf '{}' | {NIC} batch -", script.replace('\n', "\\n")))?;
    let values: Vec<&str> = out.lines().collect();
    let nonzero: Vec<String> = RESET_REGS
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.trim() != "0x00000000")
        .map(|(r, v)| format!("{r}={v}"))
        .collect();
    check(
        values.len() == RESET_REGS.len() && nonzero.is_empty(),
        format!("the device is not left reset: {nonzero:?} ({out})"),
    )
}

fn json_of(what: &str, text: &str) -> Result<serde_json::Value, Failed> {
    let schema = common::schema::validator();
    common::schema::check_lines(&schema, what, text)?;
    serde_json::from_str(text.trim()).map_err(|e| format!("{what}: {e}: {text}").into())
}

/// The frame `e1000 tx` and `af_packet send` make (drivers/e1000/src/net.rs,
/// test_frame), written out again here as the check's own reading of it.
fn expected_frame(dst: &str, src: &str, len: usize, seq: u32) -> String {
    let mut f: Vec<u8> = (0..len).map(|i| i as u8).collect();
    let mac = |s: &str| -> Vec<u8> { s.split(':').map(|b| u8::from_str_radix(b, 16).unwrap_or(0)).collect() };
    f[0..6].copy_from_slice(&mac(dst));
    f[6..12].copy_from_slice(&mac(src));
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..18].copy_from_slice(&seq.to_be_bytes());
    f.iter().map(|b| format!("{b:02x}")).collect()
}

fn bad_input(lab: &mut Lab) -> Result<(), Failed> {
    // Owned by the kernel's driver: refused, whatever the arguments.
    check(driver_of(lab, E1000_PEER_BDF)? == "e1000", "00:0e.0 starts under the kernel's e1000")?;
    fails(lab, &format!("{NIC} e1000 tx --count 1"), 6, "bound to kernel driver 'e1000'")?;
    fails(lab, &format!("{NIC} e1000 rx --count 1"), 6, "bound to kernel driver 'e1000'")?;
    ready(lab)?;
    // A mark in the ring registers: any bring-up would clear them.
    ok(lab, &format!("{NIC} write TDBAL 0x12340000 && {NIC} write RDBAL 0x56780000 && {NIC} write TCTL 0x2"))?;
    for (args, msg) in [
        ("tx --count 0", "the count is 1 to 4294967295 frames"),
        ("tx --count 1 --size 59", "a frame is 60 to 1514 bytes"),
        ("tx --count 1 --size 1515", "a frame is 60 to 1514 bytes"),
        ("tx --count 1 --dst 52:54:00:12:34", "expected a MAC address"),
        ("tx --count 1 --poll --irq", "cannot be used together"),
        ("rx --count 0 --timeout 100", "the count is 1 to 4294967295 frames"),
        ("rx --count 1 --ring 100", "a power of two from 8 to 4096"),
        ("rx --count 1 --ring 8192", "a power of two from 8 to 4096"),
    ] {
        fails(lab, &format!("{NIC} e1000 {args}"), 2, msg)?;
    }
    // Rings that cannot be allocated: a user whose locked-memory limit is
    // too small for them (root has CAP_IPC_LOCK), given the VFIO group and
    // a lock directory of its own (the guest has no group mmiodrv).
    let group = ok(lab, &format!("basename $(readlink /sys/bus/pci/devices/{E1000_PEER_BDF}/iommu_group)"))?;
    ok(lab, &format!("chmod 0666 /dev/vfio/{}", group.trim()))?;
    ok(lab, "mkdir -p /tmp/lab-locks && chown lab /tmp/lab-locks && chmod 0700 /tmp/lab-locks")?;
    let user =
        format!("ulimit -l 64 && su lab -c 'MMIODRV_LOCK_DIR=/tmp/lab-locks {NIC} e1000 tx --count 1 --ring 4096'");
    let r = fails(lab, &user, 6, "RLIMIT_MEMLOCK");
    ok(lab, &format!("chmod 0600 /dev/vfio/{}", group.trim()))?;
    r?;
    let script = "read TDBAL --quiet\\nread RDBAL --quiet\\nread TCTL --quiet\\n";
    let marks = ok(lab, &format!("printf '{script}' | {NIC} batch -"))?;
    check(marks == "0x12340000\n0x56780000\n0x00000002\n", format!("a refused run wrote the device: {marks}"))?;
    ok(lab, &format!("{NIC} write TDBAL 0 && {NIC} write RDBAL 0 && {NIC} write TCTL 0"))?;
    Ok(())
}

fn tx_reaches_the_kernel(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    const N: u64 = 200;
    for (mode, size) in [("--poll", 60), ("--irq", 1514)] {
        let before = rx_packets(lab)?;
        let cmd = format!("{NIC} --json e1000 tx --count {N} --size {size} --dst {E1000_MAC} {mode}");
        let out = ok(lab, &cmd)?;
        let v = json_of(&cmd, &out)?;
        check(
            v["sent"] == N && v["dropped"] == 0 && v["bytes"] == N * size && v["src"] == E1000_PEER_MAC,
            format!("{cmd}: {v}"),
        )?;
        if mode == "--irq" {
            check(v["mode"] == "irq" && v["counters"]["interrupts"].as_u64() > Some(0), format!("{cmd}: {v}"))?;
        }
        // The kernel counts them as its NAPI gets to them.
        let mut got = before;
        for _ in 0..50 {
            got = rx_packets(lab)?;
            if got >= before + N {
                break;
            }
            ok(lab, "sleep 0.1")?;
        }
        check(got == before + N, format!("{cmd}: eth0's rx_packets went from {before} to {got}, not by {N}"))?;
        reset_state(lab)?;
    }
    // The text form: packets, bytes, drops, rate.
    let out = ok(lab, &format!("{NIC} e1000 tx --count 8 --dst {E1000_MAC}"))?;
    check(
        out.starts_with("0000:00:0e.0: sent 8 frames of 60 bytes (480 bytes) to 52:54:00:12:34:56 in ")
            && out.contains(" frames/s, ")
            && out.trim_end().ends_with("; 0 dropped (polling)"),
        out,
    )?;
    // The device's own counters saw them (and reading cleared them).
    let stats = ok(lab, &format!("{NIC} --json e1000 stats"))?;
    let v = json_of("e1000 stats", &stats)?;
    check(v["statistics"]["good_transmitted"].as_u64() >= Some(8), stats.clone())?;
    Ok(())
}

fn rx_from_the_kernel(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    const N: u32 = 100;
    for (mode, size) in [("--poll", 60usize), ("--irq", 1514)] {
        let cmd = format!("{NIC} --json e1000 rx --count {N} --timeout 20000 --dump {mode}");
        // Receiving first; the kernel sends once the ring is up.
        let o = sh(
            lab,
            &format!(
                "{cmd} > /tmp/rx.json 2> /tmp/rx.err & pid=$!; sleep 1; \
                 {AF_PACKET} send {KERNEL_IF} {E1000_PEER_MAC} {N} {size} >&2; wait $pid; s=$?; cat /tmp/rx.json; \
                 cat /tmp/rx.err >&2; exit $s"
            ),
        )?;
        check(o.status == 0, format!("{cmd}: exit {}\n{}\n{}", o.status, o.stdout_str(), o.stderr_str()))?;
        let v = json_of(&cmd, &o.stdout_str())?;
        check(
            v["received"] == N && v["dropped"] == 0 && v["bytes"] == u64::from(N) * size as u64,
            format!("{cmd}: {v}"),
        )?;
        let frames = v["frames"].as_array().cloned().unwrap_or_default();
        check(frames.len() == N as usize, format!("{cmd}: {} frames dumped", frames.len()))?;
        for (i, f) in frames.iter().enumerate() {
            let want = expected_frame(E1000_PEER_MAC, E1000_MAC, size, i as u32);
            check(
                f["hex"].as_str() == Some(want.as_str()) && f["ethertype"] == 0x88b5 && f["src"] == E1000_MAC,
                format!("{cmd}: frame {i} is not the kernel's frame {i}: {f}"),
            )?;
        }
        if mode == "--irq" {
            check(v["counters"]["interrupts"].as_u64() > Some(0), format!("{cmd}: no interrupt counted: {v}"))?;
        }
        reset_state(lab)?;
    }
    // The text form of --dump: a header and a hexdump per frame, then the summary.
    let out = ok(
        lab,
        &format!(
            "{NIC} e1000 rx --count 1 --timeout 20000 --dump --irq & pid=$!; sleep 1; \
             {AF_PACKET} send {KERNEL_IF} {E1000_PEER_MAC} 1 60 > /dev/null; wait $pid"
        ),
    )?;
    let lines: Vec<&str> = out.lines().collect();
    check(
        lines.len() == 6
            && lines[0] == "frame 0: 60 bytes 52:54:00:12:34:56 > 52:54:00:12:34:57 type 0x88b5"
            && lines[1].starts_with("  00000000  52 54 00 12 34 57 52 54 00 12 34 56 88 b5 00 00")
            && lines[5].starts_with("0000:00:0e.0: received 1 frames (60 bytes) in ")
            && lines[5].ends_with("; 0 dropped (interrupts)"),
        out.clone(),
    )?;
    Ok(())
}

fn sigint_mid_run(lab: &mut Lab) -> Result<(), Failed> {
    ready(lab)?;
    // Interrupt mode asleep in the eventfd wait; polling mode busy sending.
    for run in ["rx --count 1000000 --timeout 60000 --irq", "tx --count 100000000"] {
        let o = sh(
            lab,
            &format!(
                "{NIC} e1000 {run} > /tmp/run.out 2> /tmp/run.err & pid=$!; sleep 1; kill -INT $pid; \
                 wait $pid; echo $?; cat /tmp/run.out /tmp/run.err"
            ),
        )?;
        let out = o.stdout_str();
        let mut lines = out.lines();
        check(lines.next() == Some("130"), format!("e1000 {run}, SIGINT: {out}"))?;
        let rest: Vec<&str> = lines.collect();
        check(
            rest.len() == 2
                && rest[0].starts_with("0000:00:0e.0: ")
                && rest[1]
                    == "mmiodrv: error: 0000:00:0e.0: interrupted by SIGINT; \
                        the device was stopped and reset before its rings were unmapped",
            format!("e1000 {run}, SIGINT: the partial report, then one error line: {out}"),
        )?;
        reset_state(lab)?;
    }
    // The kernel's driver takes it back and it works: frames from it reach eth0.
    ok(lab, &format!("{NIC} bind --restore"))?;
    check(driver_of(lab, E1000_PEER_BDF)? == "e1000", "00:0e.0 back under e1000")?;
    let iface = ok(lab, &format!("ls /sys/bus/pci/devices/{E1000_PEER_BDF}/net"))?.trim().to_string();
    ok(
        lab,
        &format!(
            "ip link set {iface} up; i=0; until [ \"$(cat /sys/class/net/{iface}/carrier)\" = 1 ]; do \
             i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done"
        ),
    )?;
    let before = rx_packets(lab)?;
    ok(lab, &format!("{AF_PACKET} send {iface} {E1000_MAC} 10 60"))?;
    let mut got = before;
    for _ in 0..50 {
        got = rx_packets(lab)?;
        if got >= before + 10 {
            break;
        }
        ok(lab, "sleep 0.1")?;
    }
    ok(lab, &format!("ip link set {iface} down"))?;
    check(got == before + 10, format!("after the restore, 10 frames from {iface}: eth0 rx_packets {before} -> {got}"))
}
