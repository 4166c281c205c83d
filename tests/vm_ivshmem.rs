//! ivshmem in the lab guest, with the host as the other side.
//!
//! Before the guest boots, this binary starts `mmiodrv ivshmem-server` on the
//! host (QEMU's ivshmem-doorbell connects to it while it starts) and adds
//! `ivshmem-doorbell,vectors=2,addr=06.0` to the lab. The guest then has
//! ivshmem-plain at 00:05.0 (shared memory = the lab's shm file) and
//! ivshmem-doorbell at 00:06.0 (shared memory = the server's file, QEMU a real
//! peer of the server). The host side uses the same tool: `--device file:PATH`
//! for the memory, `ivshmem client` for doorbells.
//!
//! After the trials, with QEMU gone, the server must still be serving and must
//! have announced QEMU's departure. The server and all files are removed at the
//! end, pass or fail.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::vm::{check, driver_of, fails, ok, run_suite, sh, TestFn};
use libtest_mimic::Failed;
use mmiodrv_lab::{Lab, LabConfig};

const PLAIN: &str = "mmiodrv --device 0000:00:05.0";
const DOORBELL: &str = "mmiodrv --device 0000:00:06.0";
const VECTORS: u16 = 2;
const SHM_SIZE: u64 = 1 << 20;
const PATTERN_LEN: usize = 256 << 10;

/// Host-side paths, set before the lab boots (`configure` is a plain fn).
struct Host {
    socket: PathBuf,
    shm: PathBuf,
    server_log: PathBuf,
    pattern: PathBuf,
    pattern2: PathBuf,
    scratch: PathBuf,
}

static HOST: OnceLock<Host> = OnceLock::new();

fn host() -> &'static Host {
    HOST.get().expect("host side set up before the suite")
}

fn mmiodrv_bin() -> &'static str {
    env!("CARGO_BIN_EXE_mmiodrv")
}

/// Deterministic pseudo-random bytes (xorshift), so both sides can compare.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Runs the server, and in the background watches this test process: if it dies
/// without cleaning up (SIGKILL, Ctrl-C), the server gets SIGTERM (it then
/// removes its socket and shm file) and the temp dir goes. `exec` keeps the
/// server at the child's PID; the watcher shares its process group.
const WATCHDOG: &str = r#"parent=$1 dir=$2; shift 2
(while kill -0 "$parent" 2>/dev/null; do sleep 1; done
 kill -TERM $$ 2>/dev/null; sleep 3; rm -rf -- "$dir") </dev/null >/dev/null 2>&1 &
exec "$@""#;

/// The server child; stopped (SIGTERM, then SIGKILL) on drop, its watcher too.
struct ServerProcess(Child);

impl ServerProcess {
    fn start(h: &Host, dir: &Path) -> Result<ServerProcess, String> {
        let log = std::fs::File::create(&h.server_log).map_err(|e| format!("server log: {e}"))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("sh")
            .args(["-c", WATCHDOG, "mmiodrv-ivshmem-test-watchdog"])
            .arg(std::process::id().to_string())
            .arg(dir)
            .arg(mmiodrv_bin())
            .args(["ivshmem-server", "--size", &SHM_SIZE.to_string(), "--vectors", &VECTORS.to_string()])
            .arg("--socket")
            .arg(&h.socket)
            .arg("--shm")
            .arg(&h.shm)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let mut server = ServerProcess(child);
        // Listening once it says so (a probe connection would become a peer).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&h.server_log).unwrap_or_default();
            if text.contains("listening on") {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.0.try_wait() {
                return Err(format!("the server exited ({status}): {text}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("the server did not come up: {text}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    /// SIGTERM and wait; true when it stopped by itself in time.
    fn stop(&mut self) -> bool {
        if !self.alive() {
            return false;
        }
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
        false
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
        // The watcher (and its sleep) is all that is left in the server's group;
        // the group ID stays taken while they live, so this hits only them.
        let _ =
            nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.0.id() as i32), nix::sys::signal::Signal::SIGKILL);
    }
}

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("ivshmem::info_of_both_variants", info_of_both_variants),
        ("ivshmem::guest_writes_host_reads", guest_writes_host_reads),
        ("ivshmem::host_writes_guest_reads", host_writes_guest_reads),
        ("ivshmem::two_blocks_placed_in_shared_memory", two_blocks_placed_in_shared_memory),
        ("ivshmem::bench_reports_and_restores_the_memory", bench_reports_and_restores_the_memory),
        ("ivshmem::bench_is_safe_under_signals_and_live_peers", bench_is_safe_under_signals_and_live_peers),
        ("ivshmem::doorbell_host_to_guest", doorbell_host_to_guest),
        ("ivshmem::doorbell_guest_to_host", doorbell_guest_to_host),
        ("ivshmem::wait_irq_msix_from_a_peer", wait_irq_msix_from_a_peer),
        ("ivshmem::server_survives_a_vanished_client", server_survives_a_vanished_client),
        ("ivshmem::bad_input_is_one_clear_line", bad_input),
        ("docs::ivshmem_bad_input_as_written", docs_bad_input_as_written),
    ];
    // Without a lab, or when only listing, run_suite skips/lists: no server needed.
    let listing = std::env::args().any(|a| a == "--list");
    if listing || LabConfig::default().check_prepared().is_err() {
        return run_suite("vm_ivshmem", tests, |_| {});
    }
    let dir = match tempfile::Builder::new().prefix("mmiodrv-ivshmem-test-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("vm_ivshmem: cannot create a temp dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let h = Host {
        socket: dir.path().join("ivshmem.sock"),
        // /dev/shm like a real setup; the server creates it and removes it on exit.
        shm: Path::new("/dev/shm").join(format!("mmiodrv-ivshmem-test-{}", std::process::id())),
        server_log: dir.path().join("server.log"),
        pattern: dir.path().join("pattern.bin"),
        pattern2: dir.path().join("pattern2.bin"),
        scratch: dir.path().join("scratch"),
    };
    let written = std::fs::write(&h.pattern, pattern(PATTERN_LEN, 0x9e37_79b9_7f4a_7c15))
        .and_then(|()| std::fs::write(&h.pattern2, pattern(PATTERN_LEN, 0x2545_f491_4f6c_dd1d)))
        .and_then(|()| std::fs::create_dir(&h.scratch));
    if let Err(e) = written {
        eprintln!("vm_ivshmem: cannot write test files: {e}");
        return ExitCode::FAILURE;
    }
    let mut server = match ServerProcess::start(&h, dir.path()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vm_ivshmem: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = HOST.set(h);
    let code = run_suite("vm_ivshmem", tests, |cfg| {
        let h = host();
        cfg.extra_qemu_args.extend([
            "-chardev".to_string(),
            format!("socket,id=ivs,path={}", h.socket.display()),
            "-device".to_string(),
            format!("ivshmem-doorbell,chardev=ivs,vectors={VECTORS},addr=06.0"),
        ]);
        cfg.extra_files.push(("/root/pattern.bin".into(), h.pattern.clone()));
        cfg.extra_files.push(("/root/pattern2.bin".into(), h.pattern2.clone()));
        cfg.extra_files.push(("/root/dma.toml".into(), mmiodrv_lab::repo_root().join("examples/maps/dma.toml")));
    });
    // QEMU is gone now: the server must have noticed and must still serve.
    let after = server_outlived_qemu(&mut server);
    let stopped = server.stop();
    let h = host();
    let leftovers: Vec<&Path> = [h.socket.as_path(), h.shm.as_path()].into_iter().filter(|p| p.exists()).collect();
    let mut failed = false;
    match after {
        Ok(()) => eprintln!("vm_ivshmem: the server outlived QEMU, announced its departure and kept serving"),
        Err(e) => {
            eprintln!("vm_ivshmem: FAILED after the suite: {e}");
            failed = true;
        }
    }
    if !stopped || !leftovers.is_empty() {
        eprintln!("vm_ivshmem: FAILED: server stopped cleanly: {stopped}; left behind: {leftovers:?}");
        failed = true;
    }
    drop(server);
    drop(dir);
    if failed {
        ExitCode::FAILURE
    } else {
        code
    }
}

fn server_outlived_qemu(server: &mut ServerProcess) -> Result<(), String> {
    let h = host();
    let deadline = Instant::now() + Duration::from_secs(5);
    let qemu = qemu_peer_from_log()?;
    loop {
        let log = std::fs::read_to_string(&h.server_log).unwrap_or_default();
        if log.contains(&format!("peer {qemu} left")) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("no departure of QEMU (peer {qemu}) in the server log:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !server.alive() {
        return Err("the server died with QEMU".into());
    }
    let peers = host_ok(&["ivshmem", "client", "--socket", &h.socket.to_string_lossy(), "peers"])?;
    if peers.lines().count() != 1 {
        return Err(format!("only the new client should be left:\n{peers}"));
    }
    Ok(())
}

/// QEMU connected first, so it is the first peer that joined.
fn qemu_peer_from_log() -> Result<u16, String> {
    let log = std::fs::read_to_string(&host().server_log).map_err(|e| e.to_string())?;
    log.lines()
        .find_map(|l| l.strip_prefix("ivshmem-server: peer ")?.strip_suffix(" joined")?.parse().ok())
        .ok_or_else(|| format!("no peer joined:\n{log}"))
}

/// Run the host mmiodrv; Ok(stdout) on success.
fn host_run(args: &[&str]) -> Result<std::process::Output, String> {
    Command::new(mmiodrv_bin()).args(args).output().map_err(|e| format!("cannot run mmiodrv {args:?}: {e}"))
}

fn host_ok(args: &[&str]) -> Result<String, String> {
    let o = host_run(args)?;
    if !o.status.success() {
        return Err(format!(
            "host `mmiodrv {}` exited {}:\n{}{}",
            args.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// A host command that must fail with `code` and one stderr line containing `msg`.
fn host_fails(args: &[&str], code: i32, msg: &str) -> Result<(), Failed> {
    let o = host_run(args)?;
    let err = String::from_utf8_lossy(&o.stderr);
    check(
        o.status.code() == Some(code) && err.contains(msg) && err.trim_end().lines().count() == 1,
        format!(
            "host `mmiodrv {}`: expected exit {code} and one line with {msg:?}; got {}: {err}",
            args.join(" "),
            o.status
        ),
    )
}

fn file_device(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// Host read of the shared-memory file through mmiodrv (--device file:).
fn host_read(shm: &Path, offset: u64, len: usize) -> Result<Vec<u8>, Failed> {
    let out = host().scratch.join("host-read.bin");
    host_ok(&[
        "--device",
        &file_device(shm),
        "ivshmem",
        "read",
        "--offset",
        &format!("{offset:#x}"),
        "--len",
        &len.to_string(),
        "--out",
        &out.to_string_lossy(),
    ])?;
    let data = std::fs::read(&out).map_err(|e| e.to_string())?;
    check(data.len() == len, format!("read {} bytes, wanted {len}", data.len()))?;
    Ok(data)
}

fn qemu_peer(lab: &mut Lab) -> Result<u16, Failed> {
    let json = ok(lab, &format!("{DOORBELL} --backend sysfs --force ivshmem info --json"))?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    let id = v["peer_id"].as_u64().ok_or(format!("no peer_id in {json}"))?;
    Ok(id as u16)
}

fn info_of_both_variants(lab: &mut Lab) -> Result<(), Failed> {
    let plain = ok(lab, &format!("{PLAIN} ivshmem info"))?;
    check(
        plain.trim()
            == "0000:00:05.0: ivshmem-plain, shared memory 1M (0x100000 bytes, BAR2), peer ID 0 (no server), no interrupts, sysfs backend",
        format!("plain: {plain}"),
    )?;
    let json = ok(lab, &format!("{DOORBELL} ivshmem info --json"))?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    check(v["variant"] == "ivshmem-doorbell" && v["vectors"] == VECTORS && v["len"] == SHM_SIZE, json.clone())?;
    // IVPosition is the ID the server gave QEMU, and the server's peers agree.
    let qemu = qemu_peer(lab)?;
    check(qemu == qemu_peer_from_log()?, format!("IVPosition {qemu} vs the server log"))?;
    let peers = host_ok(&["ivshmem", "client", "--socket", &host().socket.to_string_lossy(), "peers"])?;
    check(peers.contains(&format!("\npeer {qemu}: {VECTORS} vector(s)")), format!("client peers:\n{peers}"))?;
    let file = host_ok(&["--device", &file_device(&host().shm), "ivshmem", "info"])?;
    check(file.contains("host side of an ivshmem shared memory, 1M (0x100000 bytes)"), file)
}

fn guest_writes_host_reads(lab: &mut Lab) -> Result<(), Failed> {
    let want = std::fs::read(&host().pattern).map_err(|e| e.to_string())?;
    let lab_shm = lab.shm_path().to_path_buf();
    for (dev, shm) in [(PLAIN, lab_shm.as_path()), (DOORBELL, host().shm.as_path())] {
        // A 256 KiB file at an unaligned offset: edges narrower, body 64-bit.
        ok(lab, &format!("{dev} ivshmem write --offset 0x1003 /root/pattern.bin"))?;
        let got = host_read(shm, 0x1003, PATTERN_LEN)?;
        check(got == want, format!("{dev}: host sees different bytes than the guest wrote"))?;
        ok(lab, &format!("{dev} ivshmem write --offset 0x48000 --string 'hello from the guest'"))?;
        ok(lab, &format!("{dev} ivshmem write --offset 0x48015 --hex 'de ad be ef 01'"))?;
        let got = host_read(shm, 0x48000, 0x20)?;
        let mut expect = b"hello from the guest".to_vec();
        expect.extend([0, 0xde, 0xad, 0xbe, 0xef, 0x01]);
        expect.resize(0x20, 0);
        check(got == expect, format!("{dev}: {got:02x?}"))?;
        // Fill exactly the span asked, not a byte more.
        ok(lab, &format!("{dev} ivshmem fill --offset 0x50001 --len 0x1003 --byte 0xa5"))?;
        let got = host_read(shm, 0x50000, 0x1005)?;
        check(
            got[0] == 0 && got[1..0x1004].iter().all(|b| *b == 0xa5) && got[0x1004] == 0,
            format!("{dev}: fill edges"),
        )?;
        // The host's dump folds the repeated lines.
        let dump = host_ok(&["--device", &file_device(shm), "ivshmem", "dump"])?;
        check(dump.contains("00050000  00 a5 a5") && dump.contains("\n*\n") && dump.ends_with("00100000\n"), "dump")?;
    }
    Ok(())
}

fn host_writes_guest_reads(lab: &mut Lab) -> Result<(), Failed> {
    let lab_shm = lab.shm_path().to_path_buf();
    for (dev, shm) in [(PLAIN, lab_shm.as_path()), (DOORBELL, host().shm.as_path())] {
        host_ok(&[
            "--device",
            &file_device(shm),
            "ivshmem",
            "write",
            "--offset",
            "0x80000",
            &host().pattern2.to_string_lossy(),
        ])?;
        ok(lab, &format!("{dev} ivshmem read --offset 512K --len 256K --out /tmp/from-host.bin"))?;
        ok(lab, "cmp /tmp/from-host.bin /root/pattern2.bin")?;
        // A short hexdump of text the host wrote.
        host_ok(&["--device", &file_device(shm), "ivshmem", "write", "--offset", "0x100", "--string", "host says hi"])?;
        let dump = ok(lab, &format!("{dev} ivshmem read --offset 0x100 --len 16"))?;
        check(dump.trim() == "00000100  68 6f 73 74 20 73 61 79 73 20 68 69 00 00 00 00  |host says hi....|", dump)?;
    }
    Ok(())
}

/// Where the two-block map lies in the shared memory (issue 25): past every
/// other trial's bytes.
const DMA_AT: &str = "0xd0000";

/// A map of several blocks placed in shared memory (examples/maps/dma.toml,
/// GLOBAL, CH0 and CH1, at 0xd0000 of BAR2): the guest writes registers of
/// every block by `BLOCK.REG` and `BLOCK.REG.FIELD`, and the host, a
/// `file:` peer, reads them back by name with the same map and placement,
/// and by offset where they must be.
fn two_blocks_placed_in_shared_memory(lab: &mut Lab) -> Result<(), Failed> {
    let shm = lab.shm_path().to_path_buf();
    let guest =
        |reg: &str, value: &str| format!("{PLAIN} write --bar 2 --regmap /root/dma.toml@{DMA_AT} {reg} {value}");
    for (reg, value) in [
        ("GLOBAL.CTRL.ENABLE", "1"),
        ("CH0.LEN", "0x100"),
        ("CH1.SRC", "0x1122334455667788"),
        ("CH1.CMD.DIRECTION", "1"),
        ("CH1.CMD.IRQ", "1"),
    ] {
        let out = ok(lab, &guest(reg, value))?;
        check(out.contains(&format!(" {reg} <- ")), format!("guest write {reg}: {out}"))?;
    }
    let host_map = format!("{}@{DMA_AT}", mmiodrv_lab::repo_root().join("examples/maps/dma.toml").display());
    let dev = file_device(&shm);
    let read = |target: &str| host_ok(&["--device", &dev, "read", "--regmap", &host_map, target, "--quiet"]);
    for (target, want) in [
        ("GLOBAL.CTRL", "0x00000001"),
        ("CH0.LEN", "0x00000100"),
        ("CH1.SRC", "0x1122334455667788"),
        ("CH1.CMD", "0x00000006"),
        ("CH1.CMD.DIRECTION", "0x1"),
        ("CH0.CMD", "0x00000000"),
    ] {
        let got = read(target)?;
        check(got.trim() == want, format!("host read {target}: {got:?}, wanted {want}"))?;
    }
    // By offset: CH1 at 0x2000 of the map, the map at 0xd0000; SRC in two 32-bit halves, low first.
    let raw = host_ok(&["--device", &dev, "read", "0xd2000", "--quiet"])?;
    check(raw.trim() == "0x55667788", format!("0xd2000: {raw}"))?;
    let raw = host_ok(&["--device", &dev, "read", "0xd2014", "--quiet"])?;
    check(raw.trim() == "0x00000006", format!("0xd2014 (CH1.CMD): {raw}"))?;
    // dump-regs of one block names its registers with the block.
    let dump = host_ok(&["--device", &dev, "dump-regs", "--regmap", &host_map, "CH1"])?;
    let src = dump.lines().find(|l| l.starts_with("0xd2000 ")).unwrap_or("");
    check(
        src.contains(" CH1.SRC ") && src.contains(" 0x1122334455667788 ") && !dump.contains("CH0."),
        format!("dump-regs CH1:\n{dump}"),
    )?;
    // Leave the memory as it was.
    host_ok(&["--device", &dev, "ivshmem", "fill", "--offset", DMA_AT, "--len", "0x3000", "--byte", "0"]).map(drop)?;
    Ok(())
}

/// `ivshmem bench` (the benchmark's engine, not a timing test): in the guest on
/// BAR2 and on the host on a file past the streaming threshold, it reports sane
/// rates with the access width the CPU allows, and puts the memory back.
fn bench_reports_and_restores_the_memory(lab: &mut Lab) -> Result<(), Failed> {
    let marker = "kept across the bench";
    ok(lab, &format!("{PLAIN} ivshmem write --offset 0x1008 --string '{marker}'"))?;
    let json = ok(lab, &format!("{PLAIN} ivshmem bench --size 256K --rounds 2 --json"))?;
    let guest_avx = sh(lab, "grep -qw avx /proc/cpuinfo")?.status == 0;
    let want = if guest_avx {
        "256-bit volatile accesses (AVX; 128-bit for reads into RAM at 16 mod 32)"
    } else {
        "64-bit volatile accesses"
    };
    check_bench(&json, 256 << 10, want)?;
    let back = ok(
        lab,
        &format!("{PLAIN} ivshmem read --offset 0x1008 --len {} --out /tmp/m >/dev/null && cat /tmp/m", marker.len()),
    )?;
    check(back == marker, format!("after the guest bench: {back:?}"))?;
    let host_shm = lab.shm_path().to_path_buf();
    check(host_read(&host_shm, 0x1008, marker.len())? == marker.as_bytes(), "host view after the guest bench")?;

    // 17 MiB on the host: past bulk::STREAMING_FROM, so AVX hosts stream.
    let big = host().scratch.join("bench-17m");
    let file = std::fs::File::create(&big).map_err(|e| e.to_string())?;
    file.set_len(17 << 20).map_err(|e| e.to_string())?;
    drop(file);
    host_ok(&["--device", &file_device(&big), "ivshmem", "write", "--offset", "16M", "--string", marker])?;
    let json = host_ok(&["--device", &file_device(&big), "ivshmem", "bench", "--rounds", "1", "--json"])?;
    let want = if std::arch::is_x86_feature_detected!("avx") {
        "256-bit volatile accesses (AVX; 128-bit for reads into RAM at 16 mod 32), non-temporal stores"
    } else {
        "64-bit volatile accesses"
    };
    check_bench(&json, 17 << 20, want)?;
    let kept = host_read(&big, 16 << 20, marker.len());
    std::fs::remove_file(&big).map_err(|e| e.to_string())?;
    check(kept? == marker.as_bytes(), "host file after the bench")
}

/// SIGINT in the middle of a long guest bench: the memory's contents are put
/// back (the host file shows them), exit 130 saying so; and while the host
/// writes the memory (a live peer) the bench refuses to run, unless --live.
fn bench_is_safe_under_signals_and_live_peers(lab: &mut Lab) -> Result<(), Failed> {
    let host_shm = lab.shm_path().to_path_buf();
    let marker = "survives a SIGINT";
    ok(lab, &format!("{PLAIN} ivshmem write --offset 0x2000 --string '{marker}'"))?;
    let out = ok(
        lab,
        &format!(
            "{PLAIN} ivshmem bench --size 1M --rounds 100000 >/dev/null 2>/tmp/bench.err &\nP=$!\nsleep 2\nkill -INT $P\n\
             wait $P; echo \"exit $?\"; cat /tmp/bench.err"
        ),
    )?;
    let want =
        "exit 130\nmmiodrv: error: 0000:00:05.0: interrupted by SIGINT; the shared memory's contents were put back\n";
    check(out == want, format!("got:\n{out}"))?;
    check(host_read(&host_shm, 0x2000, marker.len())? == marker.as_bytes(), "host view after the interrupted bench")?;

    // The host writes the memory every 10 ms meanwhile: refused, nothing changed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (path, flag) = (host_shm.clone(), stop.clone());
    let peer = std::thread::spawn(move || {
        use std::os::unix::fs::FileExt;
        let Ok(f) = std::fs::OpenOptions::new().write(true).open(&path) else { return };
        let mut n = 0u8;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            n = n.wrapping_add(1);
            let _ = f.write_all_at(&[n], 0x3000);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    let refused = sh(lab, &format!("{PLAIN} ivshmem bench --size 64K --rounds 1"));
    let live = sh(lab, &format!("{PLAIN} ivshmem bench --size 64K --rounds 1 --live"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = peer.join();
    let refused = refused?;
    check(
        refused.status == 6 && refused.stderr_str().contains("a peer is using it"),
        format!("live peer: exit {}: {}", refused.status, refused.stderr_str()),
    )?;
    let live = live?;
    check(live.status == 0, format!("--live: exit {}: {}", live.status, live.stderr_str()))?;
    check(host_read(&host_shm, 0x2000, marker.len())? == marker.as_bytes(), "host view after --live")
}

fn check_bench(json: &str, bytes: u64, accesses: &str) -> Result<(), Failed> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("{e}: {json}"))?;
    let b = &v["bench"];
    let positive = ["memcpy", "write", "read", "fill", "write_ratio", "read_ratio"]
        .iter()
        .all(|k| b[k].as_f64().is_some_and(|x| x.is_finite() && x > 0.0));
    check(b["len"] == bytes && b["accesses"] == accesses && positive, format!("bench: {json}"))
}

/// 00:06.0 on vfio-pci (MSI-X needs it).
fn ensure_vfio(lab: &mut Lab) -> Result<(), Failed> {
    if driver_of(lab, "0000:00:06.0")? != "vfio-pci" {
        ok(lab, &format!("{DOORBELL} bind vfio-pci"))?;
    }
    Ok(())
}

/// Start a guest `ivshmem wait` in the background and return once its MSI-X
/// vectors are enabled (a doorbell before that would be dropped by QEMU).
fn start_guest_wait(lab: &mut Lab, vector: u16) -> Result<(), Failed> {
    start_in_guest(lab, &format!("{DOORBELL} ivshmem wait --vector {vector} --timeout 30000"))
}

/// Start a guest command that arms MSI-X in the background (output to
/// /tmp/wait.out, status to /tmp/wait.rc) and return once MSI-X is enabled.
fn start_in_guest(lab: &mut Lab, cmd: &str) -> Result<(), Failed> {
    ensure_vfio(lab)?;
    ok(lab, "rm -f /tmp/wait.out /tmp/wait.rc")?;
    ok(lab, &format!("({cmd} > /tmp/wait.out 2>&1; echo $? > /tmp/wait.rc) > /dev/null 2>&1 < /dev/null &"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let caps = ok(lab, "lspci -vv -s 00:06.0")?;
        if caps.contains("MSI-X: Enable+") {
            return Ok(());
        }
        if ok(lab, "cat /tmp/wait.rc 2>/dev/null || true")?.trim() != "" {
            let out = ok(lab, "cat /tmp/wait.out")?;
            return Err(format!("the guest wait ended before arming: {out}").into());
        }
        if Instant::now() >= deadline {
            return Err(format!("MSI-X never enabled:\n{caps}").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn finish_guest_wait(lab: &mut Lab) -> Result<String, Failed> {
    let (rc, out) = guest_wait_status(lab)?;
    check(rc == "0", format!("guest wait exited {rc}: {out}"))?;
    Ok(out)
}

/// The background guest command's exit status and output, once it ended.
fn guest_wait_status(lab: &mut Lab) -> Result<(String, String), Failed> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rc = ok(lab, "cat /tmp/wait.rc 2>/dev/null || true")?;
        if !rc.trim().is_empty() {
            return Ok((rc.trim().to_string(), ok(lab, "cat /tmp/wait.out")?));
        }
        if Instant::now() >= deadline {
            return Err("the guest wait did not end".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The host rings the guest's (QEMU's) vector.
fn ring(qemu: u16, vector: u16) -> Result<(), Failed> {
    let socket = host().socket.to_string_lossy().into_owned();
    let rang = host_ok(&["ivshmem", "client", "--socket", &socket, "ring", &qemu.to_string(), &vector.to_string()])?;
    check(rang.contains(&format!("rang peer {qemu} vector {vector}")), rang)
}

/// MSI-X through the generic `wait-irq` (not `ivshmem wait`): both vectors
/// armed, a peer's doorbell fires the vector it names, `--vector` lets the
/// other one pass, `--count` waits for as many, and a count not reached or a
/// vector the device lacks is its own error.
fn wait_irq_msix_from_a_peer(lab: &mut Lab) -> Result<(), Failed> {
    let qemu = qemu_peer(lab)?;
    start_in_guest(
        lab,
        &format!("{DOORBELL} --log info --json wait-irq --index msix --vector 1 --count 2 --timeout 30000"),
    )?;
    let lspci = ok(lab, "lspci -vv -s 00:06.0")?;
    check(lspci.contains(&format!("MSI-X: Enable+ Count={VECTORS}")), lspci)?;
    ring(qemu, 0)?;
    ring(qemu, 1)?;
    std::thread::sleep(Duration::from_millis(500));
    let (rc, out) = (ok(lab, "cat /tmp/wait.rc 2>/dev/null || true")?, ok(lab, "cat /tmp/wait.out")?);
    check(
        rc.trim().is_empty(),
        format!("vector 0 and one ring of vector 1 are not 2 on vector 1: exited {rc}: {out}"),
    )?;
    ring(qemu, 1)?;
    let out = finish_guest_wait(lab)?;
    check(out.contains(&format!("0000:00:06.0: {VECTORS} MSI-X vector(s) armed")), out.clone())?;
    let json = out.lines().find(|l| l.starts_with('{')).ok_or(format!("no JSON: {out}"))?;
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("{e}: {json}"))?;
    let events = v["interrupts"].as_array().cloned().unwrap_or_default();
    let total: u64 = events.iter().filter_map(|e| e["count"].as_u64()).sum();
    check(
        v["device"] == "0000:00:06.0" && total == 2 && events.iter().all(|e| e["kind"] == "msix" && e["vector"] == 1),
        format!("two rings of vector 1, vector 0 passed over: {json}"),
    )?;
    // Vector 0 twice and vector 1 twice are not 3 on vector 1.
    start_in_guest(lab, &format!("{DOORBELL} wait-irq --index msix --vector 1 --count 3 --timeout 2000"))?;
    for vector in [0, 1, 0, 1] {
        ring(qemu, vector)?;
    }
    let (rc, out) = guest_wait_status(lab)?;
    check(
        rc == "8"
            && out.contains(
                "timed out after 2000 ms waiting for 3 interrupts on MSI-X vector 1 (2 vector(s) armed), 2 came",
            ),
        format!("exit {rc}: {out}"),
    )?;
    fails(
        lab,
        &format!("{DOORBELL} wait-irq --index msix --vector {VECTORS}"),
        2,
        "MSI-X has 2 vector(s); there is no vector 2",
    )
    .map(drop)
}

fn ring_guest_from_host(lab: &mut Lab, vector: u16) -> Result<(), Failed> {
    let qemu = qemu_peer(lab)?;
    start_guest_wait(lab, vector)?;
    let rang = host_ok(&[
        "ivshmem",
        "client",
        "--socket",
        &host().socket.to_string_lossy(),
        "ring",
        &qemu.to_string(),
        &vector.to_string(),
    ])?;
    check(rang.contains(&format!("rang peer {qemu} vector {vector}")), rang)?;
    let out = finish_guest_wait(lab)?;
    check(out.contains(&format!("0000:00:06.0: doorbell on MSI-X vector {vector}")), out)
}

fn doorbell_host_to_guest(lab: &mut Lab) -> Result<(), Failed> {
    ring_guest_from_host(lab, 1)?;
    ring_guest_from_host(lab, 0)?;
    // The same with --json: the object docs/json-schema.json describes.
    let qemu = qemu_peer(lab)?;
    start_in_guest(lab, &format!("{DOORBELL} --json ivshmem wait --vector 1 --timeout 30000"))?;
    ring(qemu, 1)?;
    let out = finish_guest_wait(lab)?;
    common::schema::check_lines(&common::schema::validator(), "ivshmem wait --json", &out)?;
    check(out.contains(r#""op":"ivshmem wait""#), out)
}

/// A host client waiting for a doorbell; its peer ID from its first line.
struct HostWaiter {
    child: Child,
    id: u16,
    first_line: String,
}

impl HostWaiter {
    fn start(vector: u16) -> Result<HostWaiter, Failed> {
        let mut child = Command::new(mmiodrv_bin())
            .args(["ivshmem", "client", "--socket", &host().socket.to_string_lossy(), "wait", "--timeout", "30000"])
            .args(["--vector", &vector.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut first_line = String::new();
        if let Some(out) = child.stdout.as_mut() {
            BufReader::new(out).read_line(&mut first_line).map_err(|e| e.to_string())?;
        }
        let id = first_line
            .strip_prefix("peer ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                let _ = child.kill();
                let _ = child.wait();
                format!("host client said {first_line:?}")
            })?;
        Ok(HostWaiter { child, id, first_line })
    }
}

impl Drop for HostWaiter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn doorbell_guest_to_host(lab: &mut Lab) -> Result<(), Failed> {
    let mut waiter = HostWaiter::start(1)?;
    check(waiter.first_line.trim().ends_with("waiting for vector 1"), waiter.first_line.clone())?;
    let out = ok(lab, &format!("{DOORBELL} ivshmem doorbell {} 1", waiter.id))?;
    check(out.contains(&format!("rang peer {} vector 1", waiter.id)), out)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = waiter.child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if Instant::now() >= deadline {
            return Err("the host client never heard the doorbell".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    if let Some(mut o) = waiter.child.stdout.take() {
        use std::io::Read;
        o.read_to_string(&mut rest).map_err(|e| e.to_string())?;
    }
    check(
        status.success() && rest.contains(&format!("peer {}: vector 1 rung", waiter.id)),
        format!("{status}: {rest}"),
    )?;
    // The doorbell's --json object is the one docs/json-schema.json describes.
    let waiter = HostWaiter::start(0)?;
    let json = ok(lab, &format!("{DOORBELL} --json ivshmem doorbell {} 0", waiter.id))?;
    common::schema::check_lines(&common::schema::validator(), "ivshmem doorbell --json", &json)?;
    check(json.contains(r#""op":"ivshmem doorbell""#), json)
}

fn server_survives_a_vanished_client(lab: &mut Lab) -> Result<(), Failed> {
    let mut waiter = HostWaiter::start(0)?;
    let id = waiter.id;
    // SIGKILL: no goodbye, the kernel just closes its socket.
    waiter.child.kill().map_err(|e| e.to_string())?;
    let _ = waiter.child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(&host().server_log).unwrap_or_default();
        if log.contains(&format!("peer {id} left")) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("the server never noticed peer {id} vanish:\n{log}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The rest keeps working: the server still serves QEMU and new clients.
    let peers = host_ok(&["ivshmem", "client", "--socket", &host().socket.to_string_lossy(), "peers"])?;
    check(!peers.contains(&format!("\npeer {id}:")), format!("peer {id} still listed:\n{peers}"))?;
    ring_guest_from_host(lab, 1)
}

fn bad_input(lab: &mut Lab) -> Result<(), Failed> {
    // Guest side.
    fails(lab, &format!("{PLAIN} ivshmem read --offset 1M --len 1"), 2, "outside the 0x100000-byte region")?;
    fails(lab, &format!("{PLAIN} ivshmem read --offset 0xffff0 --len 17"), 2, "outside the 0x100000-byte region")?;
    ok(lab, &format!("{PLAIN} ivshmem fill --offset 0xffff0 --byte 0x11"))?;
    fails(lab, &format!("{PLAIN} ivshmem write --offset 0xffffe --hex 010203"), 2, "outside the 0x100000-byte region")?;
    fails(lab, &format!("{PLAIN} ivshmem fill --offset 0xfffff --len 2"), 2, "outside the 0x100000-byte region")?;
    let edge = host_read(lab.shm_path(), 0xffff0, 16)?;
    check(edge.iter().all(|b| *b == 0x11), format!("a refused write changed memory: {edge:02x?}"))?;
    fails(
        lab,
        "mmiodrv --device 00:04.0 ivshmem info",
        6,
        "0000:00:04.0: not an ivshmem device (IDs 1234:11e8, expected 1af4:1110)",
    )?;
    fails(lab, &format!("{PLAIN} ivshmem doorbell 0 0"), 6, "a doorbell on ivshmem-plain is not supported")?;
    fails(lab, &format!("{PLAIN} ivshmem write --hex abc"), 2, "odd number of hex digits")?;
    fails(lab, &format!("{PLAIN} ivshmem fill --byte 256"), 2, "does not fit in byte (8 bits, max 0xff)")?;
    fails(lab, &format!("{PLAIN} ivshmem read --len 1Q"), 2, "expected a size")?;
    // Host side.
    let h = host();
    let socket = h.socket.to_string_lossy().into_owned();
    let other_shm = h.scratch.join("other.shm");
    host_fails(
        &["ivshmem-server", "--socket", &socket, "--shm", &other_shm.to_string_lossy(), "--size", "1M"],
        6,
        "the socket is in use (another server is listening on it)",
    )?;
    check(!other_shm.exists(), "a refused server created its shm file")?;
    host_fails(&["ivshmem", "client", "--socket", &socket, "ring", "4242", "0"], 2, "no peer 4242 on the server")?;
    let qemu = qemu_peer(lab)?.to_string();
    host_fails(&["ivshmem", "client", "--socket", &socket, "ring", &qemu, "7"], 2, "has 2 vectors")?;
    let new_socket = h.scratch.join("second.sock");
    host_fails(
        &[
            "ivshmem-server",
            "--socket",
            &new_socket.to_string_lossy(),
            "--shm",
            &h.shm.to_string_lossy(),
            "--size",
            "2M",
        ],
        2,
        "size mismatch",
    )?;
    let size = std::fs::metadata(&h.shm).map_err(|e| e.to_string())?.len();
    check(size == SHM_SIZE && !new_socket.exists(), format!("the refused server touched things: size {size}"))?;
    host_fails(
        &["ivshmem", "client", "--socket", &h.scratch.join("nobody.sock").to_string_lossy(), "peers"],
        6,
        "no server is listening",
    )?;
    host_fails(&["--device", &file_device(&h.scratch), "ivshmem", "info"], 2, "must be a regular file")?;
    host_fails(
        &["--device", &file_device(&h.shm), "ivshmem", "doorbell", "0", "0"],
        6,
        "a doorbell on a memory-backend file is not supported",
    )?;
    Ok(())
}

/// docs/ivshmem.md's "Bad input" block as written: each `guest#` line run in
/// the guest, each `host$` line on the host against this suite's server (the
/// doc's paths replaced by the suite's), with its one stderr line and exit
/// status; `…` in the doc stands for text that differs from run to run.
fn docs_bad_input_as_written(lab: &mut Lab) -> Result<(), Failed> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ivshmem.md"))
        .map_err(|e| e.to_string())?;
    let section = doc.split("## Bad input").nth(1).ok_or("no Bad input section in docs/ivshmem.md")?;
    let block = section.split("```console\n").nth(1).and_then(|b| b.split("```").next()).ok_or("no console block")?;
    let h = host();
    let paths = [
        ("/run/ivshmem.sock", h.socket.to_string_lossy().into_owned()),
        ("/dev/shm/ivshmem", h.shm.to_string_lossy().into_owned()),
        ("/dev/shm/other", h.scratch.join("other.shm").to_string_lossy().into_owned()),
        ("/tmp/other.sock", h.scratch.join("other.sock").to_string_lossy().into_owned()),
    ];
    let on_host = |text: &str| paths.iter().fold(text.to_string(), |t, (doc, real)| t.replace(doc, real));
    // As the section says: the doorbell device on vfio-pci.
    ensure_vfio(lab)?;
    let lines: Vec<&str> = block.lines().collect();
    check(lines.len() >= 2 && lines.len() % 2 == 0, format!("the block is not command/result pairs:\n{block}"))?;
    for pair in lines.chunks(2) {
        let (cmd, result) = (pair[0], pair[1]);
        let (message, status) = result
            .rsplit_once("(exit ")
            .and_then(|(m, s)| Some((m.trim_end(), s.strip_suffix(')')?.parse::<i32>().ok()?)))
            .ok_or(format!("no (exit N) in {result:?}"))?;
        let (got, code) = if let Some(cmd) = cmd.strip_prefix("guest# ") {
            let out = ok(lab, &format!("{cmd} 2>&1 >/dev/null; echo \"exit $?\""))?;
            let (err, code) = out.trim_end().rsplit_once("exit ").ok_or(format!("{cmd}: {out}"))?;
            (err.trim_end().to_string(), code.parse::<i32>().ok())
        } else if let Some(cmd) = cmd.strip_prefix("host$ mmiodrv ") {
            let cmd = on_host(cmd);
            let o = host_run(&cmd.split_whitespace().collect::<Vec<_>>())?;
            (String::from_utf8_lossy(&o.stderr).trim_end().to_string(), o.status.code())
        } else {
            return Err(format!("neither guest# nor host$ mmiodrv: {cmd:?}").into());
        };
        let want = if cmd.starts_with("host$") { on_host(message) } else { message.to_string() };
        check(
            code == Some(status) && common::docs::line_matches(&want, &got),
            format!("`{cmd}`\n--- docs/ivshmem.md (exit {status})\n{want}\n--- got (exit {code:?})\n{got}"),
        )?;
    }
    check(!h.scratch.join("other.shm").exists(), "a refused server created its shm file")
}
