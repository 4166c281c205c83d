//! An SSH server for the remote tests, on this machine: Debian's dropbear
//! (package dropbear-bin), run unprivileged on a free loopback port with its
//! own host key and authorized_keys in a temporary directory. Under root it
//! runs as `nobody` (setpriv); nss_wrapper (package libnss-wrapper) gives
//! that user a home and a shell in the temporary directory, so nothing of
//! the system's (users, sshd config) is touched. The client side is the
//! user's ssh with a key made here and the server's host key pinned
//! (`MMIODRV_SSH`).

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the far side runs as (its name in the fake passwd file).
pub const USER: &str = "mmtest";

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: std::sync::Mutex<Child>,
}

fn must(c: &mut Command) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// What the server needs that may be missing (lab/prepare.sh installs it).
pub fn missing() -> Option<String> {
    for p in ["/usr/sbin/dropbear", "/usr/bin/dropbearkey"] {
        if !Path::new(p).exists() {
            return Some(format!("{p} (Debian package dropbear-bin)"));
        }
    }
    if nss_wrapper().is_none() {
        return Some("libnss_wrapper.so (Debian package libnss-wrapper)".into());
    }
    for tool in ["ssh", "ssh-keygen", "setpriv"] {
        if Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map_or(true, |o| !o.status.success())
        {
            return Some(tool.into());
        }
    }
    None
}

fn nss_wrapper() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so",
        "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
        "/usr/lib64/libnss_wrapper.so",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Sshd {
    /// A server on a free port of 127.0.0.1, up and accepting.
    pub fn start() -> Sshd {
        let dir = tempfile::Builder::new().prefix("mmiodrv-sshd-").tempdir().unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = nix::unistd::geteuid().is_root();
        let (uid, gid) =
            if root { (65534, 65534) } else { (nix::unistd::getuid().as_raw(), nix::unistd::getgid().as_raw()) };
        let home = d.join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(d.join("passwd"), format!("{USER}:x:{uid}:{gid}:mmiodrv test:{}:/bin/sh\n", home.display()))
            .unwrap();
        std::fs::write(d.join("group"), format!("{USER}:x:{gid}:\n")).unwrap();
        must(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(d.join("id")));
        std::fs::copy(d.join("id.pub"), home.join(".ssh/authorized_keys")).unwrap();
        std::fs::set_permissions(home.join(".ssh"), std::fs::Permissions::from_mode(0o700)).unwrap();
        must(Command::new("dropbearkey").args(["-t", "ed25519", "-f"]).arg(d.join("hostkey")));
        if root {
            must(Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&home).arg(d.join("hostkey")));
        }
        let port = free_port();
        let public = Command::new("dropbearkey").args(["-y", "-f"]).arg(d.join("hostkey")).output().unwrap();
        let key = String::from_utf8_lossy(&public.stdout).lines().find(|l| l.starts_with("ssh-")).unwrap().to_string();
        let known: String = ["127.0.0.1", "localhost"].iter().map(|h| format!("[{h}]:{port} {key}\n")).collect();
        std::fs::write(d.join("known_hosts"), known).unwrap();
        let mut c = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg("/usr/sbin/dropbear");
            c
        } else {
            Command::new("/usr/sbin/dropbear")
        };
        c.args(["-F", "-E", "-s", "-p", &format!("127.0.0.1:{port}"), "-r"]).arg(d.join("hostkey"));
        c.arg("-P").arg(d.join("dropbear.pid"));
        c.env("LD_PRELOAD", nss_wrapper().expect("nss_wrapper"))
            .env("NSS_WRAPPER_PASSWD", d.join("passwd"))
            .env("NSS_WRAPPER_GROUP", d.join("group"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("dropbear.log")).unwrap());
        let child = c.spawn().expect("start dropbear");
        let sshd = Sshd { dir, port, child: std::sync::Mutex::new(child) };
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "dropbear did not listen: {}", sshd.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    /// `USER@127.0.0.1:PORT` (or with `host` for 127.0.0.1).
    pub fn host(&self, host: &str) -> String {
        format!("{USER}@{host}:{}", self.port)
    }

    /// `MMIODRV_SSH` for it: this key, this host key.
    pub fn ssh(&self) -> String {
        let d = self.dir.path();
        format!(
            "ssh -i {} -o UserKnownHostsFile={} -o IdentitiesOnly=yes",
            d.join("id").display(),
            d.join("known_hosts").display()
        )
    }

    /// The far side's home.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A file the far side can read, with `bytes`.
    pub fn put(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        p.display().to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dropbear.log")).unwrap_or_default()
    }

    /// The server's processes serving connections (not the listener).
    pub fn sessions(&self) -> Vec<i32> {
        let pid = self.child.lock().unwrap_or_else(|p| p.into_inner()).id();
        let out = Command::new("pgrep").arg("-P").arg(pid.to_string()).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
    }

    /// Whether a process whose command line contains `needle` runs.
    pub fn running(needle: &str) -> bool {
        Command::new("pgrep").arg("-f").arg(needle).output().is_ok_and(|o| o.status.success())
    }

    /// Stop the server and remove its files (the far side's copies among
    /// them); the ssh connections shared with it end with it.
    pub fn stop(&self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(self.dir.path());
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
