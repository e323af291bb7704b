//! An answer's text as it arrives: held in memory while it is small, and spooled to a file
//! once it passes [`SPOOL_AFTER`], so that a 100 MiB answer costs a few MiB of memory instead
//! of several copies of itself. The file has no name (it is gone when aish exits, even after a
//! crash) and is readable by its owner only. Whoever needs the text whole (the next AI of a
//! pipeline) reads it back once; the history and `> FILE` stream it in blocks.

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much text is held in memory before the rest goes to a file.
pub const SPOOL_AFTER: usize = 8 << 20;

/// How much spooled text waits in memory before it is written out, and the block size reads
/// use.
const BLOCK: usize = 1 << 20;

/// Why spooled text could not be kept or read.
#[derive(Debug, thiserror::Error)]
#[error("the answer spool in {}: {source}", dir.display())]
pub struct SpoolError {
    dir: PathBuf,
    source: std::io::Error,
}

impl SpoolError {
    /// Whether the disk (or the user's quota) is full.
    pub fn is_full(&self) -> bool {
        matches!(self.source.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
    }
}

/// Text that is appended to, then read whole or streamed.
#[derive(Debug, Default)]
pub struct Spool {
    /// What is in memory: the whole text, or (once spooled) what follows the file's part.
    text: String,
    file: Option<Spilled>,
    chars: u64,
    threshold: Threshold,
    /// A second handle on another spool's file: it may be read, never added to.
    shared: bool,
}

#[derive(Debug)]
struct Spilled {
    file: Arc<File>,
    /// Bytes in the file.
    len: u64,
}

/// Where and when text spills to a file.
#[derive(Clone, Debug)]
struct Threshold {
    dir: Option<PathBuf>,
    after: usize,
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold { dir: None, after: SPOOL_AFTER }
    }
}

/// Past this many bytes in memory, a spool stops growing step by step (see `push_str`).
const GROW_AT_ONCE: usize = 64 * 1024;

impl Spool {
    /// An empty spool that spills to an unnamed file in `dir` (the system's temporary
    /// directory when `None`) past `after` bytes.
    pub fn new(dir: Option<&Path>, after: usize) -> Self {
        Spool { threshold: Threshold { dir: dir.map(Path::to_path_buf), after }, ..Spool::default() }
    }

    /// An empty spool like this one: same directory, same threshold.
    pub fn sibling(&self) -> Self {
        Spool { threshold: self.threshold.clone(), ..Spool::default() }
    }

    /// Adds `more` at the end. On an error nothing of `more` is kept, and what was kept before
    /// stays readable.
    pub fn push_str(&mut self, more: &str) -> Result<(), SpoolError> {
        if self.shared {
            // Two handles appending to one file would overwrite each other.
            let source = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "a shared handle is read-only");
            return Err(SpoolError { dir: self.dir(), source });
        }
        let limit = if self.file.is_some() { BLOCK } else { self.threshold.after };
        let len = self.text.len() + more.len();
        if len > limit {
            self.spill(more)?;
        } else {
            // A long answer: reserve up to the limit (at most the usual 8 MiB) at once. The pages
            // are only address space until written, and the text is not copied again (doubling
            // would copy it, and touch fresh pages, at every step).
            let room = limit.min(SPOOL_AFTER);
            if len > self.text.capacity() && len > GROW_AT_ONCE && len <= room {
                self.text.reserve_exact(room - self.text.len());
            }
            self.text.push_str(more);
        }
        self.chars += more.chars().count() as u64;
        Ok(())
    }

    /// Writes what is in memory and `more` to the file, creating it on first use.
    fn spill(&mut self, more: &str) -> Result<(), SpoolError> {
        let dir = self.dir();
        let failed = |source| SpoolError { dir: dir.clone(), source };
        if self.file.is_none() {
            let file = tempfile::tempfile_in(&dir).map_err(failed)?;
            self.file = Some(Spilled { file: Arc::new(file), len: 0 });
        }
        let Some(spilled) = &mut self.file else { return Ok(()) };
        let mut at = spilled.len;
        for part in [self.text.as_bytes(), more.as_bytes()] {
            spilled.file.write_all_at(part, at).map_err(failed)?;
            at += part.len() as u64;
        }
        spilled.len = at;
        self.text.clear();
        // The memory part was as large as the threshold; only a block is needed from now on.
        self.text.shrink_to(BLOCK);
        Ok(())
    }

    fn dir(&self) -> PathBuf {
        self.threshold.dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.len) + self.text.len() as u64
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its length in characters.
    pub fn chars(&self) -> u64 {
        self.chars
    }

    /// Whether part of it is in a file.
    pub fn is_spooled(&self) -> bool {
        self.file.is_some()
    }

    /// The text, borrowed when it is all in memory, else read back whole.
    pub fn text(&self) -> Result<Cow<'_, str>, SpoolError> {
        if self.file.is_none() {
            return Ok(Cow::Borrowed(&self.text));
        }
        let mut bytes = Vec::with_capacity(self.len() as usize);
        self.each_block(|block| {
            bytes.extend_from_slice(block);
            Ok(())
        })?;
        // Only whole strings went in, so this is UTF-8; a damaged file is shown, not fatal.
        Ok(Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())))
    }

    /// The text, or as much of its beginning as one block holds, for previews.
    pub fn head(&self) -> Cow<'_, str> {
        let Some(spilled) = &self.file else { return Cow::Borrowed(&self.text) };
        let mut bytes = vec![0; (spilled.len as usize).min(BLOCK)];
        let read = spilled.file.read_at(&mut bytes, 0).unwrap_or(0);
        bytes.truncate(read);
        Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Whether it ends with a line break.
    pub fn ends_with_newline(&self) -> bool {
        if !self.text.is_empty() {
            return self.text.ends_with('\n');
        }
        let Some(spilled) = self.file.as_ref().filter(|f| f.len > 0) else { return false };
        let mut last = [0u8];
        spilled.file.read_at(&mut last, spilled.len - 1).is_ok_and(|n| n == 1) && last[0] == b'\n'
    }

    /// Calls `each` with the text in order, a block at a time.
    pub fn each_block(&self, mut each: impl FnMut(&[u8]) -> std::io::Result<()>) -> Result<(), SpoolError> {
        let failed = |source| SpoolError { dir: self.dir(), source };
        if let Some(spilled) = &self.file {
            let mut block = vec![0; BLOCK.min(spilled.len as usize)];
            let mut at = 0;
            while at < spilled.len {
                let want = ((spilled.len - at) as usize).min(block.len());
                spilled.file.read_exact_at(&mut block[..want], at).map_err(failed)?;
                each(&block[..want]).map_err(failed)?;
                at += want as u64;
            }
        }
        if !self.text.is_empty() {
            each(self.text.as_bytes()).map_err(failed)?;
        }
        Ok(())
    }

    /// A second handle on the same text, without copying what is in a file. Only the original
    /// may be added to afterwards.
    pub fn share(&self) -> Spool {
        Spool {
            text: self.text.clone(),
            file: self.file.as_ref().map(|f| Spilled { file: Arc::clone(&f.file), len: f.len }),
            chars: self.chars,
            threshold: self.threshold.clone(),
            shared: self.file.is_some(),
        }
    }
}

impl From<String> for Spool {
    fn from(text: String) -> Self {
        let chars = text.chars().count() as u64;
        Spool { text, chars, ..Spool::default() }
    }
}

impl From<&str> for Spool {
    fn from(text: &str) -> Self {
        Spool::from(text.to_owned())
    }
}

impl PartialEq for Spool {
    /// Equal texts (spooled ones are read back to compare; meant for tests).
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        match (self.text(), other.text()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

impl Clone for Spool {
    fn clone(&self) -> Self {
        self.share()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_text_stays_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(Some(dir.path()), 16);
        spool.push_str("héllo ").unwrap();
        spool.push_str("world").unwrap();
        assert!(!spool.is_spooled());
        assert_eq!(spool.text().unwrap(), "héllo world");
        assert_eq!((spool.len(), spool.chars()), (12, 11));
    }

    #[test]
    fn a_long_answer_reserves_its_room_once_and_no_more_than_the_usual_limit() {
        let piece = "é".repeat(1000);
        for after in [SPOOL_AFTER, usize::MAX] {
            let mut spool = Spool::new(None, after);
            let mut expected = String::new();
            for _ in 0..100 {
                spool.push_str(&piece).unwrap();
                expected.push_str(&piece);
            }
            assert!(!spool.is_spooled());
            assert_eq!(spool.text.capacity(), SPOOL_AFTER, "past 64 KiB, room up to 8 MiB at once (after = {after})");
            assert_eq!(spool.text().unwrap(), expected);
        }
        // Past 8 MiB with a larger threshold, it grows as a string does.
        let mut spool = Spool::new(None, usize::MAX);
        let block = "x".repeat(1 << 20);
        for _ in 0..9 {
            spool.push_str(&block).unwrap();
        }
        assert_eq!(spool.len(), 9 << 20);
        assert!(spool.text.capacity() >= 9 << 20);
    }

    #[test]
    fn large_text_spills_and_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(Some(dir.path()), 10);
        let mut expected = String::new();
        for i in 0..3000 {
            let piece = format!("{i}é ");
            spool.push_str(&piece).unwrap();
            expected.push_str(&piece);
        }
        assert!(spool.is_spooled());
        assert_eq!(spool.len(), expected.len() as u64);
        assert_eq!(spool.chars(), expected.chars().count() as u64);
        assert_eq!(spool.text().unwrap(), expected);
        let mut streamed = Vec::new();
        spool
            .each_block(|block| {
                streamed.extend_from_slice(block);
                Ok(())
            })
            .unwrap();
        assert_eq!(streamed, expected.as_bytes());
        assert!(expected.starts_with(spool.head().as_ref()));
        assert!(!spool.ends_with_newline());
        spool.push_str("end\n").unwrap();
        assert!(spool.ends_with_newline());
        let mut shared = spool.share();
        assert_eq!(shared, spool, "a shared handle reads the same text");
        assert!(shared.push_str("more").is_err(), "and cannot add to it");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the spool file has no name");
    }

    #[test]
    fn a_spool_that_cannot_be_made_says_where() {
        let mut spool = Spool::new(Some(Path::new("/nonexistent/aish-spool")), 4);
        spool.push_str("abc").unwrap();
        let error = spool.push_str("defgh").unwrap_err().to_string();
        assert!(error.contains("/nonexistent/aish-spool"), "{error}");
        assert_eq!(spool.text().unwrap(), "abc", "what was kept before stays");
    }
}
