//! What can be wrong with a snapshot or trace file, or with replaying one.
//! (`crate::error::Error` carries these as
//! [`ErrorKind::Observe`](crate::error::ErrorKind::Observe).)

use std::path::PathBuf;

use crate::error::class::ErrorClass;
use crate::error::remedy::Remedy;

/// A recording that does not read, or does not fit this device.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserveError {
    /// A snapshot or trace file that does not read as one.
    #[error("{}:{line}: not a valid {what}: {message}", file.display())]
    InvalidFile {
        /// What it should be.
        what: &'static str,
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The problem.
        message: String,
    },

    /// A trace recorded on another kind of device.
    #[error("{} was recorded on {recorded}, this device has {found}; its writes could do anything here", trace.display())]
    TraceFromOtherDevice {
        /// The trace.
        trace: PathBuf,
        /// The device and IDs it was recorded on.
        recorded: String,
        /// This device's IDs.
        found: String,
    },

    /// Replayed reads that did not return what the trace recorded.
    #[error("{mismatches} replayed read(s) differ from the trace (first: {first})")]
    ReplayMismatch {
        /// How many.
        mismatches: usize,
        /// The first, described.
        first: String,
    },
}

impl ObserveError {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            ObserveError::InvalidFile { .. } => ErrorClass::Usage,
            ObserveError::TraceFromOtherDevice { .. } | ObserveError::ReplayMismatch { .. } => ErrorClass::Refused,
        }
    }

    /// What would fix it, when something would.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            ObserveError::TraceFromOtherDevice { .. } => Some(Remedy::Force),
            _ => None,
        }
    }
}
