//! Which machine: `[USER@]HOST[:PORT]` as the command line and Python name
//! it, and hosts files (one a line).

use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};

/// Longest host text taken (a DNS name is at most 253 characters).
const MAX_TEXT: usize = 300;
/// Most hosts one run reaches (a hosts file or repeated `--host`).
pub const MAX_HOSTS: usize = 256;
/// Longest hosts file read.
const MAX_HOSTS_FILE: u64 = 64 << 10;

/// A remote machine reached with `ssh`: a host name (an alias of the
/// user's ssh config, a DNS name or an address), and the user and port when
/// given (else ssh's config decides).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Host {
    /// The text as given: how messages and results name the host.
    pub label: String,
    /// `USER@`.
    pub user: Option<String>,
    /// The host name or address (an IPv6 address without its brackets).
    pub name: String,
    /// `:PORT`.
    pub port: Option<u16>,
}

fn bad(text: &str, why: &str) -> Error {
    Error::invalid(text.to_string(), format!("not a host ([USER@]HOST[:PORT]): {why}"))
}

impl Host {
    /// Parse `[USER@]HOST[:PORT]` (`[ADDRESS]:PORT` for IPv6). Nothing that
    /// ssh could take for an option or a second word is a host.
    pub fn parse(text: &str) -> Result<Host> {
        if text.is_empty() || text.len() > MAX_TEXT {
            return Err(bad(text, "empty or longer than 300 characters"));
        }
        let (user, rest) = match text.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, text),
        };
        if let Some(u) = user {
            let ok = |c: char| c.is_ascii_alphanumeric() || "._-$".contains(c);
            if u.is_empty() || u.starts_with('-') || !u.chars().all(ok) {
                return Err(bad(text, "a user name of letters, digits, '.', '_' and '-'"));
            }
        }
        let (name, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| bad(text, "an unclosed '['"))?;
            if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
                return Err(bad(text, "an IPv6 address in brackets"));
            }
            match after {
                "" => (addr, None),
                p => (addr, Some(p.strip_prefix(':').ok_or_else(|| bad(text, "':PORT' after ']'"))?)),
            }
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c) || (rest.starts_with('[') && c == ':');
        if name.is_empty() || name.starts_with('-') || !name.chars().all(ok) {
            return Err(bad(text, "a host name of letters, digits, '.', '_' and '-'"));
        }
        let port = port
            .map(|p| p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad(text, "a port from 1 to 65535")))
            .transpose()?;
        Ok(Host { label: text.to_string(), user: user.map(str::to_string), name: name.to_string(), port })
    }

    /// The hosts of a hosts file: one `[USER@]HOST[:PORT]` a line; blank
    /// lines and `#` comments are skipped. Errors name the file and line.
    pub fn read_file(path: &Path) -> Result<Vec<Host>> {
        let bytes = crate::value::read_regular_file(path, "a hosts file", MAX_HOSTS_FILE)?;
        let text =
            String::from_utf8(bytes).map_err(|_| Error::invalid(path.display().to_string(), "not UTF-8 text"))?;
        Host::parse_list(&text, &path.display().to_string())
    }

    /// [`Host::read_file`] of text (`file` names it in errors).
    pub fn parse_list(text: &str, file: &str) -> Result<Vec<Host>> {
        let mut hosts = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let host = Host::parse(line).map_err(|e| Error::syntax(format!("{file}:{}: {e}", i + 1)))?;
            hosts.push(host);
        }
        check_count(&hosts)?;
        Ok(hosts)
    }
}

/// At least one host, at most [`MAX_HOSTS`], none twice.
pub fn check_count(hosts: &[Host]) -> Result<()> {
    if hosts.is_empty() {
        return Err(Error::syntax("no host given"));
    }
    if hosts.len() > MAX_HOSTS {
        return Err(Error::syntax(format!("{} hosts (at most {MAX_HOSTS} at once)", hosts.len())));
    }
    for (i, h) in hosts.iter().enumerate() {
        if hosts[..i].iter().any(|o| o.label == h.label) {
            return Err(Error::syntax(format!("host {} given twice", h.label)));
        }
    }
    Ok(())
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse() {
        let h = Host::parse("root@lab1:2222").unwrap();
        assert_eq!((h.user.as_deref(), h.name.as_str(), h.port), (Some("root"), "lab1", Some(2222)));
        let h = Host::parse("lab1").unwrap();
        assert_eq!((h.user, h.name.as_str(), h.port), (None, "lab1", None));
        let h = Host::parse("me@[::1]:22").unwrap();
        assert_eq!((h.name.as_str(), h.port), ("::1", Some(22)));
        assert_eq!(Host::parse("[fe80::1]").unwrap().name, "fe80::1");
        for bad in [
            "",
            "-oProxyCommand=x",
            "a b",
            "lab1:0",
            "lab1:70000",
            "lab1:x",
            "@lab1",
            "-u@lab1",
            "[::1",
            "[x]:2",
            "lab;1",
            "a@b@",
            "lab1:22:3",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_files() {
        let hosts = Host::parse_list("# fleet\nlab1\n\n root@lab2:2222  # rack 2\n", "f").unwrap();
        assert_eq!(hosts.iter().map(|h| h.label.as_str()).collect::<Vec<_>>(), ["lab1", "root@lab2:2222"]);
        let e = Host::parse_list("lab1\nbad host\n", "f").unwrap_err();
        assert!(e.to_string().starts_with("f:2: "), "{e}");
        assert!(Host::parse_list("# none\n", "f").is_err());
        assert!(Host::parse_list("a\na\n", "f").is_err());
    }

    proptest::proptest! {
        #[test]
        fn no_host_text_panics_or_starts_an_option(text in "\\PC{0,40}") {
            if let Ok(h) = Host::parse(&text) {
                proptest::prop_assert!(!h.name.starts_with('-'));
                proptest::prop_assert!(!h.label.chars().any(char::is_whitespace));
            }
        }
    }
}
