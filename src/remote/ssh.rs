//! The `ssh` commands: the user's own ssh (config, agent, keys) with
//! connection sharing, and the words the far side's shell runs.

use std::ffi::OsString;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;

use super::Host;
use crate::error::{Error, Result};

/// The ssh program and its first arguments: `$MMIODRV_SSH` split at
/// whitespace (`ssh -F ~/lab/ssh_config`), else `ssh`.
pub const SSH_ENV: &str = "MMIODRV_SSH";

/// How long a shared connection stays open after its last use, in seconds.
pub const CONTROL_PERSIST_S: u32 = 60;

/// Exit status of the far side's launcher when no `mmiodrv` of this version is there.
pub const MISSING_STATUS: i32 = 97;
/// What the launcher prints (on stderr) before the machine's architecture then.
pub const MISSING_MARK: &str = "mmiodrv-remote: missing on ";

/// Quote `word` for a POSIX shell: one word, whatever it holds.
pub fn quote(word: &str) -> String {
    let mut q = String::with_capacity(word.len() + 2);
    q.push('\'');
    for c in word.chars() {
        if c == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(c);
        }
    }
    q.push('\'');
    q
}

/// The directory of the shared connections' sockets: private to the user
/// (mode 0700, the user's own, not a link), made when missing.
pub fn control_dir() -> Result<PathBuf> {
    let uid = nix::unistd::getuid().as_raw();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("mmiodrv-ssh"),
        None => PathBuf::from(format!("/tmp/mmiodrv-ssh-{uid}")),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("cannot create", &dir, e)),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| Error::io("cannot inspect", &dir, e))?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::invalid(
            dir.display().to_string(),
            "the directory for ssh's shared connections must be a directory of this user's, mode 0700, not a link",
        ));
    }
    Ok(dir)
}

/// The ssh program and its first arguments ([`SSH_ENV`]).
fn ssh_words() -> Vec<String> {
    match std::env::var(SSH_ENV) {
        Ok(v) if !v.trim().is_empty() => v.split_whitespace().map(str::to_string).collect(),
        _ => vec!["ssh".into()],
    }
}

/// The socket of the connection to `host` shared by every call: in
/// [`control_dir`], named by a hash of the ssh command ([`SSH_ENV`]) and
/// the host as given (not ssh's `%C`, which only ssh can work out from its
/// configuration), so that a call finds its master without running ssh
/// (OpenSSH's multiplexing protocol, which `remote::mux` speaks).
pub fn control_path(host: &Host) -> Result<PathBuf> {
    control_path_for(&ssh_words(), host)
}

/// [`control_path`] for the ssh command `words`.
pub fn control_path_for(words: &[String], host: &Host) -> Result<PathBuf> {
    // FNV-1a, 64 bits: the same name for the same words in every build.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let port = host.port.map(|p| p.to_string()).unwrap_or_default();
    let count = words.len().to_string();
    let parts = [count.as_str()].into_iter().chain(words.iter().map(String::as_str)).chain([
        host.user.as_deref().unwrap_or(""),
        host.name.as_str(),
        port.as_str(),
    ]);
    for part in parts {
        for b in part.bytes().chain([0]) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(control_dir()?.join(format!("{hash:016x}")))
}

/// `ssh` with the options every remote run uses, for `host`: batch mode (a
/// password prompt fails instead of waiting), a shared connection
/// (ControlMaster, at [`control_path`]) kept [`CONTROL_PERSIST_S`] s,
/// keepalives, the user and port given. `tty`: a terminal for the far side
/// (the shell); `shared`: through the shared connection (else one of its own).
pub fn command(host: &Host, tty: bool, shared: bool) -> Result<Command> {
    let words = ssh_words();
    let mut c = Command::new(&words[0]);
    c.args(&words[1..]);
    c.args(["-o", "BatchMode=yes"]);
    if shared {
        let mut path = OsString::from("ControlPath=");
        path.push(control_path(host)?);
        c.args(["-o", "ControlMaster=auto", "-o"]).arg(path);
        c.args(["-o", &format!("ControlPersist={CONTROL_PERSIST_S}")]);
    } else {
        c.args(["-o", "ControlMaster=no", "-o", "ControlPath=none"]);
    }
    c.args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]);
    if tty {
        // A terminal for the far side; and not "Connection to HOST closed." when it ends.
        c.args(["-tt", "-o", "LogLevel=ERROR"]);
    } else {
        c.arg("-T");
    }
    if let Some(u) = &host.user {
        c.args(["-l", u]);
    }
    if let Some(p) = host.port {
        c.args(["-p", &p.to_string()]);
    }
    c.arg("--").arg(&host.name);
    Ok(c)
}

/// Where the far side keeps copies: `$XDG_CACHE_HOME/mmiodrv/KEY` (or
/// `~/.cache/...`), as shell text.
const CACHE: &str = r#"${XDG_CACHE_HOME:-$HOME/.cache}/mmiodrv"#;

/// The far side's command that runs `mmiodrv ARGS` of this version with
/// `env` set: the user's cached copy (`key`), else `mmiodrv` in PATH when it
/// says it is `version`; else it exits [`MISSING_STATUS`] after
/// [`MISSING_MARK`] and the machine's architecture.
pub fn launcher(version: &str, key: &str, env: &[(&str, String)], args: &[String]) -> String {
    let exports = assignments(env);
    let script = format!(
        "c={CACHE}/{key}/mmiodrv; \
         if [ -x \"$c\" ]; then m=$c; \
         elif m=$(command -v mmiodrv) && [ \"$(\"$m\" --version 2>/dev/null)\" = {v} ]; then :; \
         else echo \"{MISSING_MARK}$(uname -m)\" >&2; exit {MISSING_STATUS}; fi; \
         {exports}exec \"$m\" \"$@\"",
        v = quote(&format!("mmiodrv {version}")),
        exports = if exports.is_empty() { String::new() } else { format!("export{exports}; ") },
    );
    // `exec`: the login shell that runs this line becomes the launcher's sh
    // rather than waiting for it (one fork less per call; every shell
    // ssh may start has `exec`: sh, bash, zsh, fish, csh).
    format!("exec sh -c {} mmiodrv{}", quote(&script), quoted_words(args))
}

/// The far side's command, as [`launcher`] but quicker when the user's
/// cached copy of this version is there (the usual case): the login shell
/// itself tests for it and `exec`s it, so no second shell starts; else it
/// `exec`s the [`launcher`], which looks further. This line is POSIX sh
/// (a login shell of the sh family: sh, dash, bash, zsh, ksh); a login
/// shell of another syntax (fish, csh) fails on it without running
/// anything, and the near side then runs the [`launcher`] line, which every
/// shell takes.
pub fn direct(version: &str, key: &str, env: &[(&str, String)], args: &[String]) -> String {
    format!(
        "c={CACHE}/{key}/mmiodrv; [ -x \"$c\" ] &&{} exec \"$c\"{}; {}",
        assignments(env),
        quoted_words(args),
        launcher(version, key, env, args)
    )
}

/// ` NAME=VALUE` for each of `env`, the values quoted: shell text.
fn assignments(env: &[(&str, String)]) -> String {
    env.iter().map(|(name, value)| format!(" {name}={}", quote(value))).collect()
}

/// ` WORD` for each of `words`, quoted: shell text.
fn quoted_words(words: &[String]) -> String {
    words.iter().map(|w| format!(" {}", quote(w))).collect()
}

/// The far side's command that stores the bytes on its standard input as
/// the cached copy `key` (a private directory; a new file, never through a
/// link; renamed into place whole) and prints its size.
pub fn copier(key: &str) -> String {
    let script = format!(
        "umask 077; set -C; d={CACHE}/{key}; mkdir -p \"$d\" || exit 1; t=\"$d/.mmiodrv.$$\"; rm -f \"$t\"; \
         if cat >\"$t\" && chmod 700 \"$t\" && mv -f \"$t\" \"$d/mmiodrv\"; then wc -c <\"$d/mmiodrv\"; \
         else rm -f \"$t\"; exit 1; fi"
    );
    format!("sh -c {}", quote(&script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_one_word() {
        for w in ["", "a b", "it's", "$(reboot)", "'", "\\\n"] {
            let out = Command::new("sh").arg("-c").arg(format!("printf %s {}", quote(w))).output().unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), w);
        }
    }

    #[test]
    fn the_launcher_runs_the_cached_copy_or_says_what_is_missing() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join(".cache/mmiodrv/k1");
        std::fs::create_dir_all(&bin).unwrap();
        let args = ["a b".to_string(), "$x".to_string()];
        let env = [("MMIODRV_REMOTE_HOST", "h'1".to_string())];
        let run = |path: &str| {
            Command::new("sh")
                .arg("-c")
                .arg(launcher("9.9", "k1", &env, &args))
                .env("HOME", home.path())
                .env_remove("XDG_CACHE_HOME")
                .env("PATH", path)
                .output()
                .unwrap()
        };
        let out = run("/usr/bin:/bin");
        assert_eq!(out.status.code(), Some(MISSING_STATUS));
        assert!(String::from_utf8_lossy(&out.stderr).starts_with(MISSING_MARK));
        std::fs::write(bin.join("mmiodrv"), "#!/bin/sh\nprintf '%s|' \"$MMIODRV_REMOTE_HOST\" \"$@\"\n").unwrap();
        std::fs::set_permissions(bin.join("mmiodrv"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let out = run("/usr/bin:/bin");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "h'1|a b|$x|");
    }

    #[test]
    fn the_direct_line_runs_the_cached_copy_else_the_launcher() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join(".cache/mmiodrv/k1");
        let args = ["a b".to_string(), "$x".to_string(), "it's".to_string()];
        let env = [("MMIODRV_REMOTE_HOST", "h'1".to_string()), ("MMIODRV_REMOTE_FRAMED", "1".to_string())];
        let run = |shell: &str| {
            Command::new(shell)
                .arg("-c")
                .arg(direct("9.9", "k1", &env, &args))
                .env("HOME", home.path())
                .env_remove("XDG_CACHE_HOME")
                .env("PATH", "/usr/bin:/bin")
                .output()
                .unwrap()
        };
        let shells: Vec<&str> = ["sh", "bash", "dash", "zsh"]
            .into_iter()
            .filter(|s| Command::new(s).arg("-c").arg("true").status().is_ok_and(|st| st.success()))
            .collect();
        for shell in &shells {
            // No copy: the launcher's answer.
            let out = run(shell);
            assert_eq!(out.status.code(), Some(MISSING_STATUS), "{shell}");
            assert!(String::from_utf8_lossy(&out.stderr).starts_with(MISSING_MARK), "{shell}");
        }
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(
            bin.join("mmiodrv"),
            "#!/bin/sh\nprintf '%s|' \"$MMIODRV_REMOTE_HOST\" \"$MMIODRV_REMOTE_FRAMED\" \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(bin.join("mmiodrv"), std::fs::Permissions::from_mode(0o700)).unwrap();
        for shell in &shells {
            let out = run(shell);
            assert_eq!(String::from_utf8_lossy(&out.stdout), "h'1|1|a b|$x|it's|", "{shell}");
        }
    }
}
