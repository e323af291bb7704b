//! A plugin's standard error: every write is accepted (a full pipe would make Rust's `eprintln!`
//! fail, which traps the plugin), and at most a bounded amount per call is kept (for crash
//! reports) and, when `AISH_LOG` is set, shown on aish's standard error one clean line at a
//! time, followed by one note saying how much was dropped.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// The most of one call's standard error kept for a crash report, and the most shown.
const STDERR_LIMIT: usize = 16 * 1024;
/// Of what is kept, the first part: the rest is the call's latest output (a panic's message
/// comes last).
const HEAD: usize = STDERR_LIMIT / 2;
/// The most one write may carry (what WASI streams usually allow).
const WRITE_PERMIT: usize = 64 * 1024;
/// The longest line shown.
const LINE_LIMIT: usize = 2000;

/// One plugin instance's standard error. Clones share the same state.
#[derive(Clone)]
pub(crate) struct StderrSink {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    plugin: String,
    /// Whether the output is shown on aish's standard error (`AISH_LOG` set).
    show: bool,
    /// The start of this call's output.
    head: Vec<u8>,
    /// The latest of this call's output after `head`, at most `STDERR_LIMIT - HEAD` bytes.
    tail: VecDeque<u8>,
    /// Bytes of this call kept neither in `head` nor in `tail`.
    dropped: u64,
    /// The line being written, when shown.
    line: Vec<u8>,
    /// Bytes of this call shown so far.
    shown: usize,
    /// Bytes of this call not shown because of the limit.
    unshown: u64,
    /// Where shown lines go instead of aish's standard error (tests).
    captured: Option<Vec<String>>,
}

impl StderrSink {
    /// A sink for plugin `plugin`; its output is shown when `AISH_LOG` is set.
    pub(crate) fn new(plugin: &str) -> Self {
        Self::with_display(plugin, std::env::var_os("AISH_LOG").is_some())
    }

    fn with_display(plugin: &str, show: bool) -> Self {
        let inner = Inner {
            plugin: plugin.to_owned(),
            show,
            head: Vec::new(),
            tail: VecDeque::new(),
            dropped: 0,
            line: Vec::new(),
            shown: 0,
            unshown: 0,
            captured: None,
        };
        StderrSink { inner: Arc::new(Mutex::new(inner)) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves byte buffers that are still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `bytes`, whatever their size.
    pub(crate) fn accept(&self, bytes: &[u8]) {
        self.lock().accept(bytes);
    }

    /// A new guest call begins: what the last one left unsaid is shown, and the budget resets.
    pub(crate) fn new_call(&self) {
        let mut inner = self.lock();
        inner.end_call();
        inner.head.clear();
        inner.tail.clear();
        inner.dropped = 0;
    }

    /// What this call kept: its start, a note if bytes were dropped, its latest output.
    pub(crate) fn contents(&self) -> String {
        let inner = self.lock();
        let mut text = String::from_utf8_lossy(&inner.head).into_owned();
        if inner.dropped > 0 {
            text.push_str(&format!("\n{}\n", truncation_note(&inner.plugin, inner.dropped)));
        }
        let (front, back) = inner.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[front, back].concat()));
        text
    }
}

impl Inner {
    fn accept(&mut self, bytes: &[u8]) {
        let room = HEAD.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        let rest = &bytes[room..];
        let tail_limit = STDERR_LIMIT - HEAD;
        if rest.len() >= tail_limit {
            self.dropped += (self.tail.len() + rest.len() - tail_limit) as u64;
            self.tail.clear();
            self.tail.extend(&rest[rest.len() - tail_limit..]);
        } else {
            self.tail.extend(rest);
            let over = self.tail.len().saturating_sub(tail_limit);
            self.tail.drain(..over);
            self.dropped += over as u64;
        }
        if self.show {
            self.show_lines(bytes);
        }
    }

    /// Shows every complete line in `bytes` while this call's budget lasts.
    fn show_lines(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.take_line_part(&bytes[..=end]);
            self.flush_line();
            bytes = &bytes[end + 1..];
        }
        self.take_line_part(bytes);
    }

    /// Adds to the line being written what the budget allows; the rest is counted as dropped.
    fn take_line_part(&mut self, part: &[u8]) {
        let room = STDERR_LIMIT.saturating_sub(self.shown + self.line.len()).min(part.len());
        self.line.extend_from_slice(&part[..room]);
        self.unshown += (part.len() - room) as u64;
    }

    fn flush_line(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.line);
        self.shown += line.len();
        let line = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = crate::text::one_line(&String::from_utf8_lossy(line), LINE_LIMIT);
        let plugin = crate::text::one_line(&self.plugin, 100);
        self.emit(format!("[plugin {plugin}] stderr: {text}"));
    }

    fn emit(&mut self, line: String) {
        match &mut self.captured {
            Some(lines) => lines.push(line),
            None => eprintln!("{line}"),
        }
    }

    /// Shows the line still open and, when the budget ran out, one note.
    fn end_call(&mut self) {
        if self.show {
            self.flush_line();
            if self.unshown > 0 {
                let note = truncation_note(&self.plugin, self.unshown);
                self.emit(note);
            }
        }
        self.shown = 0;
        self.unshown = 0;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.end_call();
    }
}

/// The note that stands for what was dropped.
fn truncation_note(plugin: &str, dropped: u64) -> String {
    format!("[plugin {}: stderr truncated, {dropped} bytes dropped]", crate::text::one_line(plugin, 100))
}

impl IsTerminal for StderrSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for StderrSink {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.accept(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrSink {
    async fn ready(&mut self) {}
}

impl AsyncWrite for StderrSink {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.accept(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_accepted_and_a_bounded_amount_kept_with_a_note() {
        let sink = StderrSink::with_display("chatty", false);
        let mut stream: Box<dyn OutputStream> = sink.p2_stream();
        for _ in 0..256 {
            assert_eq!(stream.check_write().unwrap(), WRITE_PERMIT);
            stream.write(Bytes::from(vec![b'x'; 4096])).unwrap();
        }
        stream.write(Bytes::from_static(b"thread 'main' panicked at src/lib.rs:1:1:\nthe end\n")).unwrap();
        let kept = sink.contents();
        assert!(kept.len() <= STDERR_LIMIT + 100, "{}", kept.len());
        let dropped = 256 * 4096 + 50 - STDERR_LIMIT;
        assert!(kept.contains(&format!("[plugin chatty: stderr truncated, {dropped} bytes dropped]")), "{kept}");
        assert!(kept.ends_with("panicked at src/lib.rs:1:1:\nthe end\n"), "the latest output is kept");
        sink.new_call();
        assert_eq!(sink.contents(), "", "each call starts afresh");
        sink.accept(b"short");
        assert_eq!(sink.contents(), "short");
    }

    #[test]
    fn the_shown_part_is_clean_lines_bounded_per_call_then_one_note() {
        let sink = StderrSink::with_display("chatty", true);
        sink.lock().captured = Some(Vec::new());
        sink.accept(b"one \x1b[31mred line\nand a ");
        sink.accept(b"second\n");
        for _ in 0..100 {
            sink.accept(&[b'y'; 999]);
            sink.accept(b"\n");
        }
        sink.new_call();
        sink.accept(b"next call\n");
        sink.new_call();
        let lines = sink.lock().captured.take().unwrap_or_default();
        assert_eq!(lines[0], "[plugin chatty] stderr: one \u{241b}[31mred line");
        assert_eq!(lines[1], "[plugin chatty] stderr: and a second");
        let shown: usize = lines.iter().map(String::len).sum();
        assert!(shown < STDERR_LIMIT + 40 * 30, "{shown}");
        let notes: Vec<&String> = lines.iter().filter(|l| l.contains("stderr truncated")).collect();
        assert_eq!(notes.len(), 1, "{lines:?}");
        assert!(notes[0].starts_with("[plugin chatty: stderr truncated, ") && notes[0].ends_with(" bytes dropped]"));
        assert_eq!(lines.last().map(String::as_str), Some("[plugin chatty] stderr: next call"), "per call");
    }
}
