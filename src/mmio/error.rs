//! What can stop one register access: a width, an offset or a window that
//! does not take it. (`crate::error::Error` carries these as
//! [`ErrorKind::Access`](crate::error::ErrorKind::Access).)

use crate::error::class::ErrorClass;

/// Why a register access was refused before it was made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// An access width other than 8, 16, 32, 64.
    #[error("invalid access width {bits}: expected 8, 16, 32 or 64")]
    InvalidWidth {
        /// Width in bits.
        bits: u32,
    },

    /// An access outside its window.
    #[error("offset {offset:#x} + {width} bytes is outside the {len:#x}-byte region")]
    OutOfRange {
        /// Offset in the window.
        offset: u64,
        /// Access width (bytes or bits, as the message says).
        width: u64,
        /// Length in bytes.
        len: u64,
    },

    /// An access not aligned to its width.
    #[error("offset {offset:#x} is not aligned to the {width}-byte access width")]
    Misaligned {
        /// Offset in the window.
        offset: u64,
        /// Access width (bytes or bits, as the message says).
        width: u64,
    },

    /// A width the window cannot make.
    #[error("{window} takes no {bits}-bit accesses")]
    WidthNotSupported {
        /// The window.
        window: String,
        /// Access width in bits.
        bits: u32,
    },

    /// A write through a read-only window.
    #[error("this window was opened read-only; writes need a writable open")]
    NotWritable,
}

impl AccessError {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            AccessError::InvalidWidth { .. } | AccessError::OutOfRange { .. } | AccessError::Misaligned { .. } => {
                ErrorClass::Usage
            }
            AccessError::WidthNotSupported { .. } | AccessError::NotWritable => ErrorClass::Refused,
        }
    }
}
