//! What kind of failure an error is: the classes every front end reports
//! alike (the CLI's exit statuses, Python's exception classes, the JSON
//! error object's `class`).

/// What kind of failure an error is. Front ends map classes to their own
/// outcomes (the exit status each gives is the error object's `exit`).
/// In JSON (an error object's `class`), its name as [`ErrorClass::name`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ErrorClass {
    /// Bad input: malformed address, value, width, name; a request the map
    /// forbids (read-only, write-only, out of range).
    Usage,
    /// No such device, BAR, register or file.
    NotFound,
    /// The operating system refused access.
    Permission,
    /// A system call failed.
    Io,
    /// The device (or the system around it) refuses the request in its
    /// current state: bound elsewhere, decoding off, busy, in use, unsupported
    /// by this backend or device, not what it was expected to be.
    Refused,
    /// A register-map file is invalid.
    InvalidMap,
    /// A wait ended without the event.
    Timeout,
    /// The kernel asked for the device back (removal or unbind) and it was
    /// released, or it disappeared while in use.
    Released,
    /// A signal stopped the operation; it was rolled back or finished safely.
    Interrupted,
    /// A check ran and found what it looks for: problems (doctor, regmap
    /// check) or differences (diff). Not a failure to run.
    Findings,
    /// The connection to a remote host was lost while a command ran there:
    /// it may have run in part (the message names the last line done).
    Disconnected,
    /// A remote host could not be reached or logged into, or has no
    /// mmiodrv of this version that can run: nothing ran there.
    Unreachable,
}

impl ErrorClass {
    /// Every class.
    pub const ALL: [ErrorClass; 12] = [
        ErrorClass::Usage,
        ErrorClass::NotFound,
        ErrorClass::Permission,
        ErrorClass::Io,
        ErrorClass::Refused,
        ErrorClass::InvalidMap,
        ErrorClass::Timeout,
        ErrorClass::Released,
        ErrorClass::Interrupted,
        ErrorClass::Findings,
        ErrorClass::Disconnected,
        ErrorClass::Unreachable,
    ];

    /// The class named `name` ([`ErrorClass::name`]).
    pub fn from_name(name: &str) -> Option<ErrorClass> {
        ErrorClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Its name, as in this enum (the Python exception classes are named after it).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorClass::Usage => "Usage",
            ErrorClass::NotFound => "NotFound",
            ErrorClass::Permission => "Permission",
            ErrorClass::Io => "Io",
            ErrorClass::Refused => "Refused",
            ErrorClass::InvalidMap => "InvalidMap",
            ErrorClass::Timeout => "Timeout",
            ErrorClass::Released => "Released",
            ErrorClass::Interrupted => "Interrupted",
            ErrorClass::Findings => "Findings",
            ErrorClass::Disconnected => "Disconnected",
            ErrorClass::Unreachable => "Unreachable",
        }
    }
}
