//! The line editor's own history file (`line-history`), made safe before the editor reads it:
//! the editor refuses a file that is not all text, and writes a recalled line to the terminal
//! as it is, escape sequences included.

use std::path::Path;

/// Rewrites `file` when it holds bytes that are not UTF-8 or characters that would drive the
/// terminal when a line is recalled: the first become U+FFFD, the others their visible signs,
/// every other line as it was. Returns a warning saying so, or why the file could not be read.
pub fn repair(file: &Path) -> Option<String> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("cannot read the line history {}: {e}", file.display())),
    };
    let text = String::from_utf8_lossy(&bytes);
    let safe = aish::text::sanitize(&text);
    if safe.as_bytes() == bytes.as_slice() {
        return None;
    }
    let changed =
        bytes.split(|&b| b == b'\n').zip(safe.split('\n')).filter(|(raw, safe)| *raw != safe.as_bytes()).count();
    // Written beside it and renamed over it: a failure halfway leaves the old file whole.
    let spare = file.with_extension("repairing");
    let written = std::fs::write(&spare, safe.as_bytes())
        .and_then(|()| aish::config::private_file(&spare))
        .and_then(|()| std::fs::rename(&spare, file));
    Some(match written {
        Ok(()) => format!(
            "line history {}: {} line(s) held bytes that were not text or that would drive the terminal; shown as signs now",
            file.display(),
            changed
        ),
        Err(e) => {
            let _ = std::fs::remove_file(&spare);
            format!("cannot repair the line history {}: {e}", file.display())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_line_is_repaired_and_the_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("line-history");
        std::fs::write(&file, b"apollo hi\necho \x1b]0;PWN\x07 x\nbad \xff byte\nhermes ok\n").unwrap();
        let warning = repair(&file).expect("a warning");
        assert!(warning.contains("2 line(s)"), "{warning}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("apollo hi\n") && text.ends_with("hermes ok\n"), "{text:?}");
        assert!(!text.contains('\x1b') && !text.contains('\x07') && text.contains("bad \u{fffd} byte"), "{text:?}");
        assert_eq!(repair(&file), None, "repaired once");
        assert_eq!(repair(&dir.path().join("none")), None);
    }
}
