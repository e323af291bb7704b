//! What a plugin may reach: `host:port` patterns the user allowed (`[plugins.NAME] allow_hosts`).
//!
//! A pattern's host is one of:
//! - a host name (`api.openai.com`, `localhost`), matched exactly, ignoring case;
//! - `*.example.com` (any subdomain of `example.com`) or `*` (any host);
//! - an IP address (`127.0.0.1`, `[::1]`), matched as an address, so `::ffff:127.0.0.1` is
//!   `127.0.0.1`;
//! - an address range in CIDR notation (`10.0.0.0/8`, `[fc00::/7]`): any address inside it.
//!
//! Its port is a number, `*` (any port), or absent (the scheme's default port only). IPv6
//! addresses and ranges go in brackets: `[::1]:8080`, `[fe80::/10]:*`.
//!
//! Names are checked before DNS and addresses after it. A host name may lead to a loopback,
//! private, link-local, unique-local or unspecified address only when an address or range
//! pattern names that address ([`AllowList::names_address_for_name`]); `*` and `*.example.com`
//! never do. So `"*:443"` lets a plugin reach any public HTTPS server, and a name that resolves
//! to `127.0.0.1` is still refused until `"127.0.0.1:443"` (or `"127.0.0.0/8:*"`) is listed too.

use std::net::IpAddr;

use reqwest::Url;

use super::addresses::canonical;

/// What a pattern's host part matches.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HostMatch {
    /// `*`: every host.
    Any,
    /// `*.SUFFIX`: names ending in `.SUFFIX`.
    Suffix(String),
    /// One host name, lower case.
    Name(String),
    /// One address.
    Address(IpAddr),
    /// Every address whose first `prefix` bits are those of `network`.
    Range { network: IpAddr, prefix: u8 },
}

/// What a pattern's port part matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortMatch {
    /// No port written: the scheme's default port only.
    Default,
    /// `*`: every port.
    Any,
    /// One port.
    Exact(u16),
}

/// One allowed `host:port` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    host: HostMatch,
    port: PortMatch,
}

/// The hosts one plugin may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    patterns: Vec<Pattern>,
    source: Vec<String>,
    /// The config file the list is set in, as a denial names it (`config.toml` when unknown).
    file: Option<String>,
}

/// A pattern that cannot be understood.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{pattern}` is not a host pattern: {why} (write it like \"api.openai.com:443\", \"127.0.0.1:*\" or \"10.0.0.0/8:*\")"
)]
pub struct PatternError {
    pattern: String,
    why: &'static str,
}

impl AllowList {
    /// Parses patterns like `api.openai.com:443`, `127.0.0.1:*`, `*.example.com:443`, `[::1]:8080`,
    /// `10.0.0.0/8:*`, `[fc00::/7]:443` or a bare host (its scheme's default port).
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<AllowList, PatternError> {
        let mut list = AllowList::default();
        for raw in patterns {
            let raw = raw.as_ref().trim();
            let error = |why| PatternError { pattern: raw.to_owned(), why };
            if raw.contains("://") {
                return Err(error(
                    "a pattern is a host and a port, with no scheme: `localhost:8080`, not `http://localhost:8080`",
                ));
            }
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
            let port = match port {
                None => PortMatch::Default,
                Some("*") => PortMatch::Any,
                Some(p) => {
                    PortMatch::Exact(p.parse::<u16>().map_err(|_| error("the port is not a number from 0 to 65535"))?)
                }
            };
            list.patterns.push(Pattern { host: HostMatch::parse(&host.to_ascii_lowercase()).map_err(error)?, port });
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
        let (host, ip) = normalise(host);
        self.patterns.iter().any(|p| p.host.matches(&host, ip) && p.port.admits(port, default_port))
    }

    /// Whether a pattern names `host:port` itself: a host name, address or range that matches,
    /// not `*` or `*.suffix`. A redirect may lead to a loopback or private address only then.
    pub fn names(&self, host: &str, port: u16, default_port: u16) -> bool {
        let (host, ip) = normalise(host);
        self.patterns.iter().any(|p| {
            !matches!(p.host, HostMatch::Any | HostMatch::Suffix(_))
                && p.host.matches(&host, ip)
                && p.port.admits(port, default_port)
        })
    }

    /// Whether the host name `name` may lead to `address` (a loopback, private or otherwise
    /// restricted one): for every port a pattern allows `name` on, an address or range
    /// pattern names `address` on that port too. DNS answers carry no port, so the check
    /// covers every port the name could be used with.
    pub fn names_address_for_name(&self, name: &str, address: IpAddr) -> bool {
        let ports = self.ports_of(name);
        !ports.is_empty()
            && ports
                .iter()
                .all(|wanted| self.patterns.iter().any(|p| p.host.names_address(address) && p.port.covers(*wanted)))
    }

    /// The pattern that would let `name` lead to `address` (see [`Self::names_address_for_name`]):
    /// the address with the port the name is allowed on, or `*` when that is several.
    pub fn address_pattern_for_name(&self, name: &str, address: IpAddr) -> String {
        let ports = self.ports_of(name);
        let address = write_address(address);
        match ports.split_first() {
            Some((PortMatch::Exact(port), rest)) if rest.iter().all(|p| *p == PortMatch::Exact(*port)) => {
                format!("{address}:{port}")
            }
            Some((PortMatch::Default, rest)) if rest.iter().all(|p| *p == PortMatch::Default) => address,
            _ => format!("{address}:*"),
        }
    }

    /// The list as set in the config file `file` (which a denial then names).
    pub fn set_in(mut self, file: Option<&std::path::Path>) -> AllowList {
        self.file = file.map(|f| f.display().to_string());
        self
    }

    /// Where a denial tells the user to allow a host: `[plugins.PLUGIN] allow_hosts in FILE`.
    pub fn where_to_allow(&self, plugin: &str) -> String {
        format!("[plugins.{plugin}] allow_hosts in {}", self.file.as_deref().unwrap_or("config.toml"))
    }

    /// The patterns as the user wrote them.
    pub fn patterns(&self) -> &[String] {
        &self.source
    }

    /// The port parts of the patterns that match the host name `name`.
    fn ports_of(&self, name: &str) -> Vec<PortMatch> {
        let (name, ip) = normalise(name);
        self.patterns.iter().filter(|p| p.host.matches(&name, ip)).map(|p| p.port).collect()
    }
}

/// Why a host part is neither an address nor a name a URL could carry.
const NOT_A_NAME: &str =
    "a host name holds only letters, digits, `-`, `_` and `.` (a name outside ASCII in its `xn--` form)";

/// Whether `host` could be a host name in a URL (as the URL parser writes it: ASCII, lower case).
fn is_host_name(host: &str) -> bool {
    !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl HostMatch {
    fn parse(host: &str) -> Result<HostMatch, &'static str> {
        if host == "*" {
            return Ok(HostMatch::Any);
        }
        if let Some(suffix) = host.strip_prefix("*.") {
            return match suffix.is_empty() {
                true => Err("`*.` needs a domain after it"),
                false if !is_host_name(suffix) => Err(NOT_A_NAME),
                false => Ok(HostMatch::Suffix(suffix.to_owned())),
            };
        }
        if let Some((network, prefix)) = host.split_once('/') {
            let network: IpAddr = network.parse().map_err(|_| {
                "a pattern is a host and a port, with no path; an address range is an IP address, `/` and a prefix length"
            })?;
            let prefix: u8 = prefix.parse().map_err(|_| "the prefix length of an address range is a number")?;
            let bits = if network.is_ipv4() { 32 } else { 128 };
            if prefix > bits {
                return Err("the prefix length is longer than the address");
            }
            // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
            let (network, prefix) = match (network, canonical(network)) {
                (IpAddr::V6(_), v4 @ IpAddr::V4(_)) if prefix >= 96 => (v4, prefix - 96),
                _ => (network, prefix),
            };
            return Ok(HostMatch::Range { network: mask(network, prefix), prefix });
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(HostMatch::Address(canonical(ip))),
            Err(_) if is_host_name(host) => Ok(HostMatch::Name(host.to_owned())),
            Err(_) => Err(NOT_A_NAME),
        }
    }

    /// Whether this matches `host` (lower case), which is the address `ip` when it is one.
    fn matches(&self, host: &str, ip: Option<IpAddr>) -> bool {
        match (self, ip) {
            (HostMatch::Any, _) => true,
            (HostMatch::Suffix(suffix), None) => host
                .strip_suffix(suffix.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|sub| !sub.is_empty()),
            (HostMatch::Name(name), None) => name == host,
            (_, Some(ip)) => self.names_address(ip),
            _ => false,
        }
    }

    /// Whether this is an address or range holding `ip`.
    fn names_address(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            HostMatch::Address(address) => *address == ip,
            HostMatch::Range { network, prefix } => network.is_ipv4() == ip.is_ipv4() && mask(ip, *prefix) == *network,
            _ => false,
        }
    }
}

impl PortMatch {
    fn admits(self, port: u16, default_port: u16) -> bool {
        match self {
            PortMatch::Default => port == default_port,
            PortMatch::Any => true,
            PortMatch::Exact(p) => p == port,
        }
    }

    /// Whether this admits every port `other` admits.
    fn covers(self, other: PortMatch) -> bool {
        self == PortMatch::Any || self == other
    }
}

/// A host as written in a URL or a connect request: lower case, without brackets, and the
/// address it is when it is one.
fn normalise(host: &str) -> (String, Option<IpAddr>) {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok().map(canonical);
    (host, ip)
}

/// `ip` with every bit after the first `prefix` cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

/// An address as a pattern writes it: IPv6 in brackets.
pub fn write_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
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

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ports_hosts_and_wildcards() {
        assert!(allows(&["127.0.0.1:*"], "http://127.0.0.1:5555/x"));
        assert!(!allows(&["127.0.0.1:*"], "http://127.0.0.2:5555/x"));
        assert!(allows(&["api.openai.com:443"], "https://api.openai.com/v1"));
        assert!(!allows(&["api.openai.com:443"], "http://api.openai.com/v1"));
        assert!(allows(&["*.example.com:443"], "https://a.b.example.com/"));
        assert!(!allows(&["*.example.com:443"], "https://example.com.evil.net/"));
        assert!(!allows(&["*.example.com:443"], "https://evilexample.com/"));
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
    fn address_ranges_in_cidr_notation() {
        assert!(allows(&["10.0.0.0/8:*"], "http://10.200.3.4:8080/"));
        assert!(!allows(&["10.0.0.0/8:*"], "http://11.0.0.1:8080/"));
        assert!(allows(&["172.16.0.0/12:443"], "https://172.31.255.255/"));
        assert!(!allows(&["172.16.0.0/12:443"], "https://172.32.0.1/"));
        assert!(allows(&["[fc00::/7]:*"], "http://[fd12:3456::1]:99/"));
        assert!(!allows(&["[fc00::/7]:*"], "http://[fe80::1]:99/"));
        // Host bits are ignored, a bare range allows the default port, /0 is everything.
        assert!(allows(&["192.168.1.77/24"], "http://192.168.1.1/"));
        assert!(allows(&["0.0.0.0/0:*"], "http://8.8.8.8:53/"));
        // An IPv4-mapped IPv6 address is the IPv4 address, both ways.
        assert!(allows(&["127.0.0.1:*"], "http://[::ffff:127.0.0.1]:80/"));
        assert!(allows(&["[::ffff:10.0.0.0/104]:*"], "http://10.1.1.1/"));
        assert!(!allows(&["10.0.0.0/8:*"], "http://ten.example/"));
    }

    #[test]
    fn named_versus_wildcard() {
        let list = AllowList::parse(&["*:*", "127.0.0.1:8080", "localhost:*", "10.0.0.0/8"]).unwrap();
        assert!(list.allows_host("127.0.0.1", 9999, 80), "`*` allows it");
        assert!(!list.names("127.0.0.1", 9999, 80), "but does not name it");
        assert!(list.names("127.0.0.1", 8080, 80));
        assert!(list.names("localhost", 1, 80));
        assert!(list.names("10.9.9.9", 80, 80) && !list.names("10.9.9.9", 81, 80));
    }

    #[test]
    fn names_lead_to_restricted_addresses_only_where_a_pattern_names_them_on_every_port() {
        let list = AllowList::parse(&["*:443", "api.example.com:8080", "127.0.0.1:8080"]).unwrap();
        assert!(!list.names_address_for_name("evil.example", ip("127.0.0.1")), "443 is not named");
        assert_eq!(list.address_pattern_for_name("evil.example", ip("127.0.0.1")), "127.0.0.1:443");
        let list = AllowList::parse(&["*:443", "127.0.0.0/8:*"]).unwrap();
        assert!(list.names_address_for_name("evil.example", ip("127.0.0.1")));
        assert!(list.names_address_for_name("evil.example", ip("::ffff:127.9.9.9")));
        assert!(!list.names_address_for_name("evil.example", ip("10.0.0.1")));
        let list = AllowList::parse(&["internal.corp", "10.0.0.0/8"]).unwrap();
        assert!(list.names_address_for_name("internal.corp", ip("10.1.2.3")));
        assert!(!list.names_address_for_name("other.corp", ip("10.1.2.3")), "a name not allowed at all");
        let list = AllowList::parse(&["internal.corp", "*.other:8443", "a.other"]).unwrap();
        assert_eq!(list.address_pattern_for_name("internal.corp", ip("10.1.2.3")), "10.1.2.3");
        assert_eq!(list.address_pattern_for_name("b.other", ip("::1")), "[::1]:8443");
        assert_eq!(list.address_pattern_for_name("a.other", ip("::1")), "[::1]:*", "two ports");
    }

    #[test]
    fn bad_patterns_are_named() {
        let err = AllowList::parse(&["host:http"]).unwrap_err().to_string();
        assert!(err.contains("host:http") && err.contains("port"), "{err}");
        assert!(AllowList::parse(&["[::1:80"]).is_err());
        for bad in ["10.0.0.0/33:*", "10.0.0.0/x:*", "ten/8:*", "[::/129]:*", "*.:443", ":80"] {
            let err = AllowList::parse(&[bad]).unwrap_err().to_string();
            assert!(err.starts_with(&format!("`{bad}` is not a host pattern: ")), "{err}");
        }
        // What a user writes by mistake is named for what it is.
        for (bad, says) in [
            ("http://localhost:8080", "with no scheme: `localhost:8080`"),
            ("api.example.com/v1", "with no path"),
            ("not a host pattern!!", "a host name holds only"),
            ("*.exa mple.com", "a host name holds only"),
            ("bücher.de:443", "`xn--` form"),
        ] {
            let err = AllowList::parse(&[bad]).unwrap_err().to_string();
            assert!(err.starts_with(&format!("`{bad}` is not a host pattern: ")) && err.contains(says), "{err}");
        }
        for good in ["localhost:8080", "api_v2.internal", "*.example.com:*", "xn--bcher-kva.de:443", "*"] {
            assert!(AllowList::parse(&[good]).is_ok(), "{good}");
        }
    }

    #[test]
    fn pattern_of_a_url() {
        assert_eq!(host_pattern_of("https://api.anthropic.com/v1/messages").as_deref(), Some("api.anthropic.com:443"));
        assert_eq!(host_pattern_of("http://127.0.0.1:4000/x").as_deref(), Some("127.0.0.1:4000"));
        assert_eq!(host_pattern_of("not a url"), None);
    }
}
