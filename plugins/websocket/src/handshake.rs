//! The opening handshake (RFC 6455 section 4): an HTTP/1.1 upgrade request and the checks on
//! the server's answer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to the key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The most a response head may take.
pub const HEAD_LIMIT: usize = 16 * 1024;

/// The `Sec-WebSocket-Key` for 16 random bytes.
pub fn key(nonce: [u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with.
pub fn accept_for(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// The upgrade request for `path` on `host` (`host[:port]`, port left out when it is the default).
pub fn request(host: &str, path: &str, key: &str, extra: &[(String, String)]) -> Vec<u8> {
    let mut text = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: aish-websocket/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// A parsed response head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Header fields, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The bytes that make up the head, `\r\n\r\n` included; what follows is WebSocket data
    /// (or the body of a refusal).
    pub length: usize,
}

impl Head {
    /// The first value of a header field.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Parses the head at the start of `bytes`; `None` until it is all there.
pub fn parse_head(bytes: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        if bytes.len() > HEAD_LIMIT {
            return Err(format!("the server's response head is over {} KiB", HEAD_LIMIT >> 10));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| "the server's response head is not text".to_owned())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    let status = match (version.starts_with("HTTP/1."), status) {
        (true, Some(status)) => status,
        _ => {
            return Err(format!(
                "the server did not answer with HTTP: `{}`",
                status_line.chars().take(80).collect::<String>()
            ));
        }
    };
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok(Some(Head { status, headers, length: end + 4 }))
}

/// Checks that a 101 answer really accepted the upgrade for `key`.
pub fn verify(head: &Head, key: &str) -> Result<(), String> {
    let has_token = |name: &str, token: &str| {
        head.header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("upgrade", "websocket") {
        return Err("the server's 101 answer does not upgrade to websocket".into());
    }
    if !has_token("connection", "upgrade") {
        return Err("the server's 101 answer lacks `Connection: Upgrade`".into());
    }
    if head.header("sec-websocket-accept") != Some(accept_for(key).as_str()) {
        return Err(
            "the server's Sec-WebSocket-Accept does not match the key (not a WebSocket server, or a proxy in the way)"
                .into(),
        );
    }
    if head.header("sec-websocket-extensions").is_some_and(|v| !v.trim().is_empty()) {
        return Err("the server chose an extension this client did not offer".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_key() {
        // RFC 6455 section 1.3.
        assert_eq!(accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn heads_are_parsed_and_checked() {
        assert_eq!(parse_head(b"HTTP/1.1 101 Switching").unwrap(), None);
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x00";
        let head = parse_head(ok).unwrap().unwrap();
        assert_eq!((head.status, head.length), (101, ok.len() - 2));
        verify(&head, key).unwrap();
        let wrong = parse_head(
            b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(verify(&wrong, key).unwrap_err().contains("Sec-WebSocket-Accept"));
        let refused = parse_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").unwrap().unwrap();
        assert_eq!(refused.status, 404);
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").unwrap_err().contains("HTTP"));
        assert!(parse_head(&[b'a'; HEAD_LIMIT + 1]).is_err());
        let request =
            String::from_utf8(request("h:81", "/x?y", key, &[("Authorization".into(), "Bearer k".into())])).unwrap();
        assert!(
            request.starts_with("GET /x?y HTTP/1.1\r\nHost: h:81\r\n")
                && request.ends_with("Authorization: Bearer k\r\n\r\n")
        );
    }
}
