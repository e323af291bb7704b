//! Where a host name may lead. The allow list is checked on names before DNS; this checks the
//! addresses DNS returned: a name (anything but an IP address or `localhost`) may lead to a
//! loopback, private, link-local, unique-local or unspecified address only when an allow entry
//! names that address or its range. Sockets check what they looked up before connecting; HTTP
//! goes through [`GuardedResolver`], so the addresses checked are the ones reqwest connects to
//! and a second answer from a rebinding DNS server is never asked for.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use super::capabilities::{AllowList, write_address};

/// A kind of address a host name may not lead to unless an allow entry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restricted {
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `169.254.0.0/16` (where cloud metadata services answer), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `0.0.0.0/8` and `::`, which reach this machine on many systems.
    Unspecified,
}

impl fmt::Display for Restricted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Restricted::Loopback => "a loopback address",
            Restricted::Private => "a private address",
            Restricted::LinkLocal => "a link-local address (where cloud metadata services answer)",
            Restricted::UniqueLocal => "a unique-local address",
            Restricted::Unspecified => "an unspecified address (this machine)",
        })
    }
}

/// The address itself: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is its IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of restricted address `ip` is, if it is one. IPv6 forms that carry an IPv4
/// address (mapped `::ffff:0:0/96`, compatible `::/96`, NAT64 `64:ff9b::/96`) are judged by it.
pub fn restricted(ip: IpAddr) -> Option<Restricted> {
    match ip {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => restricted_v6(v6),
    }
}

fn restricted_v4(ip: Ipv4Addr) -> Option<Restricted> {
    let [a, b, ..] = ip.octets();
    match (a, b) {
        (127, _) => Some(Restricted::Loopback),
        (10, _) | (192, 168) => Some(Restricted::Private),
        (172, b) if (16..32).contains(&b) => Some(Restricted::Private),
        (169, 254) => Some(Restricted::LinkLocal),
        (0, _) => Some(Restricted::Unspecified),
        _ => None,
    }
}

fn restricted_v6(ip: Ipv6Addr) -> Option<Restricted> {
    let bits = u128::from(ip);
    let embedded = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    match bits {
        1 => Some(Restricted::Loopback),
        0 => Some(Restricted::Unspecified),
        // Mapped, compatible and NAT64 forms carry an IPv4 address in their last 32 bits.
        _ if bits >> 32 == 0xffff || bits >> 32 == 0 || bits >> 32 == 0x0064_ff9b_u128 << 64 => restricted_v4(embedded),
        _ if bits >> 121 == 0xfc >> 1 => Some(Restricted::UniqueLocal),
        _ if bits >> 118 == 0xfe80 >> 6 => Some(Restricted::LinkLocal),
        _ => None,
    }
}

/// A host name led to an address the allow list does not name.
#[derive(Debug, thiserror::Error)]
#[error(
    "plugin `{plugin}` may not reach {host}: it resolved to {address}, {kind}; to allow it, add \"{pattern}\" to {where_to}"
)]
pub struct AddressDenied {
    /// The plugin that asked.
    pub plugin: String,
    /// The name it asked for (with the port when known).
    pub host: String,
    /// The address the name resolved to.
    pub address: IpAddr,
    /// What kind of address that is.
    pub kind: Restricted,
    /// The allow entry that would permit it.
    pub pattern: String,
    /// Where to add it: `[plugins.PLUGIN] allow_hosts in FILE`.
    pub where_to: String,
}

/// Whether the addresses `host` resolves to are checked: every host name except `localhost`.
/// IP addresses are not looked up; the allow list has judged them already.
pub fn is_checked_name(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<IpAddr>().is_err() && !host.eq_ignore_ascii_case("localhost")
}

/// Checks every address `host` resolved to for a connection to `port`: each restricted one must
/// be named by an allow entry on that port. Hosts [`is_checked_name`] rejects pass as they are.
pub fn check_for_port(
    allow: &AllowList,
    plugin: &str,
    host: &str,
    port: u16,
    default_port: u16,
    addresses: &[IpAddr],
) -> Result<(), AddressDenied> {
    if !is_checked_name(host) {
        return Ok(());
    }
    for &address in addresses {
        let Some(kind) = restricted(address) else { continue };
        if !allow.names(&address.to_string(), port, default_port) {
            let address = canonical(address);
            return Err(AddressDenied {
                plugin: plugin.to_owned(),
                host: format!("{host}:{port}"),
                address,
                kind,
                pattern: format!("{}:{port}", write_address(address)),
                where_to: allow.where_to_allow(plugin),
            });
        }
    }
    Ok(())
}

/// As [`check_for_port`] when the port is not known (DNS for HTTP): each restricted address
/// must be named on every port the allow list lets `host` be reached on.
pub fn check_for_name(allow: &AllowList, plugin: &str, host: &str, addresses: &[IpAddr]) -> Result<(), AddressDenied> {
    if !is_checked_name(host) {
        return Ok(());
    }
    for &address in addresses {
        let Some(kind) = restricted(address) else { continue };
        if !allow.names_address_for_name(host, address) {
            return Err(AddressDenied {
                plugin: plugin.to_owned(),
                host: host.to_owned(),
                address: canonical(address),
                kind,
                pattern: allow.address_pattern_for_name(host, address),
                where_to: allow.where_to_allow(plugin),
            });
        }
    }
    Ok(())
}

/// What a lookup returns: the addresses of a name.
pub type Looking = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns host names into addresses: the system's resolver, or a fixed table in tests.
pub trait Lookup: Send + Sync {
    /// The addresses of `host`.
    fn lookup(&self, host: String) -> Looking;
}

/// The operating system's resolver (`getaddrinfo`, on a blocking thread).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> Looking {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect()) })
    }
}

/// The DNS resolver of a plugin's HTTP client: looks a name up once, refuses the answer if any
/// address is restricted and not named by the allow list, and hands reqwest exactly the
/// addresses it checked. The hosts of the proxies set in the environment (`HTTPS_PROXY` …)
/// are the user's own choice and are not checked; through a proxy, the proxy resolves names.
#[derive(Clone)]
pub struct GuardedResolver {
    allow: Arc<AllowList>,
    plugin: Arc<str>,
    lookup: Arc<dyn Lookup>,
    proxies: Arc<[String]>,
}

impl GuardedResolver {
    /// A resolver for `plugin`, judging answers by `allow`, looking names up with `lookup`.
    pub fn new(plugin: &str, allow: Arc<AllowList>, lookup: Arc<dyn Lookup>) -> GuardedResolver {
        GuardedResolver { allow, plugin: plugin.into(), lookup, proxies: proxy_hosts().into() }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let this = self.clone();
        Box::pin(async move {
            let addresses = this.lookup.lookup(host.clone()).await?;
            if !this.proxies.contains(&host) {
                check_for_name(&this.allow, &this.plugin, &host, &addresses)?;
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addresses)
        })
    }
}

/// The hosts of the proxies the environment names, as reqwest reads them.
fn proxy_hosts() -> Vec<String> {
    ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .filter_map(|value| {
            let value = if value.contains("://") { value } else { format!("http://{value}") };
            let url = reqwest::Url::parse(&value).ok()?;
            Some(url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
        })
        .collect()
}

/// A lookup that answers from a table, as a rebinding DNS server would.
#[cfg(test)]
pub(crate) struct FakeLookup(pub std::collections::HashMap<String, Vec<IpAddr>>);

#[cfg(test)]
impl FakeLookup {
    /// A table of names and the addresses they resolve to.
    pub(crate) fn new(table: &[(&str, &[&str])]) -> FakeLookup {
        FakeLookup(
            table
                .iter()
                .map(|(name, ips)| (name.to_string(), ips.iter().map(|a| a.parse().expect("an address")).collect()))
                .collect(),
        )
    }
}

#[cfg(test)]
impl Lookup for FakeLookup {
    fn lookup(&self, host: String) -> Looking {
        let found = self.0.get(&host).cloned();
        Box::pin(async move { found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host")) })
    }
}

#[cfg(test)]
mod tests {
    use reqwest::dns::Resolve;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn restricted_ranges_and_their_edges() {
        let cases = [
            ("127.0.0.1", Some(Restricted::Loopback)),
            ("127.255.255.254", Some(Restricted::Loopback)),
            ("10.0.0.1", Some(Restricted::Private)),
            ("172.16.0.1", Some(Restricted::Private)),
            ("172.31.255.255", Some(Restricted::Private)),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.168.1.1", Some(Restricted::Private)),
            ("192.169.0.1", None),
            ("169.254.169.254", Some(Restricted::LinkLocal)),
            ("0.0.0.0", Some(Restricted::Unspecified)),
            ("0.1.2.3", Some(Restricted::Unspecified)),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("::1", Some(Restricted::Loopback)),
            ("::", Some(Restricted::Unspecified)),
            ("fc00::1", Some(Restricted::UniqueLocal)),
            ("fd00:ec2::254", Some(Restricted::UniqueLocal)),
            ("fe80::1", Some(Restricted::LinkLocal)),
            ("febf::1", Some(Restricted::LinkLocal)),
            ("fec0::1", None),
            ("2001:4860:4860::8888", None),
            ("::ffff:127.0.0.1", Some(Restricted::Loopback)),
            ("::ffff:169.254.169.254", Some(Restricted::LinkLocal)),
            ("::ffff:10.1.1.1", Some(Restricted::Private)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Restricted::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(Restricted::LinkLocal)),
            ("64:ff9b::808:808", None),
        ];
        for (address, kind) in cases {
            assert_eq!(restricted(ip(address)), kind, "{address}");
        }
        assert_eq!(canonical(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(canonical(ip("::1")), ip("::1"));
    }

    #[test]
    fn only_names_other_than_localhost_are_checked() {
        assert!(is_checked_name("evil.example"));
        assert!(is_checked_name("localhost.localdomain"));
        assert!(!is_checked_name("localhost") && !is_checked_name("LocalHost"));
        assert!(!is_checked_name("127.0.0.1") && !is_checked_name("[::1]") && !is_checked_name("::1"));
    }

    #[test]
    fn a_socket_name_that_resolves_to_loopback_is_refused_with_what_to_allow() {
        let allow = AllowList::parse(&["*:443"]).unwrap();
        let err = check_for_port(&allow, "ws", "evil.example", 443, 443, &[ip("93.184.216.34"), ip("127.0.0.1")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "plugin `ws` may not reach evil.example:443: it resolved to 127.0.0.1, a loopback address; to allow it, add \"127.0.0.1:443\" to [plugins.ws] allow_hosts in config.toml"
        );
        let err = check_for_port(&allow, "ws", "evil.example", 443, 443, &[ip("::ffff:169.254.169.254")]).unwrap_err();
        assert_eq!(err.address, ip("169.254.169.254"));
        assert!(err.to_string().contains("add \"169.254.169.254:443\""), "{err}");
        let err = check_for_port(&allow, "ws", "evil.example", 443, 443, &[ip("fd00::1")]).unwrap_err();
        assert!(err.to_string().contains("a unique-local address; to allow it, add \"[fd00::1]:443\""), "{err}");
        // Public answers, localhost and addresses pass; a named address or range passes.
        assert!(check_for_port(&allow, "ws", "good.example", 443, 443, &[ip("93.184.216.34")]).is_ok());
        assert!(check_for_port(&allow, "ws", "localhost", 443, 443, &[ip("127.0.0.1")]).is_ok());
        assert!(check_for_port(&allow, "ws", "10.0.0.1", 443, 443, &[ip("10.0.0.1")]).is_ok());
        let allow = AllowList::parse(&["*:443", "10.0.0.0/8:443"]).unwrap();
        assert!(check_for_port(&allow, "ws", "db.corp", 443, 443, &[ip("10.2.3.4")]).is_ok());
        assert!(check_for_port(&allow, "ws", "db.corp", 8443, 443, &[ip("10.2.3.4")]).is_err(), "another port");
    }

    fn resolver(allow: &[&str], table: &[(&str, &[&str])]) -> GuardedResolver {
        GuardedResolver::new("http", Arc::new(AllowList::parse(allow).unwrap()), Arc::new(FakeLookup::new(table)))
    }

    async fn resolve(resolver: &GuardedResolver, name: &str) -> Result<Vec<SocketAddr>, String> {
        match resolver.resolve(name.parse().unwrap()).await {
            Ok(addresses) => Ok(addresses.collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_rebinding_answer() {
        let table: &[(&str, &[&str])] = &[
            ("rebind.test", &["127.0.0.1"]),
            ("mixed.test", &["93.184.216.34", "10.0.0.7"]),
            ("public.test", &["93.184.216.34"]),
            ("localhost", &["127.0.0.1"]),
        ];
        let guarded = resolver(&["*:443", "localhost:*"], table);
        assert_eq!(
            resolve(&guarded, "rebind.test").await.unwrap_err(),
            "plugin `http` may not reach rebind.test: it resolved to 127.0.0.1, a loopback address; to allow it, add \"127.0.0.1:443\" to [plugins.http] allow_hosts in config.toml"
        );
        let err = resolve(&guarded, "mixed.test").await.unwrap_err();
        assert!(err.contains("it resolved to 10.0.0.7, a private address"), "every address is checked: {err}");
        assert_eq!(resolve(&guarded, "public.test").await.unwrap(), vec!["93.184.216.34:0".parse().unwrap()]);
        assert_eq!(resolve(&guarded, "localhost").await.unwrap(), vec!["127.0.0.1:0".parse().unwrap()]);
        // An entry naming the address or its range lets the name lead there.
        let named = resolver(&["*:443", "127.0.0.1:*", "10.0.0.0/8:443"], table);
        assert_eq!(resolve(&named, "rebind.test").await.unwrap(), vec!["127.0.0.1:0".parse().unwrap()]);
        assert_eq!(resolve(&named, "mixed.test").await.unwrap().len(), 2);
        assert!(resolve(&named, "unknown.test").await.unwrap_err().contains("no such host"));
    }
}
