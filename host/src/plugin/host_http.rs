//! The host side of the `http` import: reqwest, limited to the hosts the user allowed.
//!
//! Names are checked against the allow list before DNS and their addresses after it (through
//! [`GuardedResolver`]). Redirects are followed here, not by reqwest, so each hop is judged the
//! same way: its host must be allowed, a hop to another server may lead to a loopback or
//! private address only when an allow entry names it, and every credential header a dialect
//! sets is dropped when the hop leaves the server the request was meant for.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use wasmtime::component::Resource;

use super::addresses::{AddressDenied, GuardedResolver, Lookup, Restricted, SystemLookup, restricted};
use super::bindings::v0_3_0::aish::plugin::{http, log, types};
use super::body::{Body, End, Next};
use super::capabilities::{AllowList, host_pattern_of};
use super::idle::IdleTimer;
use super::runtime::HostState;

/// How long a request may wait for its response head or a body chunk when the plugin says nothing.
const DEFAULT_IDLE: Duration = Duration::from_secs(120);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most redirects one request follows.
const MAX_REDIRECTS: usize = 5;
/// Headers that carry credentials: dropped on a redirect to another server. The dialects set
/// `authorization` (OpenAI, Responses), `x-api-key` (Anthropic), `x-goog-api-key` (Gemini) and
/// `api-key` (Azure OpenAI).
pub const CREDENTIAL_HEADERS: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "x-api-key", "x-goog-api-key", "api-key"];

/// The HTTP capability granted to one plugin.
#[derive(Clone)]
pub struct HttpGrant {
    client: reqwest::Client,
    allow: Arc<AllowList>,
    plugin: Arc<str>,
}

impl HttpGrant {
    /// A client that reaches only `allow`, redirects included, resolving names with the system.
    pub fn new(
        plugin: &str,
        allow: AllowList,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
    ) -> Result<HttpGrant, reqwest::Error> {
        HttpGrant::with_lookup(plugin, allow, extra_roots, Arc::new(SystemLookup))
    }

    /// As [`HttpGrant::new`], resolving names with `lookup`.
    pub(crate) fn with_lookup(
        plugin: &str,
        allow: AllowList,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
        lookup: Arc<dyn Lookup>,
    ) -> Result<HttpGrant, reqwest::Error> {
        let allow = Arc::new(allow);
        let mut builder = reqwest::Client::builder();
        for root in extra_roots {
            builder = builder.add_root_certificate(reqwest::Certificate::from_der(root)?);
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver::new(plugin, allow.clone(), lookup)))
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("aish/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpGrant { client, allow, plugin: plugin.into() })
    }

    /// The hosts this grant reaches.
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }

    /// Whether `other` is this very grant (made once per plugin and host list, then shared),
    /// not merely an equal one.
    pub(crate) fn is(&self, other: &HttpGrant) -> bool {
        Arc::ptr_eq(&self.allow, &other.allow)
    }

    /// Sends `request`, following up to five redirects that [`HttpGrant::check_redirect`] lets
    /// through, and returns the response head with the body still to read.
    pub(crate) async fn send(&self, request: http::Request) -> Result<HttpResponse, http::HttpError> {
        let mut url = Url::parse(&request.url)
            .map_err(|e| http::HttpError::InvalidRequest(format!("`{}` is not a URL: {e}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(http::HttpError::InvalidRequest(format!("scheme `{}` is not http or https", url.scheme())));
        }
        if !self.allow.allows(&url) {
            let target = host_pattern_of(url.as_str()).unwrap_or_else(|| url.to_string());
            return Err(http::HttpError::Denied(format!(
                "plugin `{}` may not reach {target}; to allow it, add \"{target}\" to {}",
                self.plugin,
                self.allow.where_to_allow(&self.plugin)
            )));
        }
        let mut method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| http::HttpError::InvalidRequest(format!("`{}` is not an HTTP method", request.method)))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| http::HttpError::InvalidRequest(format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                http::HttpError::InvalidRequest(format!("the value of `{name}` is not a valid header value"))
            })?;
            headers.append(name, value);
        }
        let mut body = (!request.body.is_empty()).then_some(request.body);
        let idle = request.idle_timeout_ms.map(Duration::from_millis).unwrap_or(DEFAULT_IDLE);
        let follow = async {
            let mut hops = 0;
            loop {
                let mut builder = self.client.request(method.clone(), url.clone()).headers(headers.clone());
                if let Some(body) = &body {
                    builder = builder.body(body.clone());
                }
                let response = builder.send().await.map_err(send_error)?;
                let Some(next) = redirect_target(&response, &url) else { return Ok(response) };
                if hops == MAX_REDIRECTS {
                    return Err(http::HttpError::Denied(format!(
                        "{url} redirected more than {MAX_REDIRECTS} times; the last redirect was to {next}"
                    )));
                }
                self.check_redirect(&url, &next).map_err(http::HttpError::Denied)?;
                if origin(&url) != origin(&next) {
                    for name in CREDENTIAL_HEADERS {
                        headers.remove(*name);
                    }
                }
                if matches!(response.status().as_u16(), 301..=303) {
                    // As browsers and reqwest do: the body is not sent again, and only GET or HEAD.
                    body = None;
                    for name in ["content-type", "content-length", "content-encoding", "transfer-encoding"] {
                        headers.remove(name);
                    }
                    if method != reqwest::Method::HEAD {
                        method = reqwest::Method::GET;
                    }
                }
                url = next;
                hops += 1;
            }
        };
        let response = match tokio::time::timeout(idle, follow).await {
            Err(_) => return Err(http::HttpError::Timeout(format!("no response within {}s", idle.as_secs()))),
            Ok(result) => result?,
        };
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        Ok(HttpResponse {
            status: response.status().as_u16(),
            headers,
            body: Body::read(response),
            idle,
            idle_timer: IdleTimer::new(),
        })
    }

    /// Whether a redirect from `from` to `to` may be followed: `to` is http or https and an
    /// allowed host, and a hop to another server that lands on a loopback or private address
    /// (an IP address or `localhost`; names are judged after DNS) needs an allow entry naming
    /// it, not just `*`. The error is the message for the plugin.
    fn check_redirect(&self, from: &Url, to: &Url) -> Result<(), String> {
        let plugin = &self.plugin;
        let (from_origin, to_origin) = (origin(from), origin(to));
        let hop = format!("plugin `{plugin}` may not follow a redirect from {} to {}", from_origin.1, to_origin.1);
        let advice = format!("to allow it, add \"{}\" to {}", to_origin.1, self.allow.where_to_allow(plugin));
        if !matches!(to.scheme(), "http" | "https") {
            return Err(format!(
                "plugin `{plugin}` may not follow a redirect from {} to {to}: not http or https",
                from_origin.1
            ));
        }
        if !self.allow.allows(to) {
            return Err(format!("{hop}; {advice}"));
        }
        if from_origin == to_origin {
            return Ok(());
        }
        let host = to.host_str().unwrap_or_default();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let kind = match bare.parse() {
            Ok(ip) => restricted(ip),
            Err(_) if bare.eq_ignore_ascii_case("localhost") => Some(Restricted::Loopback),
            Err(_) => None,
        };
        let default = if to.scheme() == "https" { 443 } else { 80 };
        match kind {
            Some(kind) if !self.allow.names(host, to.port().unwrap_or(default), default) => {
                Err(format!("{hop}, {kind}; {advice}"))
            }
            _ => Ok(()),
        }
    }
}

/// Where a request goes, for telling servers apart: the scheme and `host:port`.
fn origin(url: &Url) -> (String, String) {
    (url.scheme().to_owned(), host_pattern_of(url.as_str()).unwrap_or_else(|| url.to_string()))
}

/// Where a redirect response points, if it is one with a usable `location`.
fn redirect_target(response: &reqwest::Response, url: &Url) -> Option<Url> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?.to_str().ok()?;
    url.join(location).ok()
}

/// A failed send as the plugin sees it; a refused DNS answer is a denial in its own words.
fn send_error(error: reqwest::Error) -> http::HttpError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(denied) = current.downcast_ref::<AddressDenied>() {
            return http::HttpError::Denied(denied.to_string());
        }
        cause = current.source();
    }
    if error.is_connect() {
        http::HttpError::Connect(describe(&error))
    } else if error.is_timeout() {
        http::HttpError::Timeout(describe(&error))
    } else {
        http::HttpError::Io(describe(&error))
    }
}

/// A response being read by a plugin.
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
    idle: Duration,
    /// The deadline of the read waiting now.
    idle_timer: IdleTimer,
}

impl types::Host for HostState {}

impl http::Host for HostState {
    async fn send(
        &mut self,
        request: http::Request,
    ) -> wasmtime::Result<Result<Resource<HttpResponse>, http::HttpError>> {
        let result = self.http_send(request).await;
        self.resume_guest_clock();
        Ok(match result {
            Ok(response) => {
                let response = self.table.push(response)?;
                self.connections += 1;
                Ok(response)
            }
            Err(e) => Err(e),
        })
    }
}

impl http::HostResponse for HostState {
    async fn status(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<u16> {
        Ok(self.table.get(&response)?.status)
    }

    async fn headers(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.table.get(&response)?.headers.clone())
    }

    async fn read(
        &mut self,
        response: Resource<HttpResponse>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, http::HttpError>> {
        let response = self.table.get_mut(&response)?;
        let result = loop {
            match response.body.take() {
                Some(Next::Bytes(bytes)) => break Ok(Some(bytes)),
                Some(Next::End(End::Finished)) => break Ok(None),
                // A body that failed stays failed: it never turns into a clean end.
                Some(Next::End(End::Failed(why))) => break Err(http::HttpError::Io(why)),
                None => {}
            }
            if response.idle_timer.within(response.idle, response.body.arrival()).await.is_none() {
                break Err(http::HttpError::Timeout(format!(
                    "no data for {}s; the connection counts as dead",
                    response.idle.as_secs()
                )));
            }
        };
        self.resume_guest_clock();
        Ok(result)
    }

    async fn drop(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<()> {
        self.table.delete(response)?;
        self.connections -= 1;
        Ok(())
    }
}

impl log::Host for HostState {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let verbose = std::env::var_os("AISH_LOG").is_some();
        let label = match level {
            log::Level::Error => "error",
            log::Level::Warn => "warning",
            log::Level::Info if verbose => "info",
            log::Level::Debug | log::Level::Trace if verbose => "debug",
            _ => return Ok(()),
        };
        // One line, and no escape sequence a plugin could use to rewrite the user's screen.
        let message = crate::text::one_line(&message, 2000);
        eprintln!("[plugin {}] {label}: {message}", self.plugin);
        Ok(())
    }
}

impl HostState {
    async fn http_send(&mut self, request: http::Request) -> Result<HttpResponse, http::HttpError> {
        let grant = self
            .http
            .clone()
            .ok_or_else(|| http::HttpError::Denied(format!("plugin `{}` has no HTTP capability", self.plugin)))?;
        grant.send(request).await
    }

    /// Time spent waiting on the network does not count against the plugin's compute limit.
    pub(super) fn resume_guest_clock(&mut self) {
        self.clock.waited();
    }
}

/// The most specific description of a reqwest error: its innermost cause, with the URL.
pub(super) fn describe(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = cause.to_string();
    match error.url() {
        Some(url) => format!("{}: {what}", url.as_str()),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::plugin::addresses::FakeLookup;

    fn grant(allow: &[&str], table: &[(&str, &[&str])]) -> HttpGrant {
        let allow = AllowList::parse(allow).unwrap();
        HttpGrant::with_lookup("http", allow, &[], Arc::new(FakeLookup::new(table))).unwrap()
    }

    fn redirect(grant: &HttpGrant, from: &str, to: &str) -> Result<(), String> {
        grant.check_redirect(&Url::parse(from).unwrap(), &Url::parse(to).unwrap())
    }

    #[test]
    fn redirects_to_loopback_or_private_addresses_need_an_entry_naming_them() {
        let open = grant(&["*:*"], &[]);
        assert_eq!(
            redirect(&open, "https://api.example.com/v1", "http://169.254.169.254/latest/meta-data/").unwrap_err(),
            "plugin `http` may not follow a redirect from api.example.com:443 to 169.254.169.254:80, a link-local address (where cloud metadata services answer); to allow it, add \"169.254.169.254:80\" to [plugins.http] allow_hosts in config.toml"
        );
        let err = redirect(&open, "https://api.example.com/", "http://localhost:6379/").unwrap_err();
        assert!(err.contains("to localhost:6379, a loopback address;"), "{err}");
        let err = redirect(&open, "https://api.example.com/", "http://[::ffff:10.0.0.1]:8080/").unwrap_err();
        assert!(err.contains("a private address"), "{err}");
        assert!(redirect(&open, "https://api.example.com/", "https://cdn.example.net/x").is_ok());
        // Within one server, a redirect reaches nothing new.
        assert!(redirect(&open, "http://127.0.0.1:4000/a", "http://127.0.0.1:4000/b").is_ok());
        assert!(redirect(&open, "http://127.0.0.1:4000/a", "http://127.0.0.1:4001/b").is_err());
        let named = grant(&["*:*", "10.0.0.0/8:*", "127.0.0.1:4001"], &[]);
        assert!(redirect(&named, "https://api.example.com/", "http://10.1.2.3:8080/").is_ok());
        assert!(redirect(&named, "http://127.0.0.1:4000/a", "http://127.0.0.1:4001/b").is_ok());
    }

    #[test]
    fn redirects_to_hosts_not_allowed_or_other_schemes_are_refused() {
        let narrow = grant(&["api.example.com:443"], &[]);
        assert_eq!(
            redirect(&narrow, "https://api.example.com/", "https://evil.example/steal").unwrap_err(),
            "plugin `http` may not follow a redirect from api.example.com:443 to evil.example:443; to allow it, add \"evil.example:443\" to [plugins.http] allow_hosts in config.toml"
        );
        let err = redirect(&narrow, "https://api.example.com/", "file:///etc/passwd").unwrap_err();
        assert!(err.ends_with("to file:///etc/passwd: not http or https"), "{err}");
    }

    /// A server on 127.0.0.1 that answers every request `200 ok`; counts connections.
    async fn counting_server() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.is_ok_and(|n| n == 1) {
                        head.push(byte[0]);
                    }
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = stream.write_all(reply).await;
                });
            }
        });
        (port, count)
    }

    fn get(url: &str) -> http::Request {
        http::Request {
            method: "GET".into(),
            url: url.into(),
            headers: vec![("x-api-key".into(), "sk-secret".into())],
            body: Vec::new(),
            idle_timeout_ms: Some(5_000),
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_before_connecting() {
        let (port, connections) = counting_server().await;
        let table: &[(&str, &[&str])] = &[("rebind.test", &["127.0.0.1"])];
        let url = format!("http://rebind.test:{port}/");
        let result = grant(&["rebind.test:*"], table).send(get(&url)).await;
        let Err(http::HttpError::Denied(message)) = result else { panic!("not denied") };
        assert_eq!(
            message,
            "plugin `http` may not reach rebind.test: it resolved to 127.0.0.1, a loopback address; to allow it, add \"127.0.0.1:*\" to [plugins.http] allow_hosts in config.toml"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 0, "nothing was connected to");
        // Naming the address lets the name lead there; IP addresses work as they always did.
        let response = grant(&["rebind.test:*", "127.0.0.1:*"], table).send(get(&url)).await;
        assert_eq!(response.ok().map(|r| r.status), Some(200));
        let response = grant(&["127.0.0.1:*"], table).send(get(&format!("http://127.0.0.1:{port}/"))).await;
        assert_eq!(response.ok().map(|r| r.status), Some(200));
    }
}
