//! One AI's answer, produced by a task of its own and sent, piece by piece, over a channel.
//! The display reads the channels in pipeline order, so answers produced side by side (`&`,
//! `team-chat`) are shown one after the other without interleaving, each as soon as it can be.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::AiConfig;
use crate::transport::{Connector, ErrorKind, Event, Outgoing, TransportError, TransportSession, Usage};

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
    /// The pieces as they come.
    pub pieces: mpsc::UnboundedReceiver<Piece>,
    task: JoinHandle<()>,
}

impl Answer {
    /// Starts asking `ai` for an answer to `message`: through its transport, then the
    /// transports of its `fallback` list when it cannot stream; a whole answer (`stream` false)
    /// from an HTTP backend goes straight to the `http` transport where it is installed.
    pub fn start(connector: &Connector, name: &str, ai: &AiConfig, message: Outgoing) -> Answer {
        let (tx, pieces) = mpsc::unbounded_channel();
        let streamed = message.stream;
        let mut order = vec![ai.transport.clone()];
        // A whole answer from an HTTP backend is plain request/response; a socket protocol
        // (tcp://, ws://) asks its own transport for it.
        let over_http = ai.url.starts_with("http://") || ai.url.starts_with("https://");
        if !message.stream && over_http && connector.registry().get("http").is_some() {
            order = vec!["http".to_owned()];
        }
        for fallback in &ai.fallback {
            if !order.contains(fallback) {
                order.push(fallback.clone());
            }
        }
        let transport = order[0].clone();
        let (connector, ai_config) = (connector.clone(), ai.clone());
        let task = tokio::spawn(async move { produce(connector, ai_config, order, message, tx).await });
        Answer { ai: name.to_owned(), transport, streamed, pieces, task }
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

async fn produce(
    connector: Connector,
    ai: AiConfig,
    order: Vec<String>,
    message: Outgoing,
    tx: mpsc::UnboundedSender<Piece>,
) {
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
                    let _ = tx.send(Piece::Degraded { why, transport: transport.clone() });
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
                let _ = tx.send(fail(message, false));
                return;
            }
        }
    }
    let Some((mut session, ai)) = opened else { return };
    if tx.send(Piece::Started).is_err() {
        return session.close().await;
    }
    // Where a cut stream can resume (its last event ID) and how long the server asked to wait.
    let mut resume: Option<(String, Option<u64>)> = None;
    let mut finished = false;
    while !finished {
        let events = match session.receive().await {
            Ok(events) if events.is_empty() => {
                let _ = tx.send(fail("the stream ended before the answer was complete".into(), true));
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
                        let _ = tx.send(fail(format!("{} (reconnecting failed: {})", e.message, again.message), true));
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(fail(e.message, e.kind == ErrorKind::Interrupted));
                return;
            }
        };
        for event in events {
            let piece = match event {
                Event::Token(text) => Piece::Token(text, started.elapsed()),
                Event::Raw { data, .. } => Piece::Token(format!("{data}\n"), started.elapsed()),
                Event::Done(usage) => {
                    finished = true;
                    Piece::Done(usage, started.elapsed())
                }
                Event::Error(message) => {
                    finished = true;
                    fail(format!("the server reported an error: {message}"), false)
                }
                Event::Metadata(point) => {
                    if let Some(id) = point.get("last_event_id").and_then(serde_json::Value::as_str) {
                        resume = Some((id.to_owned(), point.get("retry_ms").and_then(serde_json::Value::as_u64)));
                    }
                    continue;
                }
                Event::Heartbeat => continue,
            };
            if tx.send(piece).is_err() {
                return session.close().await;
            }
        }
    }
    session.close().await;
}

/// Opens a session and sends the message; a busy server (429, 503) or, when resuming, a cut
/// connection is tried again after the backoff while attempts are left. `resume` is the last
/// event ID to resume after and the wait the server asked for.
async fn open(
    connector: &Connector,
    ai: &AiConfig,
    message: &Outgoing,
    resume: Option<(&str, Option<u64>)>,
    backoff: &mut Backoff,
) -> Result<TransportSession, TransportError> {
    let mut ai = ai.clone();
    let mut asked_wait = None;
    if let Some((id, retry_ms)) = resume {
        ai.settings.insert("last_event_id".into(), toml::Value::String(id.to_owned()));
        asked_wait = retry_ms.map(Duration::from_millis);
        tokio::time::sleep(backoff.next(asked_wait)).await;
    }
    loop {
        let attempt = async {
            let mut session = connector.connect_ai(&ai).await?;
            session.send(message).await?;
            Ok::<_, TransportError>(session)
        };
        match attempt.await {
            Ok(session) => return Ok(session),
            Err(e)
                if backoff.left()
                    && (matches!(e.status, Some(429 | 503)) || (resume.is_some() && e.kind == ErrorKind::Connect)) =>
            {
                tokio::time::sleep(backoff.next(e.retry_after.or(asked_wait))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Exponential backoff with jitter, within the AI's `reconnect` settings.
struct Backoff {
    left: u32,
    delay: Duration,
    max: Duration,
}

impl Backoff {
    fn new(ai: &AiConfig) -> Self {
        Backoff {
            left: ai.reconnect.attempts,
            delay: Duration::from_millis(ai.reconnect.initial_delay_ms),
            max: Duration::from_millis(ai.reconnect.max_delay_ms),
        }
    }

    fn left(&self) -> bool {
        self.left > 0
    }

    /// The wait before the next attempt: what the server asked for, else the backoff delay
    /// plus up to a quarter more, so clients cut at once do not come back at once.
    fn next(&mut self, asked: Option<Duration>) -> Duration {
        self.left = self.left.saturating_sub(1);
        let wait = match asked {
            Some(asked) => asked,
            None => {
                let seed = std::collections::hash_map::RandomState::new();
                let jitter = std::hash::BuildHasher::hash_one(&seed, Instant::now()) % 1000;
                self.delay + self.delay.mul_f64(jitter as f64 / 4000.0)
            }
        };
        self.delay = (self.delay * 2).min(self.max);
        wait
    }
}
