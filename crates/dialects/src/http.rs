//! Shared handling of HTTP answers for the transports that speak HTTP (sse, http), and the
//! `Retry-After` header, which the websocket transport's refused upgrades carry too.

use aish_plugin_sdk::http::{HttpError, Response, describe};
use aish_plugin_sdk::{ErrorKind, Event, TransportError};

use crate::Dialect;

/// How much of an error body is read to find the server's message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// The largest whole (non-streamed) answer accepted.
pub const ANSWER_LIMIT: usize = 16 << 20;

/// Turns an error status into the error that carries the server's message.
pub fn check_status(response: &mut Response) -> Result<(), TransportError> {
    let status = response.status();
    if !(200..300).contains(&status) {
        let retry_after_ms = response.header("retry-after").and_then(retry_after_ms);
        let body = response.read_to_end(ERROR_BODY_LIMIT).unwrap_or_default();
        let detail = Dialect::error_message(&body).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body);
            text.trim().chars().take(200).collect()
        });
        let kind = match status {
            404 | 405 | 406 | 415 => ErrorKind::StreamUnavailable,
            _ => ErrorKind::Server,
        };
        let message = if detail.is_empty() {
            format!("the server answered HTTP {status}")
        } else {
            format!("the server answered HTTP {status}: {detail}")
        };
        let mut error = TransportError::new(kind, message).with_status(status);
        error.retry_after_ms = retry_after_ms;
        return Err(error);
    }
    Ok(())
}

/// The delay a `Retry-After` header asks for, in ms: its delay-seconds form, saturating rather
/// than overflowing. The HTTP-date form gives `None` (the caller's own backoff applies).
pub fn retry_after_ms(value: &str) -> Option<u64> {
    value.trim().parse::<u64>().ok().map(|seconds| seconds.saturating_mul(1000))
}

/// The transport error for a failed host HTTP call.
pub fn from_http(error: HttpError) -> TransportError {
    let kind = match &error {
        HttpError::Denied(_) => ErrorKind::Denied,
        HttpError::InvalidRequest(_) => ErrorKind::InvalidInput,
        HttpError::Connect(_) => ErrorKind::Connect,
        HttpError::Timeout(_) | HttpError::Io(_) => ErrorKind::Interrupted,
    };
    TransportError::new(kind, describe(&error))
}

/// Reads a whole (non-streamed) answer: its text, its tool calls, then `done` with the
/// backend's usage.
pub fn whole_answer(dialect: &Dialect, response: &mut Response) -> Result<Vec<Event>, TransportError> {
    let body = response.read_to_end(ANSWER_LIMIT + 1).map_err(from_http)?;
    if body.len() > ANSWER_LIMIT {
        return Err(TransportError::new(ErrorKind::Protocol, "the answer is larger than 16 MiB"));
    }
    Ok(dialect.parse_answer(&body)?.into_events())
}

#[cfg(test)]
mod tests {
    use super::retry_after_ms;

    #[test]
    fn retry_after_seconds_to_ms_saturating() {
        assert_eq!(retry_after_ms(" 7 "), Some(7000));
        assert_eq!(retry_after_ms("0"), Some(0));
        assert_eq!(retry_after_ms(&u64::MAX.to_string()), Some(u64::MAX), "no overflow");
        assert_eq!(retry_after_ms(&(u64::MAX / 1000 + 1).to_string()), Some(u64::MAX));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_ms("-1"), None);
        assert_eq!(retry_after_ms(""), None);
    }
}
