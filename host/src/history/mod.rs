//! The command history (SPEC section 5): a numbered text file `history` and a JSON Lines file
//! `history.jsonl`, appended under a lock so shells running at once never lose or interleave an
//! entry, readable by their owner only, with API keys redacted.

mod dates;
mod entry;
mod recorder;
mod stream;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::spool::Spool;

pub use dates::parse_date;
pub use entry::{Entry, Metadata, StageFigures, preview, text_block};
pub use recorder::record;

/// Why the history could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("history {}: {source}", path.display())]
pub struct HistoryError {
    path: PathBuf,
    source: std::io::Error,
}

/// What a read of the history found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every readable entry, in file order.
    pub entries: Vec<Entry>,
    /// One warning when damaged lines were skipped.
    pub warning: Option<String>,
}

/// The history files in one directory.
#[derive(Clone, Debug)]
pub struct History {
    dir: PathBuf,
    /// Values that must never be written (API keys).
    secrets: Vec<String>,
}

/// A command to record.
pub struct Record<'a> {
    /// The session it ran in.
    pub session_id: &'a str,
    /// The command line.
    pub command: &'a str,
    /// Each stage's answer, in order: written from its spool, never copied whole.
    pub responses: Vec<(&'a str, &'a Spool)>,
    /// How it ran.
    pub metadata: Metadata,
}

impl History {
    /// The history in `dir`; `secrets` are replaced by `[redacted]` wherever they would be written.
    pub fn new(dir: &Path, secrets: Vec<String>) -> Self {
        // Short values would redact ordinary words; real keys are long.
        let secrets = secrets.into_iter().filter(|s| s.len() >= 8).collect();
        History { dir: dir.to_path_buf(), secrets }
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The text file.
    pub fn text_path(&self) -> PathBuf {
        self.dir.join("history")
    }

    /// The JSON Lines file.
    pub fn jsonl_path(&self) -> PathBuf {
        self.dir.join("history.jsonl")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("history.lock")
    }

    /// Makes the history's files that exist readable by their owner only (0600): one loosened
    /// by hand, or made before aish kept them private, is tightened when aish starts, not only
    /// at the next entry.
    pub fn tighten(&self) -> Result<(), HistoryError> {
        use std::os::unix::fs::PermissionsExt;
        for path in [self.text_path(), self.jsonl_path(), self.lock_path()] {
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(self.error(path.clone()))?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn error(&self, path: PathBuf) -> impl FnOnce(std::io::Error) -> HistoryError {
        move |source| HistoryError { path, source }
    }

    /// Appends an entry to both files and returns its number.
    pub fn append(&self, record: &Record<'_>) -> Result<u64, HistoryError> {
        crate::config::private_dir(&self.dir).map_err(self.error(self.dir.clone()))?;
        let lock = owner_only(&self.lock_path(), false).map_err(self.error(self.lock_path()))?;
        // Held until the end of this function: appends from other shells wait their turn.
        lock.lock().map_err(self.error(self.lock_path()))?;
        let mut jsonl = owner_only(&self.jsonl_path(), true).map_err(self.error(self.jsonl_path()))?;
        let number = last_number(&mut jsonl).map_err(self.error(self.jsonl_path()))?.saturating_add(1);
        end_torn_line(&mut jsonl).map_err(self.error(self.jsonl_path()))?;
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);

        let command = self.redact(record.command);
        let mut metadata = record.metadata.clone();
        metadata.error = metadata.error.as_deref().map(|e| self.redact(e).into_owned());
        metadata.degraded_reason = metadata.degraded_reason.as_deref().map(|e| self.redact(e).into_owned());
        for stage in &mut metadata.stages {
            for text in [&mut stage.error, &mut stage.message, &mut stage.answer].into_iter().flatten() {
                if let std::borrow::Cow::Owned(clean) = self.redact(text) {
                    *text = clean;
                }
            }
            for call in &mut stage.tool_calls {
                for text in [&mut call.name, &mut call.arguments] {
                    if let std::borrow::Cow::Owned(clean) = self.redact(text) {
                        *text = clean;
                    }
                }
            }
        }

        let head = stream::Head { number, timestamp, session_id: record.session_id, command: &command };
        let mut writer = BufWriter::with_capacity(64 * 1024, &mut jsonl);
        stream::write_entry(&mut writer, &head, &record.responses, &metadata, &self.secrets)
            .and_then(|()| writer.flush())
            .map_err(self.error(self.jsonl_path()))?;
        drop(writer);

        // The text file shows the start of each answer only (borrowed: a long answer held in
        // memory is not copied for a hundred characters of it).
        let heads: Vec<(&str, std::borrow::Cow<'_, str>)> =
            record.responses.iter().map(|(ai, text)| (*ai, text.head())).collect();
        let clean: Vec<(&str, std::borrow::Cow<'_, str>)> =
            heads.iter().map(|(ai, text)| (*ai, self.redact(text))).collect();
        let previews: Vec<(&str, &str)> = clean.iter().map(|(ai, text)| (*ai, text.as_ref())).collect();
        let mut text = owner_only(&self.text_path(), true).map_err(self.error(self.text_path()))?;
        end_torn_line(&mut text).map_err(self.error(self.text_path()))?;
        text.write_all(text_block(number, &command, &previews, &metadata).as_bytes())
            .map_err(self.error(self.text_path()))?;
        Ok(number)
    }

    /// Every entry that can be read; damaged lines are skipped with one warning.
    pub fn load(&self) -> Result<Loaded, HistoryError> {
        let path = self.jsonl_path();
        let mut text = String::new();
        // A device or FIFO in its place (`/dev/zero`) would be read without end, or wait for
        // a writer as it is opened.
        match std::fs::metadata(&path) {
            Ok(meta) if !meta.is_file() => {
                return Err(HistoryError { path, source: not_regular() });
            }
            Ok(_) => {
                let mut bytes = Vec::new();
                File::open(&path)
                    .and_then(|mut file| file.read_to_end(&mut bytes))
                    .map_err(self.error(path.clone()))?;
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(HistoryError { path, source: e }),
        }
        let mut loaded = Loaded::default();
        let mut damaged = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(line) {
                Ok(entry) if entry.number < NUMBER_LIMIT => loaded.entries.push(entry),
                _ => damaged.push(index + 1),
            }
        }
        if let Some(first) = damaged.first() {
            let count = damaged.len();
            loaded.warning = Some(format!(
                "{}: skipped {count} damaged line{} (the first is line {first}); the rest is readable",
                path.display(),
                if count == 1 { "" } else { "s" }
            ));
        }
        Ok(loaded)
    }

    /// Entry number `n`, if it exists.
    pub fn get(&self, n: u64) -> Result<(Option<Entry>, Option<String>), HistoryError> {
        let loaded = self.load()?;
        Ok((loaded.entries.into_iter().rev().find(|e| e.number == n), loaded.warning))
    }

    fn redact<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        stream::redact_str(&self.secrets, text)
    }
}

/// Why a history file cannot be used: a device or FIFO stands in its place.
fn not_regular() -> std::io::Error {
    std::io::Error::other("it is not a regular file; move it away to start a new history")
}

/// Opens (creating, readable by the owner only) a file for appending, or for locking.
fn owner_only(path: &Path, append: bool) -> std::io::Result<File> {
    // Written to, a device in its place (`/dev/null`) would swallow the history unseen.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(not_regular());
    }
    let mut options = OpenOptions::new();
    options.create(true).read(true).mode(0o600);
    if append {
        options.append(true);
    } else {
        options.write(true);
    }
    let file = options.open(path)?;
    // A file made before aish kept it private is tightened on its next use.
    use std::os::unix::fs::PermissionsExt;
    if file.metadata()?.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// After a crash mid-write the file may end inside a line; the next entry must start on a line
/// of its own, or it would be lost with the torn one.
fn end_torn_line(file: &mut File) -> std::io::Result<()> {
    let size = file.seek(SeekFrom::End(0))?;
    if size == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(size - 1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// The number of the last readable entry (0 for none), read from the end of the file: where the
/// last line starts is found a block at a time, and only its opening is read when it is whole
/// and starts the way aish writes it (its answer can be megabytes long).
fn last_number(file: &mut File) -> std::io::Result<u64> {
    if let Some(number) = last_line_number(file)? {
        return Ok(number);
    }
    last_number_slowly(file)
}

/// The number of the last line, when it ends with `}` and a line break and opens with
/// `{"number":`; `None` sends the caller to the careful reading.
fn last_line_number(file: &mut File) -> std::io::Result<Option<u64>> {
    let size = file.seek(SeekFrom::End(0))?;
    if size < 2 {
        return Ok(None);
    }
    let mut tail = [0u8; 2];
    file.seek(SeekFrom::Start(size - 2))?;
    file.read_exact(&mut tail)?;
    if tail != *b"}\n" {
        return Ok(None);
    }
    // The line break before the last line, searched for backwards a block at a time.
    const STEP: u64 = 64 * 1024;
    let mut end = size - 1;
    let mut start_of_line = 0;
    let mut block = vec![0; STEP as usize];
    while end > 0 {
        let from = end.saturating_sub(STEP);
        let block = &mut block[..(end - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(block)?;
        if let Some(at) = memchr::memrchr(b'\n', block) {
            start_of_line = from + at as u64 + 1;
            break;
        }
        end = from;
    }
    let mut opening = [0u8; 32];
    file.seek(SeekFrom::Start(start_of_line))?;
    let read = file.read(&mut opening)?;
    let opening = &opening[..read];
    let Some(rest) = opening.strip_prefix(b"{\"number\":") else { return Ok(None) };
    let digits: Vec<u8> = rest.iter().take_while(|b| b.is_ascii_digit()).copied().collect();
    // Digits up to the comma: a number cut by the 32 bytes read is not trusted.
    if digits.is_empty() || rest.get(digits.len()) != Some(&b',') {
        return Ok(None);
    }
    Ok(std::str::from_utf8(&digits).ok().and_then(|d| d.parse().ok()).filter(|&n| n < NUMBER_LIMIT))
}

/// The number of the last readable entry, every line from the end parsed until one reads.
fn last_number_slowly(file: &mut File) -> std::io::Result<u64> {
    let size = file.seek(SeekFrom::End(0))?;
    let mut end = size;
    let mut carry: Vec<u8> = Vec::new();
    const STEP: u64 = 64 * 1024;
    while end > 0 {
        let start = end.saturating_sub(STEP);
        let mut chunk = vec![0; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&carry);
        // Whole lines only; the part before the first line break waits for the next chunk.
        let (head, lines) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) if start > 0 => chunk.split_at(at + 1),
            _ => (&[][..], &chunk[..]),
        };
        for line in lines.split(|&b| b == b'\n').rev() {
            if let Some(number) = number_of(line) {
                return Ok(number);
            }
        }
        carry = head.to_vec();
        end = start;
    }
    Ok(0)
}

/// Entry numbers from here up are a hand edit's, not aish's (no history reaches them): such a
/// line counts as damaged, so numbering goes on from the last real entry instead of wrapping.
const NUMBER_LIMIT: u64 = 1 << 53;

/// The number of a history line, without parsing the whole (possibly large) line when it
/// starts the way aish writes it.
fn number_of(line: &[u8]) -> Option<u64> {
    number_as_written(line).filter(|&n| n < NUMBER_LIMIT)
}

fn number_as_written(line: &[u8]) -> Option<u64> {
    if let Some(rest) = line.strip_prefix(b"{\"number\":") {
        let digits: Vec<u8> = rest.iter().take_while(|b| b.is_ascii_digit()).copied().collect();
        // Only trust the prefix when the line is complete.
        if !digits.is_empty() && line.ends_with(b"}") {
            return std::str::from_utf8(&digits).ok()?.parse().ok();
        }
    }
    #[derive(serde::Deserialize)]
    struct Numbered {
        number: u64,
    }
    serde_json::from_slice::<Numbered>(line).ok().map(|n| n.number)
}

#[cfg(test)]
mod tests {
    use super::*;

    static ANSWER: std::sync::LazyLock<Spool> = std::sync::LazyLock::new(|| Spool::from("an answer"));

    fn record(command: &str) -> Record<'_> {
        Record { session_id: "s1", command, responses: vec![("apollo", &ANSWER)], metadata: Metadata::default() }
    }

    #[test]
    fn numbers_follow_on_and_damage_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(dir.path(), Vec::new());
        assert_eq!(history.append(&record("one")).unwrap(), 1);
        assert_eq!(history.append(&record("two")).unwrap(), 2);
        let mut file = OpenOptions::new().append(true).open(history.jsonl_path()).unwrap();
        // A crash in the middle of writing entry 3: no line end.
        file.write_all(b"{\"number\":3,\"timestam").unwrap();
        assert_eq!(history.append(&record("three")).unwrap(), 3, "a torn last line does not count");
        let loaded = history.load().unwrap();
        assert_eq!(loaded.entries.iter().map(|e| e.number).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(loaded.warning.unwrap().contains("skipped 1 damaged line (the first is line 3)"));
        assert_eq!(loaded.entries[2].command, "three", "the new entry is whole, on its own line");
    }

    #[test]
    fn last_number_reads_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(dir.path(), Vec::new());
        let big = Spool::from("y".repeat(200_000));
        let record = Record {
            session_id: "s1",
            command: "big",
            responses: vec![("apollo", &big)],
            metadata: Metadata::default(),
        };
        history.append(&record).unwrap();
        history.append(&record).unwrap();
        let mut file = File::open(history.jsonl_path()).unwrap();
        assert_eq!(last_number(&mut file).unwrap(), 2);
    }

    #[test]
    fn files_are_private_and_secrets_redacted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(dir.path(), vec!["sk-live-123456789".into(), "short".into()]);
        let answer = Spool::from("your key sk-live-123456789 is short");
        let record = Record {
            session_id: "s1",
            command: "echo sk-live-123456789 | apollo",
            responses: vec![("apollo", &answer)],
            metadata: Metadata {
                error: Some("bad key sk-live-123456789".into()),
                degraded_reason: Some("HTTP 404: no route for sk-live-123456789".into()),
                stages: vec![StageFigures {
                    ai: "apollo".into(),
                    message: Some("sk-live-123456789".into()),
                    answer: Some("echo sk-live-123456789".into()),
                    tool_calls: vec![crate::transport::ToolCall {
                        id: String::new(),
                        name: "login".into(),
                        arguments: "{\"key\":\"sk-live-123456789\"}".into(),
                    }],
                    ..StageFigures::default()
                }],
                ..Metadata::default()
            },
        };
        history.append(&record).unwrap();
        for path in [history.jsonl_path(), history.text_path()] {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("sk-live-123456789") && text.contains("[redacted]"), "{text}");
            assert!(text.contains("is short"), "short secrets are not redacted");
        }
    }
}
