//! Memory or I/O-port space: which decoding bit of COMMAND.

use std::fmt;

/// Memory or I/O-port space, for decoding errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Memory space (COMMAND bit 1).
    Memory,
    /// I/O-port space (COMMAND bit 0).
    Io,
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Space::Memory => "memory",
            Space::Io => "I/O",
        })
    }
}
