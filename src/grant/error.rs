//! Why the administrator's device list is refused. (`crate::error::Error`
//! carries these as [`ErrorKind::Grant`](crate::error::ErrorKind::Grant).)

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::class::ErrorClass;
use crate::error::remedy::Remedy;

/// A device list the udev rules will not trust.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The device list of the udev rules (`/etc/mmiodrv/devices`) is refused:
    /// unsafe to trust, or not in its format. The rules grant nothing while
    /// it is so.
    #[error("device list {}: {problem}", path.display())]
    DeviceList {
        /// The list.
        path: PathBuf,
        /// What is wrong.
        problem: ListProblem,
    },
}

impl GrantError {
    /// The class of this failure: a list that does not parse is bad input,
    /// one unsafe to trust is refused.
    pub fn class(&self) -> ErrorClass {
        match self {
            GrantError::DeviceList { problem, .. } if problem.is_syntax() => ErrorClass::Usage,
            GrantError::DeviceList { .. } => ErrorClass::Refused,
        }
    }

    /// What would fix it.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            GrantError::DeviceList { path, problem } => Some(problem.remedy(path)),
        }
    }
}

/// Why a device list is refused. While it is, the helper grants nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListProblem {
    /// The list, or its directory, is a symbolic link.
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The list is not a regular file, or its directory not a directory.
    WrongType {
        /// The file.
        path: PathBuf,
        /// What it should be ("regular file", "directory").
        expected: &'static str,
    },
    /// Owned by another user than the trusted one (root).
    Owner {
        /// The file or directory.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// Writable by its group or by others.
    Writable {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Larger than [`MAX_DEVICE_LIST`](crate::grant::MAX_DEVICE_LIST).
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A control character other than tab, CR or newline.
    ControlCharacter {
        /// 1-based line.
        line: usize,
    },
    /// More than one entry on a line.
    SeveralEntries {
        /// 1-based line.
        line: usize,
    },
    /// Text that is neither an address nor IDs.
    BadEntry {
        /// 1-based line.
        line: usize,
        /// The text, escaped and shortened.
        text: String,
    },
}

impl ListProblem {
    /// Whether the problem is in the list's text (not its file's safety).
    pub fn is_syntax(&self) -> bool {
        matches!(
            self,
            ListProblem::ControlCharacter { .. } | ListProblem::SeveralEntries { .. } | ListProblem::BadEntry { .. }
        )
    }

    /// What would fix it, for a list at `list`.
    pub fn remedy(&self, list: &Path) -> Remedy {
        let dir = list.parent().unwrap_or(Path::new("/")).display();
        let list = list.display();
        Remedy::Text(match self {
            ListProblem::Symlink { .. }
            | ListProblem::WrongType { .. }
            | ListProblem::Owner { .. }
            | ListProblem::Writable { .. } => format!(
                "as root, make {list} a regular file owned by root, mode 0644, in a directory {dir} owned by root, mode 0755 \
                 (udev/install.sh writes them so); until then the udev rules grant nothing"
            ),
            ListProblem::TooLarge { limit } => {
                format!("keep {list} under {limit} bytes (one entry per line); until then the udev rules grant nothing")
            }
            ListProblem::ControlCharacter { line }
            | ListProblem::SeveralEntries { line }
            | ListProblem::BadEntry { line, .. } => format!(
                "fix line {line} of {list}: one PCI address (DDDD:BB:DD.F) or vendor:device IDs (VVVV:DDDD) per line, \
                 '#' starts a comment; until then the udev rules grant nothing"
            ),
        })
    }
}

impl fmt::Display for ListProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListProblem::Symlink { path } => write!(f, "{} is a symbolic link", path.display()),
            ListProblem::WrongType { path, expected } => write!(f, "{} is not a {expected}", path.display()),
            ListProblem::Owner { path, uid } => write!(f, "{} is owned by uid {uid}, not root", path.display()),
            ListProblem::Writable { path, mode } => {
                write!(f, "{} is writable by group or others (mode {:04o})", path.display(), mode & 0o7777)
            }
            ListProblem::TooLarge { limit } => write!(f, "larger than {limit} bytes"),
            ListProblem::ControlCharacter { line } => write!(f, "line {line}: a control character"),
            ListProblem::SeveralEntries { line } => {
                write!(f, "line {line}: more than one entry (one address or ID pair per line)")
            }
            ListProblem::BadEntry { line, text } => {
                write!(f, "line {line}: '{text}' is not a PCI address (DDDD:BB:DD.F) or vendor:device IDs (VVVV:DDDD)")
            }
        }
    }
}
