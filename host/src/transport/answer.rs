//! "An answer from AI X": one AI's answer, produced by a task of its own that applies the
//! transport policy (fallback, retry, resume; see [`policy`](super::policy)) and sends the
//! answer, piece by piece, over a channel. The pipeline reads the channels in order, so answers
//! produced side by side (`&`, `team-chat`) are shown one after the other without interleaving.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::policy::{Backoff, open, route};
use super::{Connector, ErrorKind, Event, Outgoing, ToolCall, Usage};
use crate::config::AiConfig;

/// A piece of an answer, with when it was produced (from the start of the request).
#[derive(Debug)]
pub enum Piece {
    /// The configured transport could not stream; a fallback carries the answer.
    Degraded {
        /// Why the configured transport failed.
        why: String,
        /// The transport used instead.
        transport: String,
    },
    /// Connected and sent: the answer is on its way.
    Started,
    /// Answer text.
    Token(String, Duration),
    /// The model asked for a tool call.
    ToolCall(ToolCall, Duration),
    /// The answer is complete.
    Done(Option<Usage>, Duration),
    /// The answer failed; `interrupted` when what arrived is a truncated answer.
    Failed {
        /// One line for the user.
        message: String,
        /// The connection dropped mid-answer.
        interrupted: bool,
        /// When it failed.
        at: Duration,
    },
}

/// An answer being produced.
pub struct Answer {
    /// The AI.
    pub ai: String,
    /// The transport plugin.
    pub transport: String,
    /// Whether it was asked for as a stream.
    pub streamed: bool,
    /// What the AI was sent.
    pub message: String,
    /// The pieces as they come.
    pub pieces: mpsc::Receiver<Piece>,
    task: JoinHandle<()>,
}

impl Answer {
    /// Starts asking `ai` for an answer to `message`: through its transport, then the
    /// transports of its `fallback` list when it cannot stream; a whole answer (`stream` false)
    /// from an HTTP backend goes straight to the `http` transport where it is installed.
    pub fn start(connector: &Connector, name: &str, ai: &AiConfig, message: Outgoing) -> Answer {
        // Bounded: a reader that falls behind holds the plugin back instead of piling pieces
        // up in memory.
        let (tx, pieces) = mpsc::channel(PIECES_IN_FLIGHT);
        let streamed = message.stream;
        let text = message.message.clone();
        let order = route(connector, ai, message.stream);
        let transport = order[0].clone();
        let (connector, ai_config) = (connector.clone(), ai.clone());
        let limit = ai.timeout_s.map(Duration::from_secs);
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let Some(limit) = limit else { return produce(connector, ai_config, order, message, tx).await };
            let watchdog = tx.clone();
            if tokio::time::timeout(limit, produce(connector, ai_config, order, message, tx)).await.is_err() {
                let message =
                    format!("no complete answer within timeout_s = {}; what arrived is kept", limit.as_secs());
                let _ = watchdog.send(Piece::Failed { message, interrupted: true, at: started.elapsed() }).await;
            }
        });
        Answer { ai: name.to_owned(), transport, streamed, message: text, pieces, task }
    }

    /// Stops producing (Ctrl-C); pieces already sent can still be read.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How many pieces may wait between the transport and the reader.
const PIECES_IN_FLIGHT: usize = 256;

async fn produce(connector: Connector, ai: AiConfig, order: Vec<String>, message: Outgoing, tx: mpsc::Sender<Piece>) {
    let max_answer = ai.max_answer_bytes();
    let mut received = 0u64;
    let started = Instant::now();
    let fail = |message: String, interrupted: bool| Piece::Failed { message, interrupted, at: started.elapsed() };
    let mut backoff = Backoff::new(&ai);
    let mut degraded: Option<String> = None;
    let mut opened = None;
    for (i, transport) in order.iter().enumerate() {
        let ai = AiConfig { transport: transport.clone(), ..ai.clone() };
        match open(&connector, &ai, &message, None, &mut backoff).await {
            Ok(session) => {
                if let Some(why) = degraded.take() {
                    let _ = tx.send(Piece::Degraded { why, transport: transport.clone() }).await;
                }
                opened = Some((session, ai));
                break;
            }
            // Only "cannot stream here" moves on to a fallback; other failures are the answer's.
            Err(e) if i + 1 < order.len() && matches!(e.kind, ErrorKind::StreamUnavailable | ErrorKind::Connect) => {
                degraded.get_or_insert(e.message);
            }
            Err(e) => {
                let message = match degraded {
                    Some(first) => format!("{first}; and {transport}: {}", e.message),
                    None => e.message,
                };
                let _ = tx.send(fail(message, false)).await;
                return;
            }
        }
    }
    let Some((mut session, ai)) = opened else { return };
    if tx.send(Piece::Started).await.is_err() {
        return session.close().await;
    }
    // Where a cut stream can resume (its last event ID) and how long the server asked to wait.
    let mut resume: Option<(String, Option<u64>)> = None;
    loop {
        let events = match session.receive().await {
            Ok(events) if events.is_empty() => {
                let _ = tx.send(fail("the stream ended before the answer was complete".into(), true)).await;
                return;
            }
            Ok(events) => events,
            Err(e) if e.kind == ErrorKind::Interrupted && resume.is_some() && backoff.left() => {
                let (id, retry) = resume.clone().unwrap_or_default();
                match open(
                    &connector,
                    &ai,
                    &message,
                    Some((&id, retry.or(e.retry_after.map(|d| d.as_millis() as u64)))),
                    &mut backoff,
                )
                .await
                {
                    Ok(next) => {
                        session = next;
                        continue;
                    }
                    Err(again) => {
                        let _ = tx
                            .send(fail(format!("{} (reconnecting failed: {})", e.message, again.message), true))
                            .await;
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(fail(e.message, e.kind == ErrorKind::Interrupted)).await;
                return;
            }
        };
        // One clock reading per batch: its events arrived together.
        let at = started.elapsed();
        for event in events {
            let mut piece = match event {
                Event::Token(text) => Piece::Token(text, at),
                Event::Raw { data, .. } => Piece::Token(format!("{data}\n"), at),
                Event::ToolCall(call) => Piece::ToolCall(call, at),
                Event::Done(usage) => Piece::Done(usage, at),
                // One line, as every error aish shows: the server's may hold line breaks.
                Event::Error(message) => {
                    fail(format!("the server reported an error: {}", crate::text::join_lines(&message)), false)
                }
                Event::Metadata(point) => {
                    if let Some(id) = point.get("last_event_id").and_then(serde_json::Value::as_str) {
                        resume = Some((id.to_owned(), point.get("retry_ms").and_then(serde_json::Value::as_u64)));
                    }
                    continue;
                }
                Event::Heartbeat => continue,
            };
            if let Piece::Token(text, _) = &piece {
                received += text.len() as u64;
                if received > max_answer {
                    let limit = max_answer >> 20;
                    let message = format!(
                        "the answer passed max_answer_mb = {limit}; what arrived is kept (raise [ai.NAME] max_answer_mb for longer answers)"
                    );
                    piece = fail(message, true);
                }
            }
            if matches!(piece, Piece::Done(..) | Piece::Failed { .. }) {
                // Closed before the reader hears the answer is complete: the instance is back
                // (kept, for a plugin that allows it) by the time the next answer starts, and
                // the reader letting go of the answer cannot cut the close short.
                session.close().await;
                let _ = tx.send(piece).await;
                return;
            }
            if tx.send(piece).await.is_err() {
                return session.close().await;
            }
        }
    }
}
