//! Why a signature cannot be classified. The Luau layer turns these into the text of a
//! Luau error (`Display`), prefixed with the function that was asked.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbiError {
    /// More than `MAX_ARGS` arguments (fixed and variadic together).
    TooManyArguments { count: usize, max: usize },
    /// Argument `n` (1-based) has type void.
    VoidArgument(usize),
    /// Argument `n` (1-based) has a type of size 0.
    ZeroSizedArgument(usize),
    /// A struct result of size 0.
    ZeroSizedReturn,
    /// An argument of type void reached a classifier (the signature check catches it
    /// first; a classifier called on its own reports it too).
    VoidInClassifier,
    /// The outgoing stack area would exceed `MAX_STACK_BYTES` (`bytes` rounded to 16).
    StackTooLarge { bytes: usize, max: usize },
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::TooManyArguments { count, max } => write!(
                f,
                "too many arguments ({count}); the engine supports at most {max}"
            ),
            AbiError::VoidArgument(n) => write!(f, "argument {n} cannot have type void"),
            AbiError::ZeroSizedArgument(n) => write!(f, "argument {n} has a zero-sized type"),
            AbiError::ZeroSizedReturn => f.write_str("zero-sized struct return"),
            AbiError::VoidInClassifier => f.write_str("an argument cannot have type void"),
            AbiError::StackTooLarge { bytes, max } => write!(
                f,
                "arguments need {bytes} bytes of stack; the engine supports at most {max}"
            ),
        }
    }
}

impl std::error::Error for AbiError {}

/// The Luau layer's errors are message strings: `?` turns a classification error into
/// its message there.
impl From<AbiError> for String {
    fn from(e: AbiError) -> String {
        e.to_string()
    }
}
