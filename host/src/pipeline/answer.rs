//! One AI's answer, produced by a task of its own and sent, piece by piece, over a channel.
//! The display reads the channels in pipeline order, so answers produced side by side (`&`,
//! `team-chat`) are shown one after the other without interleaving, each as soon as it can be.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::AiConfig;
use crate::transport::{Connector, ErrorKind, Event, Outgoing, Usage};

/// A piece of an answer, with when it was produced (from the start of the request).
#[derive(Debug)]
pub enum Piece {
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
    /// Starts asking `ai` for an answer to `message`.
    pub fn start(connector: &Connector, name: &str, ai: &AiConfig, message: Outgoing) -> Answer {
        let (tx, pieces) = mpsc::unbounded_channel();
        let streamed = message.stream;
        let (connector, ai_config) = (connector.clone(), ai.clone());
        let task = tokio::spawn(async move { produce(connector, ai_config, message, tx).await });
        Answer { ai: name.to_owned(), transport: ai.transport.clone(), streamed, pieces, task }
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

async fn produce(connector: Connector, ai: AiConfig, message: Outgoing, tx: mpsc::UnboundedSender<Piece>) {
    let started = Instant::now();
    let fail = |message: String, interrupted: bool| Piece::Failed { message, interrupted, at: started.elapsed() };
    let mut session = match connector.connect_ai(&ai).await {
        Ok(session) => session,
        Err(e) => {
            let _ = tx.send(fail(e.message, false));
            return;
        }
    };
    if let Err(e) = session.send(&message).await {
        let _ = tx.send(fail(e.message, false));
        return;
    }
    if tx.send(Piece::Started).is_err() {
        return session.close().await;
    }
    let mut finished = false;
    while !finished {
        let events = match session.receive().await {
            Ok(events) if events.is_empty() => {
                let _ = tx.send(fail("the stream ended before the answer was complete".into(), true));
                return;
            }
            Ok(events) => events,
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
                Event::Metadata(_) | Event::Heartbeat => continue,
            };
            if tx.send(piece).is_err() {
                return session.close().await;
            }
        }
    }
    session.close().await;
}
