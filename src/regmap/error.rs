//! What can be wrong with a register map, or with a name or value looked up
//! in one. (`crate::error::Error` carries these as
//! [`ErrorKind::Map`](crate::error::ErrorKind::Map).)

use crate::error::class::ErrorClass;
use crate::error::remedy::Remedy;

/// A register map that does not load, or a request it refuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// An invalid register-map file.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The map file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The problem.
        message: String,
    },

    /// A register-map file with several problems (one [`MapError::Invalid`] each).
    #[error("{}", problems_text(file, problems))]
    Problems {
        /// The map file.
        file: String,
        /// Every problem found: (1-based line, problem), in line order.
        problems: Vec<(usize, String)>,
    },

    /// No register by that name.
    #[error("no register '{name}' in the {map} map{}", suggestion_text(suggestions))]
    RegisterNotFound {
        /// The name given.
        name: String,
        /// The map.
        map: String,
        /// Names that share a prefix.
        suggestions: Vec<String>,
    },

    /// No field by that name.
    #[error("register {register} has no field '{field}' (fields: {})", fields.join(", "))]
    FieldNotFound {
        /// The register.
        register: String,
        /// The field asked for.
        field: String,
        /// Its fields.
        fields: Vec<String>,
    },

    /// A register name more than one block of a map has.
    #[error("register '{name}' is in several blocks of the {map} map ({}): name one as BLOCK.REGISTER", names.join(", "))]
    RegisterAmbiguous {
        /// The name given.
        name: String,
        /// The map.
        map: String,
        /// The registers of that name, qualified by their blocks.
        names: Vec<String>,
    },

    /// A value given by name that the target does not name.
    #[error("'{name}' is not a named value of {target}{}", if names.is_empty() { ": give a number".to_string() } else { format!(" (names: {})", names.join(", ")) })]
    ValueNameNotFound {
        /// The name given.
        name: String,
        /// The register, field or offset it was given for.
        target: String,
        /// The target's named values.
        names: Vec<String>,
    },

    /// No block by that name in a map file.
    #[error("no block '{name}' in {file} (blocks: {})", blocks.join(", "))]
    BlockNotFound {
        /// The name given.
        name: String,
        /// The map file.
        file: String,
        /// The blocks there are.
        blocks: Vec<String>,
    },

    /// A map file of several blocks, and no block named.
    #[error("{file} has several blocks ({}): name one", blocks.join(", "))]
    BlockAmbiguous {
        /// The map file.
        file: String,
        /// The blocks there are.
        blocks: Vec<String>,
    },

    /// A map format whose reader needs a tool that is not installed.
    #[error("reading {what} needs {tool}, which is not available ({why})")]
    ToolMissing {
        /// The format.
        what: &'static str,
        /// The tool.
        tool: &'static str,
        /// What failed.
        why: String,
        /// How to install it.
        remedy: Remedy,
    },

    /// A write to a read-only register or field.
    #[error("register {register} is read-only")]
    ReadOnly {
        /// The register.
        register: String,
    },

    /// A read of a write-only register.
    #[error("register {register} is write-only; reading it returns nothing meaningful")]
    WriteOnly {
        /// The register.
        register: String,
    },

    /// A read the caller did not ask for would change the device.
    #[error("reading register {register} has side effects ({why})")]
    ReadSideEffect {
        /// The register.
        register: String,
        /// Why.
        why: String,
    },

    /// A register name with no map to look it up in.
    #[error("register names need a register map (a known device or a map file); give an offset instead of '{name}'")]
    NoMap {
        /// The name given.
        name: String,
    },

    /// A width the register map says the device does not take there.
    #[error("{map}: the device takes no {bits}-bit access at offset {offset:#x} (allowed: {allowed})")]
    WidthNotAllowed {
        /// The map.
        map: String,
        /// Offset in the window.
        offset: u64,
        /// Width in bits.
        bits: u32,
        /// The widths allowed there.
        allowed: String,
    },
}

impl MapError {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        use MapError::*;
        match self {
            Invalid { .. } | Problems { .. } => ErrorClass::InvalidMap,
            RegisterNotFound { .. } | BlockNotFound { .. } => ErrorClass::NotFound,
            ToolMissing { .. } => ErrorClass::Refused,
            FieldNotFound { .. }
            | RegisterAmbiguous { .. }
            | ValueNameNotFound { .. }
            | BlockAmbiguous { .. }
            | ReadOnly { .. }
            | WriteOnly { .. }
            | ReadSideEffect { .. }
            | NoMap { .. }
            | WidthNotAllowed { .. } => ErrorClass::Usage,
        }
    }

    /// What would fix it, when something would.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            MapError::ToolMissing { remedy, .. } => Some(remedy.clone()),
            MapError::BlockAmbiguous { .. } => Some(Remedy::ChooseBlock),
            MapError::ReadSideEffect { .. } => Some(Remedy::ReadAll),
            _ => None,
        }
    }

    /// Whether the message already says where (the map file's name).
    pub fn names_place(&self) -> bool {
        matches!(self, MapError::Invalid { .. } | MapError::Problems { .. })
    }
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

fn problems_text(file: &str, problems: &[(usize, String)]) -> String {
    match problems {
        [] => format!("{file}: invalid"),
        [(line, message)] => format!("{file}:{line}: {message}"),
        [(line, message), rest @ ..] => format!("{file}:{line}: {message} (and {} more problem(s))", rest.len()),
    }
}
