//! The files of `< FILE`, `> FILE` and `>> FILE`.

use std::io::Write as _;

use super::{Redirect, RunError};

/// The text of an input redirect.
pub(crate) fn read_input(redirect: &Redirect) -> Result<String, RunError> {
    std::fs::read_to_string(&redirect.path).map_err(|e| RunError::File(format!("cannot read {}: {e}", redirect.path)))
}

/// Writes (or appends) the final output, ending it with a line break.
pub(crate) fn write_output(redirect: &Redirect, text: &str) -> Result<(), RunError> {
    let failed = |e: std::io::Error| RunError::File(format!("cannot write {}: {e}", redirect.path));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(redirect.append)
        .truncate(!redirect.append)
        .open(&redirect.path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    if !text.ends_with('\n') {
        file.write_all(b"\n").map_err(failed)?;
    }
    Ok(())
}
