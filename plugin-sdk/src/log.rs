//! Logging to the host, which tags each line with the plugin's name.

#[cfg(feature = "stage")]
use crate::stage::bindings::aish::plugin::log as wit;
#[cfg(all(feature = "transport", not(feature = "stage")))]
use crate::transport::bindings::aish::plugin::log as wit;

/// Writes a debug message (shown when `AISH_LOG` is set).
pub fn debug(message: &str) {
    emit(Level::Debug, message);
}

/// Writes an informational message.
pub fn info(message: &str) {
    emit(Level::Info, message);
}

/// Writes a warning the user should see.
pub fn warn(message: &str) {
    emit(Level::Warn, message);
}

/// Writes an error the user should see.
pub fn error(message: &str) {
    emit(Level::Error, message);
}

/// How much a message matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Detail for debugging a plugin.
    Debug,
    /// Ordinary progress.
    Info,
    /// Something the user should know.
    Warn,
    /// Something went wrong.
    Error,
}

/// Writes one message at `level`.
#[allow(unused_variables, reason = "a plugin built with no kind has no host to log to")]
pub fn emit(level: Level, message: &str) {
    #[cfg(any(feature = "transport", feature = "stage"))]
    {
        let level = match level {
            Level::Trace => wit::Level::Trace,
            Level::Debug => wit::Level::Debug,
            Level::Info => wit::Level::Info,
            Level::Warn => wit::Level::Warn,
            Level::Error => wit::Level::Error,
        };
        wit::log(level, message);
    }
}
