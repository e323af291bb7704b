//! Outbound TCP connections through the host, TLS on request, to the hosts the user allowed.
//! For protocols HTTP cannot carry; the plugin asks for them with `socket = true` under
//! `[capabilities]` in its `plugin.toml`.

use std::time::Duration;

use crate::transport::bindings::aish::plugin::socket as wit;
pub use wit::SocketError;

/// A one-line description of a socket failure for the user.
pub fn describe(error: &SocketError) -> String {
    match error {
        SocketError::Denied(m) => format!("not allowed: {m}"),
        SocketError::InvalidRequest(m) => format!("invalid request: {m}"),
        SocketError::Connect(m) => format!("cannot connect: {m}"),
        SocketError::Timeout(m) => format!("timed out: {m}"),
        SocketError::Io(m) => format!("connection failed: {m}"),
    }
}

/// A socket failure as a transport error. While `connecting`, a dead peer is a connect error
/// (a fallback transport may help); later the answer was interrupted.
pub fn transport_error(error: &SocketError, connecting: bool) -> crate::TransportError {
    use crate::ErrorKind;
    let kind = match error {
        SocketError::Denied(_) => ErrorKind::Denied,
        SocketError::InvalidRequest(_) => ErrorKind::InvalidInput,
        _ if connecting => ErrorKind::Connect,
        _ => ErrorKind::Interrupted,
    };
    crate::TransportError::new(kind, describe(error))
}

/// The error for a connection silent for `silence` (twice the heartbeat interval).
pub fn dead_connection(peer: &str, silence: Duration) -> crate::TransportError {
    crate::TransportError::new(
        crate::ErrorKind::Interrupted,
        format!(
            "no data from {peer} for {}s (twice the heartbeat interval); the connection counts as dead",
            silence.as_secs_f32()
        ),
    )
}

/// 64 random bits from the system's randomness (std seeds its hash keys from it): for nonces
/// and ids the network must not predict, not for secrets.
pub fn random_u64() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
}

/// What one read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// Bytes that arrived (never empty).
    Data(Vec<u8>),
    /// Nothing arrived within the wait; the connection is still open.
    Idle,
    /// The peer closed its side: no more bytes will come.
    Closed,
}

/// An open connection.
pub struct Connection {
    inner: wit::Connection,
}

impl Connection {
    /// Connects to `host:port`, over TLS (verifying the certificate for `host`) when `tls`.
    pub fn connect(host: &str, port: u16, tls: bool) -> Result<Connection, SocketError> {
        Self::connect_within(host, port, tls, None)
    }

    /// The same, giving up after `timeout` (the host's default when `None`).
    pub fn connect_within(
        host: &str,
        port: u16,
        tls: bool,
        timeout: Option<Duration>,
    ) -> Result<Connection, SocketError> {
        let request =
            wit::ConnectRequest { host: host.to_owned(), port, tls, timeout_ms: timeout.map(|d| d.as_millis() as u64) };
        Ok(Connection { inner: wit::connect(&request)? })
    }

    /// Returns up to `max` bytes as soon as any arrive, waiting at most `wait`.
    pub fn read(&self, max: usize, wait: Duration) -> Result<Read, SocketError> {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        Ok(match self.inner.read(max, wait.as_millis() as u64)? {
            wit::ReadOutcome::Data(bytes) => Read::Data(bytes),
            wit::ReadOutcome::Idle => Read::Idle,
            wit::ReadOutcome::Closed => Read::Closed,
        })
    }

    /// Writes all of `bytes`.
    pub fn write(&self, bytes: &[u8]) -> Result<(), SocketError> {
        self.inner.write(bytes)
    }

    /// Closes the writing half; reading may go on.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }
}

/// Where a `scheme://host:port/path` URL points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The scheme, in lower case.
    pub scheme: String,
    /// The host name or address (an IPv6 address without its brackets).
    pub host: String,
    /// The port, if the URL named one.
    pub port: Option<u16>,
    /// The path and query, `/` when the URL has none.
    pub path: String,
}

impl Endpoint {
    /// Parses `scheme://host[:port][/path][?query]`; user info and fragments are refused.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| format!("`{url}` is not a usable URL: {why}");
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("it has no scheme://"))?;
        let cut = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(cut);
        if authority.contains('@') {
            return Err(bad("user names in URLs are not supported"));
        }
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (host, after) = inner.split_once(']').ok_or_else(|| bad("an IPv6 address needs its closing `]`"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let port = port
            .map(|p| {
                p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("the port is not a number from 1 to 65535"))
            })
            .transpose()?;
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        Ok(Endpoint { scheme: scheme.to_ascii_lowercase(), host: host.to_owned(), port, path })
    }

    /// `host:port` as it goes in a `Host` header (IPv6 in brackets).
    pub fn authority(&self, port: u16) -> String {
        if self.host.contains(':') { format!("[{}]:{port}", self.host) } else { format!("{}:{port}", self.host) }
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("WS://127.0.0.1:8080/chat?x=1#frag").unwrap();
        assert_eq!(
            (e.scheme.as_str(), e.host.as_str(), e.port, e.path.as_str()),
            ("ws", "127.0.0.1", Some(8080), "/chat?x=1")
        );
        let e = Endpoint::parse("wss://example.com").unwrap();
        assert_eq!((e.port, e.path.as_str()), (None, "/"));
        let e = Endpoint::parse("tcp://[::1]:8101").unwrap();
        assert_eq!((e.host.as_str(), e.authority(8101).as_str()), ("::1", "[::1]:8101"));
        let e = Endpoint::parse("ws://h?q").unwrap();
        assert_eq!(e.path, "/?q");
        assert!(Endpoint::parse("127.0.0.1:80").unwrap_err().contains("scheme"));
        assert!(Endpoint::parse("ws://:80/").unwrap_err().contains("host is empty"));
        assert!(Endpoint::parse("ws://h:99999/").unwrap_err().contains("port"));
        assert!(Endpoint::parse("ws://u:p@h/").unwrap_err().contains("user"));
    }
}
