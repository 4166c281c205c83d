//! Signals during long copies on a `file:` device (an ivshmem shared-memory
//! file on the host, no hardware): `ivshmem fill`, `write` and `read` stop
//! between their 1 MiB chunks at the first SIGINT, with exit status 130 and a
//! message that says how far they got, and leave the rest untouched. (The
//! same on the real devices, for batch runs, waits and DMA: tests/vm/faults.rs.)

use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// 2 GiB in /dev/shm (sparse until written): a fill takes long enough for a
/// signal to land in it, with the first touch of every page to pay.
const SIZE: u64 = 2 << 30;

/// Run `mmiodrv --log debug --device file:PATH ARGS`, send SIGINT once it logged the
/// mapping of the file (the copy starts right after), and return its exit
/// status and the error line.
fn interrupted(path: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .args(["--log", "debug"])
        .arg("--device")
        .arg(format!("file:{}", path.display()))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mmiodrv");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        let mapped = line.contains("mmap ") && line.contains(&path.display().to_string());
        lines.push(std::mem::take(&mut line));
        if mapped {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT)
                .unwrap();
            break;
        }
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let errors: Vec<&str> = rest.lines().filter(|l| l.starts_with("mmiodrv: error:")).collect();
    assert_eq!(errors.len(), 1, "one error line, got:\n{}{rest}", lines.concat());
    (status.code(), errors[0].to_string())
}

#[test]
fn the_first_sigint_stops_a_long_copy_between_chunks() {
    // Room for the whole file (a fill past a full tmpfs is a SIGBUS, not this test).
    let free = nix::sys::statvfs::statvfs("/dev/shm").map(|v| v.blocks_available() * v.fragment_size());
    let (Ok(free), Ok(dir)) = (free, tempfile::Builder::new().prefix("mmiodrv-signals-").tempdir_in("/dev/shm")) else {
        eprintln!("skipped: no /dev/shm");
        return;
    };
    if free < SIZE + (256 << 20) {
        eprintln!("skipped: /dev/shm has {free} bytes free, the test needs {SIZE}");
        return;
    }
    let path = dir.path().join("shm");
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
    file.set_len(SIZE).unwrap();
    // A marker in the last chunk: a fill stopped early leaves it alone.
    file.write_all_at(b"marker", SIZE - 6).unwrap();

    let (status, line) = interrupted(&path, &["ivshmem", "fill", "--byte", "0xa5"]);
    let prefix = format!("mmiodrv: error: file:{}: interrupted by SIGINT; ", path.display());
    let done: u64 = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not the stop message: {line}"));
    eprintln!("fill stopped after {done} bytes: {line}");
    assert_eq!(status, Some(130), "{line}");
    assert!(line.ends_with(&format!(" of {SIZE} bytes at 0x0 were filled, the rest was not")), "{line}");
    assert!(done < SIZE && done % (1 << 20) == 0, "{line}");
    let mut b = [0u8; 1];
    if done > 0 {
        file.read_exact_at(&mut b, done - 1).unwrap();
        assert_eq!(b[0], 0xa5, "the bytes before the stop were filled");
    }
    file.read_exact_at(&mut b, done).unwrap();
    assert_eq!(b[0], 0, "the byte at the stop was not filled");
    let mut m = [0u8; 6];
    file.read_exact_at(&mut m, SIZE - 6).unwrap();
    assert_eq!(&m, b"marker");

    // A read into a file stops the same way.
    let out = dir.path().join("out.bin");
    let (status, line) =
        interrupted(&path, &["ivshmem", "read", "--len", &SIZE.to_string(), "--out", out.to_str().unwrap()]);
    assert_eq!(status, Some(130), "{line}");
    assert!(line.contains(&format!(" of {SIZE} bytes at 0x0 were read, the rest was not")), "{line}");
}
