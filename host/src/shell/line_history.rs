//! The line editor's own history file (`line-history`), made safe before the editor reads it:
//! the editor refuses a file that is not all text, and writes a recalled line to the terminal
//! as it is, escape sequences included.

use std::path::Path;

/// Rewrites `file` (in place, under the editor's lock) when it holds bytes that are not UTF-8 or characters that would drive the
/// terminal when a line is recalled: the first become U+FFFD, the others their visible signs,
/// every other line as it was. Returns a warning saying so, or why the file could not be read.
pub fn repair(file: &Path) -> Option<String> {
    use std::io::{Read, Seek, Write};
    let cannot =
        |what: &str, e: std::io::Error| Some(format!("cannot {what} the line history {}: {e}", file.display()));
    let mut handle = match std::fs::OpenOptions::new().read(true).write(true).open(file) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return cannot("read", e),
    };
    // The lock the editor takes to add a line: another shell appending waits for the repair.
    if let Err(e) = handle.lock() {
        return cannot("lock", e);
    }
    let mut bytes = Vec::new();
    if let Err(e) = handle.read_to_end(&mut bytes) {
        return cannot("read", e);
    }
    let text = String::from_utf8_lossy(&bytes);
    let safe = aish::text::sanitize(&text);
    if safe.as_bytes() == bytes.as_slice() {
        return None;
    }
    let changed =
        bytes.split(|&b| b == b'\n').zip(safe.split('\n')).filter(|(raw, safe)| *raw != safe.as_bytes()).count();
    // In place: the file keeps its owner, its owner-only mode and any link to it.
    let written = handle.set_len(0).and_then(|()| handle.rewind()).and_then(|()| handle.write_all(safe.as_bytes()));
    match written {
        Ok(()) => Some(format!(
            "line history {}: {changed} line(s) held bytes that were not text or that would drive \
             the terminal; shown as signs now",
            file.display()
        )),
        Err(e) => cannot("repair", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_line_is_repaired_and_the_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("line-history");
        std::fs::write(&file, b"apollo hi\necho \x1b]0;PWN\x07 x\nbad \xff byte\nhermes ok\n").unwrap();
        aish::config::private_file(&file).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let warning = repair(&link).expect("a warning");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "still owner-only");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is kept");
        assert!(warning.contains("2 line(s)"), "{warning}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("apollo hi\n") && text.ends_with("hermes ok\n"), "{text:?}");
        assert!(!text.contains('\x1b') && !text.contains('\x07') && text.contains("bad \u{fffd} byte"), "{text:?}");
        assert_eq!(repair(&file), None, "repaired once");
        assert_eq!(repair(&dir.path().join("none")), None);
    }
}
