//! The transport policy: which transports carry an AI's answer and in what order, how long to
//! wait before asking again (backoff with jitter, the server's `Retry-After` and SSE `retry`),
//! and opening a session that retries a busy server or resumes a cut stream.

use std::time::{Duration, Instant};

use super::{Connector, ErrorKind, Outgoing, TransportError, TransportSession};
use crate::config::AiConfig;

/// The transports to try for `ai`, in order: its own, then its `fallback` list. A whole answer
/// (`stream` false) from an HTTP backend goes straight to the `http` transport where it is
/// installed; a socket protocol (tcp://, ws://) asks its own transport for it.
pub(crate) fn route(connector: &Connector, ai: &AiConfig, stream: bool) -> Vec<String> {
    let mut order = vec![ai.transport.clone()];
    let over_http = ai.url.starts_with("http://") || ai.url.starts_with("https://");
    if !stream && over_http && connector.registry().get("http").is_some() {
        order = vec!["http".to_owned()];
    }
    for fallback in &ai.fallback {
        if !order.contains(fallback) {
            order.push(fallback.clone());
        }
    }
    order
}

/// Opens a session and sends the message; a busy server (429, 503) or, when resuming, a cut
/// connection is tried again after the backoff while attempts are left. `resume` is the last
/// event ID to resume after and the wait the server asked for.
pub(crate) async fn open(
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
        tokio::time::sleep(backoff.next(asked_wait)?).await;
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
                tokio::time::sleep(backoff.next(e.retry_after.or(asked_wait))?).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Exponential backoff with jitter, within the AI's `reconnect` settings.
pub(crate) struct Backoff {
    left: u32,
    delay: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(ai: &AiConfig) -> Self {
        Backoff {
            left: ai.reconnect.attempts,
            delay: Duration::from_millis(ai.reconnect.initial_delay_ms),
            max: Duration::from_millis(ai.reconnect.max_delay_ms),
        }
    }

    pub(crate) fn left(&self) -> bool {
        self.left > 0
    }

    /// The wait before the next attempt: what the server asked for, else the backoff delay
    /// plus up to a quarter more, so clients cut at once do not come back at once. A server
    /// that asks for longer than `reconnect.max_delay_ms` is not waited for: the answer fails
    /// at once, saying what the server asked.
    pub(crate) fn next(&mut self, asked: Option<Duration>) -> Result<Duration, TransportError> {
        self.left = self.left.saturating_sub(1);
        let wait = match asked {
            Some(asked) if asked > self.max => {
                return Err(TransportError::new(
                    ErrorKind::Server,
                    format!(
                        "server asked to retry after {}; giving up (reconnect.max_delay_ms is {})",
                        human(asked),
                        human(self.max)
                    ),
                ));
            }
            Some(asked) => asked,
            None => {
                let seed = std::collections::hash_map::RandomState::new();
                let jitter = std::hash::BuildHasher::hash_one(&seed, Instant::now()) % 1000;
                self.delay + self.delay.mul_f64(jitter as f64 / 4000.0)
            }
        };
        self.delay = (self.delay * 2).min(self.max);
        Ok(wait)
    }
}

/// A wait as people say it: `27h46m`, `2m5s`, `10s`, `250ms`.
fn human(wait: Duration) -> String {
    let secs = wait.as_secs();
    match secs {
        0 => format!("{}ms", wait.as_millis()),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m{}s", secs / 60, secs % 60),
        _ => format!("{}h{}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(max_ms: u64) -> Backoff {
        Backoff { left: 3, delay: Duration::from_millis(100), max: Duration::from_millis(max_ms) }
    }

    #[test]
    fn a_server_asking_for_too_long_a_wait_is_refused_at_once() {
        let error = backoff(10_000).next(Some(Duration::from_secs(99_999))).unwrap_err();
        assert_eq!(error.message, "server asked to retry after 27h46m; giving up (reconnect.max_delay_ms is 10s)");
        assert_eq!(backoff(10_000).next(Some(Duration::from_secs(3))).unwrap(), Duration::from_secs(3));
    }

    #[test]
    fn backoff_grows_to_its_cap() {
        let mut b = backoff(250);
        let waits: Vec<Duration> = (0..3).map(|_| b.next(None).unwrap()).collect();
        assert!(waits[0] >= Duration::from_millis(100) && waits[0] <= Duration::from_millis(125));
        assert!(waits[2] >= Duration::from_millis(250) && waits[2] <= Duration::from_millis(313));
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(125)), "2m5s");
    }
}
