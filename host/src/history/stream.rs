//! Writing a large answer into a history line without holding it twice: its text arrives a
//! block at a time, secrets are replaced even where one is split between two blocks, and the
//! result is escaped as the inside of a JSON string.

use std::io::Write;

use super::Metadata;
use crate::spool::Spool;

/// Replaces secrets in text that arrives in blocks.
pub(super) struct Redactor<'s> {
    secrets: &'s [String],
    /// The end of what arrived, held back because a secret may continue in the next block.
    carry: Vec<u8>,
    longest: usize,
}

/// What a secret is replaced by.
pub(super) const REDACTED: &str = "[redacted]";

impl<'s> Redactor<'s> {
    pub(super) fn new(secrets: &'s [String]) -> Self {
        let longest = secrets.iter().map(String::len).max().unwrap_or(0);
        Redactor { secrets, carry: Vec::new(), longest }
    }

    /// Takes the next block; what is certain to be free of a partial secret goes to `out`.
    pub(super) fn push(
        &mut self,
        block: &[u8],
        out: &mut impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        if self.secrets.is_empty() {
            return out(block);
        }
        self.carry.extend_from_slice(block);
        self.emit(false, out)
    }

    /// Writes what is still held.
    pub(super) fn finish(&mut self, out: &mut impl FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        self.emit(true, out)
    }

    fn emit(&mut self, last: bool, out: &mut impl FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        let buffer = std::mem::take(&mut self.carry);
        // A secret starting before `safe` lies wholly in the buffer, so it is found now.
        let safe = if last { buffer.len() } else { buffer.len().saturating_sub(self.longest.saturating_sub(1)) };
        // Each secret's next place, searched for again only once the text before it is written:
        // a text full of one secret is read once per secret, not once per match.
        let mut next: Vec<Option<usize>> = self.secrets.iter().map(|s| find(&buffer, s.as_bytes())).collect();
        let mut start = 0;
        loop {
            for (place, secret) in next.iter_mut().zip(self.secrets) {
                if place.is_some_and(|at| at < start) {
                    *place = find(&buffer[start..], secret.as_bytes()).map(|at| start + at);
                }
            }
            // The earliest, the longest where two start together.
            let first = next
                .iter()
                .zip(self.secrets)
                .filter_map(|(place, secret)| place.map(|at| (at, secret.len())))
                .min_by_key(|&(at, len)| (at, std::cmp::Reverse(len)));
            let Some((at, len)) = first.filter(|&(at, _)| at < safe) else { break };
            out(&buffer[start..at])?;
            out(REDACTED.as_bytes())?;
            start = at + len;
        }
        let end = safe.max(start);
        out(&buffer[start..end])?;
        self.carry = buffer[end..].to_vec();
        Ok(())
    }
}

/// `text` with every secret replaced, by the same rule as text that arrives in blocks (the
/// earliest match first, the longest of those that start together); borrowed when it holds
/// none.
pub(super) fn redact_str<'t>(secrets: &[String], text: &'t str) -> std::borrow::Cow<'t, str> {
    if !secrets.iter().any(|s| find(text.as_bytes(), s.as_bytes()).is_some()) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    {
        let mut redactor = Redactor::new(secrets);
        let mut sink = |bytes: &[u8]| {
            out.extend_from_slice(bytes);
            Ok(())
        };
        // Writing into memory cannot fail.
        let _ = redactor.push(text.as_bytes(), &mut sink).and_then(|()| redactor.finish(&mut sink));
    }
    // Whole secrets (UTF-8 themselves) were cut out of UTF-8 text: what is left is UTF-8.
    std::borrow::Cow::Owned(
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() { None } else { memchr::memmem::find(haystack, needle) }
}

/// Writes one history line: the entry's fields in the order aish has always written them, each
/// answer streamed from its spool (redacted and escaped) in between.
pub(super) fn write_entry(
    w: &mut impl Write,
    head: &Head<'_>,
    responses: &[(&str, &Spool)],
    metadata: &Metadata,
    secrets: &[String],
) -> std::io::Result<()> {
    write!(w, "{{\"number\":{},\"timestamp\":", head.number)?;
    serde_json::to_writer(&mut *w, &head.timestamp)?;
    if !head.session_id.is_empty() {
        w.write_all(b",\"session_id\":")?;
        serde_json::to_writer(&mut *w, head.session_id)?;
    }
    w.write_all(b",\"command\":")?;
    serde_json::to_writer(&mut *w, head.command)?;
    // `responses` is an object, so it holds each name once: an AI that answered more than once
    // in the line keeps its last answer there and each earlier one in its stage's `answer`
    // (`stages` pairs with `responses` one to one, as the recorder builds them).
    let later = |i: usize| responses[i + 1..].iter().any(|(ai, _)| *ai == responses[i].0);
    let in_stage: Vec<bool> = (0..responses.len()).map(|i| later(i) && i < metadata.stages.len()).collect();
    w.write_all(b",\"responses\":{")?;
    let mut first = true;
    for (i, (ai, text)) in responses.iter().enumerate() {
        if in_stage[i] {
            continue;
        }
        if !std::mem::take(&mut first) {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, ai)?;
        w.write_all(b":")?;
        write_answer(w, text, secrets)?;
    }
    w.write_all(b"},\"metadata\":")?;
    if !in_stage.contains(&true) {
        serde_json::to_writer(&mut *w, metadata)?;
        return w.write_all(b"}\n");
    }
    // The stages are written one by one, so that an answer kept there streams from its spool
    // like the others (each object is written whole, then reopened for what follows).
    write_open(w, &Metadata { stages: Vec::new(), ..metadata.clone() })?;
    w.write_all(b",\"stages\":[")?;
    for (i, stage) in metadata.stages.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        if !in_stage.get(i).copied().unwrap_or(false) {
            serde_json::to_writer(&mut *w, stage)?;
            continue;
        }
        write_open(w, &super::StageFigures { answer: None, ..stage.clone() })?;
        w.write_all(b",\"answer\":")?;
        write_answer(w, responses[i].1, secrets)?;
        w.write_all(b"}")?;
    }
    w.write_all(b"]}}\n")
}

/// Writes `value`, a JSON object with at least one field, without its closing `}`: the fields
/// written after it join it.
fn write_open(w: &mut impl Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut open = serde_json::to_vec(value)?;
    open.pop();
    w.write_all(&open)
}

/// One answer as a JSON string, streamed from its spool with secrets redacted.
fn write_answer(w: &mut impl Write, text: &Spool, secrets: &[String]) -> std::io::Result<()> {
    w.write_all(b"\"")?;
    let mut redactor = Redactor::new(secrets);
    let mut out = |bytes: &[u8]| escape_json(w, bytes);
    text.each_block(|block| redactor.push(block, &mut out)).map_err(std::io::Error::other)?;
    redactor.finish(&mut out)?;
    w.write_all(b"\"")
}

/// The small fields of a history line.
pub(super) struct Head<'a> {
    pub(super) number: u64,
    pub(super) timestamp: f64,
    pub(super) session_id: &'a str,
    pub(super) command: &'a str,
}

/// Writes `bytes` (UTF-8, possibly cut anywhere inside a character) escaped as JSON string
/// content. Bytes of multi-byte characters are never escaped, so a cut is harmless.
pub(super) fn escape_json(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    // Runs of 32 bytes with nothing to escape are passed over whole (a check the compiler does
    // with vector instructions); only the runs that need it are looked at byte by byte.
    const RUN: usize = 32;
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let run = &bytes[at..(at + RUN).min(bytes.len())];
        if run.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\')) {
            escape_run(out, bytes, at, at + run.len(), &mut start)?;
        }
        at += run.len();
    }
    out.write_all(&bytes[start..])
}

/// Escapes what needs it in `bytes[from..to]`, writing what comes before each escape from `start`.
fn escape_run(out: &mut impl Write, bytes: &[u8], from: usize, to: usize, start: &mut usize) -> std::io::Result<()> {
    for (i, &b) in bytes.iter().enumerate().take(to).skip(from) {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.write_all(&bytes[*start..i])?;
                write!(out, "\\u{b:04x}")?;
                *start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.write_all(&bytes[*start..i])?;
        out.write_all(escape)?;
        *start = i + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn redact_in_blocks(secrets: &[String], text: &str, cuts: &[usize]) -> String {
        let mut redactor = Redactor::new(secrets);
        let mut out = Vec::new();
        let mut sink = |b: &[u8]| {
            out.extend_from_slice(b);
            Ok(())
        };
        let mut from = 0;
        for &cut in cuts.iter().chain([text.len()].iter()) {
            let cut = cut.clamp(from, text.len());
            redactor.push(&text.as_bytes()[from..cut], &mut sink).unwrap();
            from = cut;
        }
        redactor.finish(&mut sink).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_secret_split_between_blocks_is_redacted() {
        let secrets = vec!["sk-live-123456789".to_owned()];
        let text = "key sk-live-123456789 and sk-live-123456789.";
        for cut in 0..text.len() {
            assert_eq!(redact_in_blocks(&secrets, text, &[cut]), "key [redacted] and [redacted].", "cut at {cut}");
        }
    }

    #[test]
    fn a_spooled_answer_is_written_as_one_json_string() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(Some(dir.path()), 64);
        let mut expected = String::new();
        for i in 0..500 {
            let piece = format!("{i} \"é\" \n sk-live-123456789 ");
            spool.push_str(&piece).unwrap();
            expected.push_str(&piece.replace("sk-live-123456789", REDACTED));
        }
        assert!(spool.is_spooled());
        let head = Head { number: 7, timestamp: 1.5, session_id: "s", command: "c" };
        let mut line = Vec::new();
        let secrets = ["sk-live-123456789".to_owned()];
        write_entry(&mut line, &head, &[("apollo", &spool)], &Metadata::default(), &secrets).unwrap();
        assert!(line.starts_with(br#"{"number":7,"timestamp":1.5,"session_id":"s","command":"c","responses":{"#));
        let entry: super::super::Entry = serde_json::from_slice(&line).unwrap();
        assert_eq!(entry.responses, vec![("apollo".to_owned(), expected)]);
    }

    #[test]
    fn escaping_matches_serde_json() {
        let text = "quote \" slash \\ line\nret\r tab\t bell\u{7} nul\u{0} del\u{7f} é ✓";
        let mut out = Vec::new();
        escape_json(&mut out, text.as_bytes()).unwrap();
        let ours = format!("\"{}\"", String::from_utf8(out).unwrap());
        assert_eq!(serde_json::from_str::<String>(&ours).unwrap(), text);
    }

    proptest! {
        #[test]
        fn escaped_text_reads_back_whole(text in "(\\PC|[\"\\\\\n\t\u{1}\u{1f}é😀 ]){0,200}") {
            let mut out = Vec::new();
            escape_json(&mut out, text.as_bytes()).unwrap();
            let json = format!("\"{}\"", String::from_utf8(out).unwrap());
            prop_assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        }

        #[test]
        fn blocks_redact_like_one_piece(
            text in "(sk-secret-9|sk-secret|[a-z -]){0,60}",
            cuts in proptest::collection::vec(0usize..120, 0..6),
        ) {
            let secrets = vec!["sk-secret-9".to_owned(), "sk-secret".to_owned()];
            let mut cuts = cuts;
            cuts.sort_unstable();
            let whole = redact_in_blocks(&secrets, &text, &[]);
            prop_assert_eq!(redact_in_blocks(&secrets, &text, &cuts), whole.clone());
            prop_assert!(!whole.contains("sk-secret"));
        }

        /// The command, errors and previews are redacted by the rule the answers are: whatever
        /// the secrets' order, and where secrets overlap (one inside another, one running into
        /// the next, one inside the word that replaces them).
        #[test]
        fn short_fields_redact_like_answers(
            text in "(sk-secret-9|sk-secret|et-9zz|edact|[a-z -]){0,60}",
            cuts in proptest::collection::vec(0usize..120, 0..6),
        ) {
            let secrets = vec!["sk-secret".to_owned(), "et-9zz".to_owned(), "sk-secret-9".to_owned(), "edact".to_owned()];
            let mut cuts = cuts;
            cuts.sort_unstable();
            let reversed: Vec<String> = secrets.iter().rev().cloned().collect();
            let short = redact_str(&secrets, &text);
            prop_assert_eq!(short.as_ref(), redact_in_blocks(&secrets, &text, &cuts));
            let other_order = redact_str(&reversed, &text);
            prop_assert_eq!(short.as_ref(), other_order.as_ref());
            prop_assert_eq!(matches!(short, std::borrow::Cow::Borrowed(_)), short == text.as_str());
        }
    }
}
