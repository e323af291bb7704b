//! What a plugin may reach: `host:port` patterns the user allowed.

use reqwest::Url;

/// One allowed `host:port` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    /// A host name or address in lower case; `*.` at the start matches any subdomain, `*` any host.
    host: String,
    /// `None` matches any port.
    port: Option<u16>,
    /// The pattern named no port: only the scheme's default port matches.
    default_port: bool,
}

/// The hosts one plugin may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    patterns: Vec<Pattern>,
    source: Vec<String>,
}

/// A pattern that cannot be understood.
#[derive(Debug, thiserror::Error)]
#[error("`{pattern}` is not a host pattern: {why} (write it like \"api.openai.com:443\" or \"127.0.0.1:*\")")]
pub struct PatternError {
    pattern: String,
    why: &'static str,
}

impl AllowList {
    /// Parses patterns like `api.openai.com:443`, `127.0.0.1:*`, `*.example.com:443`, `[::1]:8080`
    /// or a bare host (its scheme's default port).
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<AllowList, PatternError> {
        let mut list = AllowList::default();
        for raw in patterns {
            let raw = raw.as_ref().trim();
            let error = |why| PatternError { pattern: raw.to_owned(), why };
            let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
                let (host, after) =
                    rest.split_once(']').ok_or_else(|| error("an IPv6 address needs its closing `]`"))?;
                (host, after.strip_prefix(':'))
            } else {
                match raw.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (raw, None),
                }
            };
            if host.is_empty() {
                return Err(error("the host is empty"));
            }
            let (port, default_port) = match port {
                None => (None, true),
                Some("*") => (None, false),
                Some(p) => {
                    (Some(p.parse::<u16>().map_err(|_| error("the port is not a number from 0 to 65535"))?), false)
                }
            };
            list.patterns.push(Pattern { host: host.to_ascii_lowercase(), port, default_port });
            list.source.push(raw.to_owned());
        }
        Ok(list)
    }

    /// Whether a request to `url` is allowed.
    pub fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        let default = default_port(url.scheme());
        self.allows_host(host, url.port().unwrap_or(default), default)
    }

    /// Whether a connection to `host:port` is allowed; a pattern without a port allows
    /// `default_port` (the protocol's usual port) only.
    pub fn allows_host(&self, host: &str, port: u16, default_port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.patterns.iter().any(|p| {
            let host_ok = p.host == "*"
                || p.host == host
                || p.host.strip_prefix("*.").is_some_and(|suffix| host.ends_with(&format!(".{suffix}")));
            let port_ok = if p.default_port { port == default_port } else { p.port.is_none() || p.port == Some(port) };
            host_ok && port_ok
        })
    }

    /// The patterns as the user wrote them.
    pub fn patterns(&self) -> &[String] {
        &self.source
    }
}

fn default_port(scheme: &str) -> u16 {
    match scheme {
        "https" | "wss" => 443,
        _ => 80,
    }
}

/// The `host:port` pattern that allows exactly the host of `url`.
pub fn host_pattern_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let host = url.host_str()?;
    let port = url.port_or_known_default().unwrap_or_else(|| default_port(url.scheme()));
    Some(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(patterns: &[&str], url: &str) -> bool {
        AllowList::parse(patterns).unwrap().allows(&Url::parse(url).unwrap())
    }

    #[test]
    fn ports_hosts_and_wildcards() {
        assert!(allows(&["127.0.0.1:*"], "http://127.0.0.1:5555/x"));
        assert!(!allows(&["127.0.0.1:*"], "http://127.0.0.2:5555/x"));
        assert!(allows(&["api.openai.com:443"], "https://api.openai.com/v1"));
        assert!(!allows(&["api.openai.com:443"], "http://api.openai.com/v1"));
        assert!(allows(&["*.example.com:443"], "https://a.b.example.com/"));
        assert!(!allows(&["*.example.com:443"], "https://example.com.evil.net/"));
        assert!(allows(&["[::1]:8080"], "http://[::1]:8080/"));
        assert!(allows(&["Example.COM"], "https://example.com/"));
        assert!(!allows(&["example.com"], "https://example.com:8443/"));
        assert!(!allows(&[], "http://127.0.0.1/"));
    }

    #[test]
    fn sockets_use_the_same_patterns() {
        let list = AllowList::parse(&["127.0.0.1:*", "ws.example.com"]).unwrap();
        assert!(list.allows_host("127.0.0.1", 9000, 80));
        assert!(list.allows_host("WS.example.com", 443, 443));
        assert!(!list.allows_host("ws.example.com", 8443, 443));
        assert!(!list.allows_host("10.0.0.1", 80, 80));
        assert!(allows(&["ws.example.com"], "wss://ws.example.com/chat"));
        assert_eq!(host_pattern_of("tcp://127.0.0.1:8101").as_deref(), Some("127.0.0.1:8101"));
    }

    #[test]
    fn bad_patterns_are_named() {
        let err = AllowList::parse(&["host:http"]).unwrap_err().to_string();
        assert!(err.contains("host:http") && err.contains("port"), "{err}");
        assert!(AllowList::parse(&["[::1:80"]).is_err());
    }

    #[test]
    fn pattern_of_a_url() {
        assert_eq!(host_pattern_of("https://api.anthropic.com/v1/messages").as_deref(), Some("api.anthropic.com:443"));
        assert_eq!(host_pattern_of("http://127.0.0.1:4000/x").as_deref(), Some("127.0.0.1:4000"));
        assert_eq!(host_pattern_of("not a url"), None);
    }
}
