//! What can go wrong reaching a device on another host. (`crate::error::Error`
//! carries these as [`ErrorKind::Remote`](crate::error::ErrorKind::Remote).)

use crate::error::class::ErrorClass;
use crate::error::remedy::Remedy;

/// A host not reached, a connection lost, or an error the far side reported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// A remote host could not be reached, or its mmiodrv did not start.
    #[error("cannot reach {host}: {why}")]
    Unreachable {
        /// The host, as given.
        host: String,
        /// What ssh or the far side said.
        why: String,
    },

    /// The connection to a remote host was lost while a command ran there.
    #[error("the connection to {host} was lost {after}")]
    Disconnected {
        /// The host, as given.
        host: String,
        /// How far the command got (`after line 12 of s.txt was done`).
        after: String,
    },

    /// A remote host has no mmiodrv of this version, and none was copied there.
    #[error("{host} has no mmiodrv {version} ({why})")]
    NoRemoteMmiodrv {
        /// The host, as given.
        host: String,
        /// The version needed.
        version: &'static str,
        /// Why none was copied.
        why: String,
        /// What would fix it.
        remedy: Remedy,
    },

    /// An error of a command that ran on a remote host, as it reported it
    /// (its message names the host).
    #[error("{message}")]
    Reported {
        /// The host, as given.
        host: String,
        /// The far side's message (without its fix).
        message: String,
        /// Its class there.
        class: ErrorClass,
        /// Its exit status there.
        exit: i32,
        /// The device it names, if any.
        device: Option<String>,
        /// Its fix, as the far side worded it.
        fix: Option<String>,
    },
}

impl RemoteError {
    /// The class of this failure (a reported error keeps the far side's).
    pub fn class(&self) -> ErrorClass {
        match self {
            RemoteError::Unreachable { .. } | RemoteError::NoRemoteMmiodrv { .. } => ErrorClass::Unreachable,
            RemoteError::Disconnected { .. } => ErrorClass::Disconnected,
            RemoteError::Reported { class, .. } => *class,
        }
    }

    /// What would fix it, when something would.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            RemoteError::NoRemoteMmiodrv { remedy, .. } => Some(remedy.clone()),
            RemoteError::Reported { fix, .. } => fix.clone().map(Remedy::Text),
            _ => None,
        }
    }

    /// The host it concerns.
    pub fn host(&self) -> &str {
        match self {
            RemoteError::Unreachable { host, .. }
            | RemoteError::Disconnected { host, .. }
            | RemoteError::NoRemoteMmiodrv { host, .. }
            | RemoteError::Reported { host, .. } => host,
        }
    }
}
