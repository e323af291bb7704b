//! The files of `< FILE`, `> FILE` and `>> FILE`.

use std::io::Write as _;

use super::{Redirect, RunError};

/// The text of an input redirect.
pub(crate) fn read_input(redirect: &Redirect) -> Result<String, RunError> {
    std::fs::read_to_string(&redirect.path).map_err(|e| RunError::File(format!("cannot read {}: {e}", redirect.path)))
}

/// Checks, before any stage runs, that the output file can be written (sh opens it first too):
/// an answer that could not be kept fails the line before it is asked for. Nothing in a file
/// already there changes (one that is not a regular file, a FIFO say, is left to the write, which
/// opening it now would disturb); one that was not there is created, and taken away again unless
/// the answer is written to it.
pub(crate) fn check_output(redirect: &Redirect) -> Result<Created, RunError> {
    let path = std::path::Path::new(&redirect.path);
    let failed = cannot_write(redirect);
    // Created only if nothing stood there, not even a link: only what the check made is removed.
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(_) => return Ok(Created(Some(path.to_path_buf()))),
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(failed(e)),
        Err(_) => {}
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(failed(std::io::Error::other("it is a folder; name a file in it"))),
        Ok(m) if m.is_file() => {
            std::fs::OpenOptions::new().append(true).open(path).map_err(failed)?;
        }
        _ => {}
    }
    Ok(Created(None))
}

/// An output file [`check_output`] created, removed when dropped unless [`Created::keep`] was
/// called: a line that failed leaves no empty file behind.
pub(crate) struct Created(Option<std::path::PathBuf>);

impl Created {
    /// The answer was written to the file: it stays.
    pub(crate) fn keep(&mut self) {
        self.0 = None;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes (or appends) the final output, ending it with a line break.
pub(crate) fn write_output(redirect: &Redirect, text: &crate::spool::Spool) -> Result<(), RunError> {
    let failed = cannot_write(redirect);
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

/// The error for an output file that cannot be written, naming it.
fn cannot_write(redirect: &Redirect) -> impl Fn(std::io::Error) -> RunError + Copy + '_ {
    move |e| RunError::File(format!("cannot write {}: {e}", redirect.path))
}
