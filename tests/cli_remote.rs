//! `--host` against an SSH server on this machine (tests/common/sshd.rs:
//! dropbear, unprivileged, loopback) and a simulated device: the same
//! output, errors and exit statuses as a local run, with the host named in
//! errors; the copy of this build to a far side that has none; several
//! hosts at once; a connection lost mid-script; Ctrl-C passed on as a stop.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::sshd::Sshd;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A server of each test's own (stopped and removed when the test ends),
/// with edu's map where the far side's user can read it.
struct World {
    sshd: Sshd,
    map: String,
}

/// The build the far side gets: this one without its debug information
/// (dynamically linked, which is fine: the far side is this machine).
fn copied() -> &'static PathBuf {
    static COPY: OnceLock<PathBuf> = OnceLock::new();
    COPY.get_or_init(|| {
        let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mmiodrv-remote-copy");
        let tmp = p.with_extension("tmp");
        let o = Command::new("strip").arg("-o").arg(&tmp).arg(env!("CARGO_BIN_EXE_mmiodrv")).output().unwrap();
        assert!(o.status.success(), "strip: {}", String::from_utf8_lossy(&o.stderr));
        std::fs::rename(&tmp, &p).unwrap();
        p
    })
}

fn start() -> World {
    if let Some(m) = common::sshd::missing() {
        panic!("the remote tests need {m}: run lab/prepare.sh (it installs it)");
    }
    let sshd = Sshd::start();
    let map = sshd.put("edu.svd", &std::fs::read(repo().join("tests/data/edu/edu.svd")).unwrap());
    // The far side gets its copy of this build now, once.
    let o = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(["--host", &sshd.host("127.0.0.1"), "--device", &format!("sim:{map}"), "read", "ID"])
        .env("MMIODRV_SSH", sshd.ssh())
        .env("MMIODRV_REMOTE_BINARY", copied())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    World { sshd, map }
}

thread_local! {
    /// The test's server (each test runs on a thread of its own).
    static WORLD: std::cell::OnceCell<&'static World> = const { std::cell::OnceCell::new() };
}

/// The server of the test running (stopped by [`stop`]).
fn world() -> &'static World {
    WORLD.with(|w| *w.get_or_init(|| Box::leak(Box::new(start()))))
}

/// Stop the test's server and remove its files (the end of every test).
fn stop() {
    WORLD.with(|w| {
        if let Some(world) = w.get() {
            // Its processes and files go; the leaked box itself is a few bytes.
            world.sshd.stop();
        }
    });
}

/// Stops the test's server when the test ends, passed or failed.
struct Stop;

impl Drop for Stop {
    fn drop(&mut self) {
        stop();
    }
}

fn mmiodrv() -> Command {
    let w = world();
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmiodrv"));
    c.env_remove("MMIODRV_DEVICE")
        .env_remove("MMIODRV_HOST")
        .env("MMIODRV_SSH", w.sshd.ssh())
        // A build of this version to copy.
        .env("MMIODRV_REMOTE_BINARY", copied())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent");
    c
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child =
        mmiodrv().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `args` run here and on the server: the same stdout and exit status, and
/// the same stderr but for the host named after `mmiodrv: error: `
/// (and FILE:LINE: before it).
fn same(args: &[&str], stdin: &[u8]) -> Output {
    let w = world();
    let host = w.sshd.host("127.0.0.1");
    let local = run(args, stdin);
    let mut remote_args = vec!["--host", &host];
    remote_args.extend_from_slice(args);
    let remote = run(&remote_args, stdin);
    let quiet =
        |s: &str| s.lines().filter(|l| !l.contains(" has no mmiodrv ")).map(|l| format!("{l}\n")).collect::<String>();
    let stdout = text(&remote.stdout)
        .replace(&format!(",\"host\":\"{host}\""), "")
        .replace(&format!("\"error\":\"{host}: "), "\"error\":\"");
    assert_eq!(stdout, text(&local.stdout), "{args:?} stdout");
    let labelled = quiet(&text(&remote.stderr)).replace(&format!("{host}: "), "");
    assert_eq!(labelled, text(&local.stderr), "{args:?} stderr");
    assert_eq!(remote.status.code(), local.status.code(), "{args:?}: {}", text(&remote.stderr));
    // (A command line that does not parse is this side's error, as locally.)
    if !local.stderr.is_empty() && !text(&local.stderr).contains("(see mmiodrv --help)") {
        assert!(text(&remote.stderr).contains(&format!("{host}: ")), "{args:?}: errors name the host");
    }
    remote
}

fn dev() -> String {
    format!("sim:{}", world().map)
}

#[test]
fn one_shot_commands_and_their_errors_are_the_same_remotely() {
    let _stop = Stop;
    let d = dev();
    let d = d.as_str();
    same(&["--device", d, "read", "ID"], b"");
    same(&["--device", d, "read", "ID.MAGIC", "--quiet"], b"");
    same(&["--device", d, "--json", "read", "ID"], b"");
    same(&["--device", d, "dump-regs"], b"");
    same(&["--device", d, "write", "ID", "1"], b"");
    same(&["--device", d, "read", "0x0", "--width", "16"], b"");
    let o = same(&["--device", d, "--json", "read", "NOPE"], b"");
    common::schema::check_lines(&common::schema::validator(), "a remote error", &text(&o.stdout)).unwrap();
    let err: serde_json::Value = serde_json::from_slice(o.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(err["host"], world().sshd.host("127.0.0.1"));
    assert_eq!(err["class"], "NotFound");
    // A usage error of the command line is this side's, as locally.
    same(&["--device", d, "read"], b"");
    // Observing: watch, and a snapshot the far side writes and diffs against.
    same(&["--device", d, "watch", "LIVENESS", "--timeout", "300"], b"");
    let host = world().sshd.host("127.0.0.1");
    let snap = world().sshd.home().join("snap.json").display().to_string();
    let o = run(&["--host", &host, "--device", d, "snapshot", "--out", &snap], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).ends_with(&format!("-> {snap}\n")), "{}", text(&o.stdout));
    let o = run(&["--host", &host, "--device", d, "diff", &snap], b"");
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), format!("no differences between {snap} and {d} now\n")));
    // MMIODRV_HOST is --host's default.
    let o = mmiodrv().env("MMIODRV_HOST", &host).args(["--device", d, "read", "ID.MAGIC", "--quiet"]).output().unwrap();
    assert_eq!((o.status.code(), text(&o.stdout).as_str()), (Some(0), "0xed\n"), "{}", text(&o.stderr));
}

#[test]
fn scripts_and_the_pipe_protocol_are_the_same_remotely() {
    let _stop = Stop;
    let d = dev();
    let script = world().sshd.put("ok.mmio", b"read ID\nwrite LIVENESS 0x1 --verify\nexpect LIVENESS 0x1\ndump-regs\n");
    same(&["--device", &d, "batch", &script], b"");
    same(&["--device", &d, "--json", "batch", &script], b"");
    // Checked before anything runs: the error names FILE:LINE, nothing is printed before it.
    let bad = world().sshd.put("bad.mmio", b"read ID\nread NOPE\n");
    let o = same(&["--device", &d, "batch", &bad], b"");
    assert!(o.stdout.is_empty());
    same(&["--device", &d, "batch", &bad, "--check"], b"");
    let input = b"read ID.MAGIC\nread FOO\nwrite LIVENESS 7\nread LIVENESS\n";
    same(&["--device", &d, "--json", "batch", "-", "--keep-going"], input);
    same(&["--device", &d, "batch", "-"], input);
}

#[test]
fn a_far_side_without_mmiodrv_gets_a_copy_or_a_clear_refusal() {
    // A server of its own: its user's cache is empty.
    let sshd = Sshd::start();
    let host = sshd.host("localhost");
    let map = sshd.put("edu.svd", &std::fs::read(repo().join("tests/data/edu/edu.svd")).unwrap());
    let d = format!("sim:{map}");
    let args = ["--host", host.as_str(), "--device", d.as_str(), "read", "ID.MAGIC", "--quiet"];
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
            .args(args)
            .args(extra)
            .env("MMIODRV_SSH", sshd.ssh())
            .env("MMIODRV_REMOTE_BINARY", copied())
            .output()
            .unwrap()
    };
    let o = run(&["--no-copy"]);
    assert_eq!(o.status.code(), Some(12), "{}", text(&o.stderr));
    let e = text(&o.stderr);
    assert!(e.starts_with(&format!("mmiodrv: error: {host} has no mmiodrv ")), "{e}");
    assert!(e.contains("fix: drop --no-copy"), "{e}");
    let o = run(&[]);
    assert_eq!((o.status.code(), text(&o.stdout).as_str()), (Some(0), "0xed\n"), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(&format!("mmiodrv: {host} has no mmiodrv ")), "said so: {}", text(&o.stderr));
    let o = run(&[]);
    assert_eq!((o.status.code(), text(&o.stderr).as_str()), (Some(0), ""), "copied once");
    let copies = std::fs::read_dir(sshd.home().join(".cache/mmiodrv")).unwrap().count();
    assert_eq!(copies, 1, "one copy in the far side's cache");
}

/// A far side whose login shell is not of the sh family (fish, csh) takes
/// the launcher line when the direct one fails there: the copy, the
/// refusal, the runs and the errors are as with sh. The "ssh" here runs the
/// far side's line on this machine, through a shell that refuses the direct
/// line as fish does (`c=...` is not fish).
#[test]
fn a_login_shell_of_another_family_gets_the_launcher_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let ssh = dir.path().join("ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nfor a; do cmd=$a; done\necho >>'{}'\ncase \"$cmd\" in\n  'c='*) echo \"fish: Unsupported use of '='.\" >&2; exit 127;;\nesac\nHOME='{}' exec /bin/sh -c \"$cmd\"\n",
            dir.path().join("calls").display(),
            home.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = format!("sim:{}", repo().join("tests/data/edu/edu.svd").display());
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
            .args(["--host", "fishy", "--device", d.as_str()])
            .args(extra)
            .env("MMIODRV_SSH", &ssh)
            .env("MMIODRV_REMOTE_BINARY", copied())
            .env_remove("XDG_CACHE_HOME")
            .output()
            .unwrap()
    };
    let o = run(&["--no-copy", "read", "ID.MAGIC", "--quiet"]);
    assert_eq!(o.status.code(), Some(12), "{}", text(&o.stderr));
    assert!(text(&o.stderr).starts_with("mmiodrv: error: fishy has no mmiodrv "), "{}", text(&o.stderr));
    let o = run(&["read", "ID.MAGIC", "--quiet"]);
    assert_eq!((o.status.code(), text(&o.stdout).as_str()), (Some(0), "0xed\n"), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("mmiodrv: fishy has no mmiodrv "), "said so: {}", text(&o.stderr));
    let calls = || std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default().lines().count();
    let before = calls();
    let o = run(&["read", "ID.MAGIC", "--quiet"]);
    assert_eq!((o.status.code(), text(&o.stdout).as_str(), text(&o.stderr).as_str()), (Some(0), "0xed\n", ""));
    assert_eq!(calls() - before, 1, "the launcher line at once: the host's refusal is remembered");
    let o = run(&["read", "NOPE"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).starts_with("mmiodrv: error: fishy: "), "{}", text(&o.stderr));
}

#[test]
fn several_hosts_run_in_parallel_labelled_and_write_only_when_told() {
    let _stop = Stop;
    let w = world();
    let (a, b) = (w.sshd.host("127.0.0.1"), w.sshd.host("localhost"));
    let d = dev();
    let o = mmiodrv().args(["--host", &a, "--host", &b, "--device", &d, "read", "ID.MAGIC"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut lines: Vec<String> = text(&o.stdout).lines().map(str::to_string).collect();
    lines.sort();
    let line = format!("{d} BAR0 0x0000 ID.MAGIC = 0xed");
    assert_eq!(lines, [format!("{a}: {line}"), format!("{b}: {line}")]);
    // JSON: every object names its host; a hosts file names them too.
    let file = w.sshd.put("hosts", format!("# two\n{a}\n{b}\n").as_bytes());
    let o = mmiodrv().args(["--hosts", &file, "--device", &d, "--json", "read", "ID"]).output().unwrap();
    let schema = common::schema::validator();
    common::schema::check_lines(&schema, "several hosts' objects", &text(&o.stdout)).unwrap();
    let mut hosts: Vec<String> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["host"].as_str().unwrap().to_string())
        .collect();
    hosts.sort();
    assert_eq!(hosts, [a.clone(), b.clone()]);
    // Writes need the explicit flag; a script with a write too.
    let o = mmiodrv().args(["--host", &a, "--host", &b, "--device", &d, "write", "LIVENESS", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--write-to-all-hosts"), "{}", text(&o.stderr));
    let script = w.sshd.put("w.mmio", b"read ID\nwrite LIVENESS 1\n");
    let o = mmiodrv().args(["--host", &a, "--host", &b, "--device", &d, "batch", &script]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = mmiodrv()
        .args(["--host", &a, "--host", &b, "--device", &d, "write", "LIVENESS", "1", "--write-to-all-hosts"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // One host unreachable: its error names it; the others' results stand; the first failure's status.
    let closed = format!(
        "{}@127.0.0.1:{}",
        common::sshd::USER,
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    );
    let o = mmiodrv().args(["--host", &a, "--host", &closed, "--device", &d, "read", "ID.MAGIC"]).output().unwrap();
    assert_eq!(o.status.code(), Some(12));
    assert_eq!(text(&o.stdout), format!("{a}: {line}\n"));
    let e = text(&o.stderr);
    assert!(e.contains(&format!("mmiodrv: error: cannot reach {closed}: ")), "{e}");
    assert!(e.contains("1 of 2 hosts failed"), "{e}");
}

/// A connection that drops mid-script, for a script run by an `ssh` of its
/// own (the connection's first call: no master yet) and for one asked of
/// the shared connection's master (`warm`: a call made it first).
fn drop_mid_script(warm: bool) {
    // A server of its own: every connection to it is dropped.
    let sshd = Sshd::start();
    let host = sshd.host("127.0.0.1");
    let d = dev();
    if warm {
        let o = mmiodrv().env("MMIODRV_SSH", sshd.ssh()).args(["--host", &host, "--device", &d, "read", "ID"]).output();
        assert!(o.unwrap().status.success());
    }
    let marker = format!("mmiodrv-drop-{}-{warm}", std::process::id());
    let script = sshd.put(&format!("{marker}.mmio"), b"read ID\nread ID\nsleep 60000\nread ID\n");
    let child = mmiodrv()
        .env("MMIODRV_SSH", sshd.ssh())
        .args(["--host", &host, "--device", &d, "batch", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Until the far side (its copy in the cache there) runs the script.
    let far = format!("{}/.cache/mmiodrv/.* batch {script}", sshd.home().display());
    let until = Instant::now() + Duration::from_secs(60);
    while !Sshd::running(&far) {
        assert!(Instant::now() < until, "the far side never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // The connection drops: the server's processes serving it die.
    for pid in sshd.sessions() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(11), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).lines().count(), 2);
    let e = text(&o.stderr);
    assert!(
        e.contains(&format!("mmiodrv: error: the connection to {host} was lost after line 2 of {script} was done")),
        "{e}"
    );
    // The far side ends by itself (and so lets its device go).
    let until = Instant::now() + Duration::from_secs(10);
    while Sshd::running(&far) {
        assert!(Instant::now() < until, "the far side still runs after the connection went");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_lost_connection_names_the_last_line_done_and_the_far_side_lets_go() {
    let _stop = Stop;
    drop_mid_script(false);
    drop_mid_script(true);
}

/// Calls after a connection's first start no `ssh`: they ask the shared
/// connection's master for their session themselves. A master that has
/// gone (its socket left behind) leaves the call to `ssh` again.
#[test]
fn later_calls_share_the_connection_without_starting_ssh() {
    use std::os::unix::fs::PermissionsExt;
    let _stop = Stop;
    let w = world();
    let host = w.sshd.host("127.0.0.1");
    let d = dev();
    let dir = tempfile::tempdir().unwrap();
    let (wrapper, log) = (dir.path().join("ssh"), dir.path().join("log"));
    std::fs::write(&wrapper, format!("#!/bin/sh\necho \"$*\" >>'{}'\nexec ssh \"$@\"\n", log.display())).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ssh = w.sshd.ssh().replacen("ssh", &wrapper.display().to_string(), 1);
    let starts = || std::fs::read_to_string(&log).unwrap_or_default().lines().count();
    let run = |args: &[&str]| {
        mmiodrv().env("MMIODRV_SSH", &ssh).args(["--host", &host, "--device", &d]).args(args).output().unwrap()
    };
    let local = Command::new(env!("CARGO_BIN_EXE_mmiodrv")).args(["--device", &d, "read", "ID"]).output().unwrap();
    for _ in 0..3 {
        let o = run(&["read", "ID"]);
        assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), text(&local.stdout)), "{}", text(&o.stderr));
    }
    let o = run(&["read", "NOPE"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).starts_with(&format!("mmiodrv: error: {host}: ")), "{}", text(&o.stderr));
    assert_eq!(starts(), 1, "one ssh, for the first call: {}", std::fs::read_to_string(&log).unwrap_or_default());
    // The master dies without removing its socket.
    let words: Vec<String> = ssh.split_whitespace().map(str::to_string).collect();
    let socket = mmiodrv::remote::ssh::control_path_for(&words, &mmiodrv::remote::Host::parse(&host).unwrap()).unwrap();
    assert!(socket.exists(), "{}", socket.display());
    let mut check = Command::new("ssh");
    check.args(&words[1..]).arg("-o").arg(format!("ControlPath={}", socket.display())).args(["-O", "check", "x"]);
    let said = text(&check.output().unwrap().stderr);
    let pid: i32 = said.split("pid=").nth(1).and_then(|p| p.split(')').next()).and_then(|p| p.parse().ok()).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(socket.exists(), "a stale socket is left");
    std::thread::sleep(Duration::from_millis(100));
    let o = run(&["read", "ID"]);
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), text(&local.stdout)), "{}", text(&o.stderr));
    assert_eq!(starts(), 2, "ssh again, which starts a new master");
    let o = run(&["read", "ID"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(starts(), 2, "and the next call shares it");
}

#[test]
fn ctrl_c_reaches_the_far_side_as_a_stop() {
    let _stop = Stop;
    let w = world();
    let host = w.sshd.host("127.0.0.1");
    let d = dev();
    let child = mmiodrv()
        .args(["--host", &host, "--device", &d, "poll", "STATUS", "1", "--timeout", "60000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let far = format!("{}/.cache/mmiodrv/.* poll STATUS 1 --timeout 60000", w.sshd.home().display());
    let until = Instant::now() + Duration::from_secs(20);
    while !Sshd::running(&far) {
        assert!(Instant::now() < until, "the far side never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), format!("mmiodrv: error: {host}: {d}: interrupted by SIGINT\n"));
}
