//! The files of `< FILE`, `> FILE` and `>> FILE`.

use std::io::Write as _;

use super::{Redirect, RunError};

/// The text of an input redirect.
pub(crate) fn read_input(redirect: &Redirect) -> Result<String, RunError> {
    std::fs::read_to_string(&redirect.path).map_err(|e| RunError::File(format!("cannot read {}: {e}", redirect.path)))
}

/// Writes (or appends) the final output, ending it with a line break.
pub(crate) fn write_output(redirect: &Redirect, text: &crate::spool::Spool) -> Result<(), RunError> {
    let failed = |e: std::io::Error| RunError::File(format!("cannot write {}: {e}", redirect.path));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(redirect.append)
        .truncate(!redirect.append)
        .open(&redirect.path)
        .map_err(failed)?;
    // Block by block: a spooled answer is copied without being read back whole.
    let mut wrote = Ok(());
    let read = text.each_block(|block| {
        wrote = file.write_all(block);
        wrote.as_ref().map_err(|e| e.kind().into()).copied()
    });
    wrote.map_err(failed)?;
    read?;
    if !text.ends_with_newline() {
        file.write_all(b"\n").map_err(failed)?;
    }
    Ok(())
}
