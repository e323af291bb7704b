//! The host side of the `http` import: reqwest, limited to the hosts the user allowed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;
use wasmtime::component::Resource;

use super::bindings::v0_3_0::aish::plugin::{http, log, types};
use super::capabilities::AllowList;
use super::runtime::HostState;

/// How long a request may wait for its response head or a body chunk when the plugin says nothing.
const DEFAULT_IDLE: Duration = Duration::from_secs(120);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP capability granted to one plugin.
#[derive(Clone)]
pub struct HttpGrant {
    client: reqwest::Client,
    allow: Arc<AllowList>,
    plugin: Arc<str>,
}

impl HttpGrant {
    /// A client that reaches only `allow`, redirects included.
    pub fn new(
        plugin: &str,
        allow: AllowList,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
    ) -> Result<HttpGrant, reqwest::Error> {
        let allow = Arc::new(allow);
        let redirect_allow = allow.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if redirect_allow.allows(attempt.url()) {
                attempt.follow()
            } else {
                let url = attempt.url().to_string();
                attempt.error(format!("redirect to {url}, which is not an allowed host"))
            }
        });
        let mut builder = reqwest::Client::builder();
        for root in extra_roots {
            builder = builder.add_root_certificate(reqwest::Certificate::from_der(root)?);
        }
        let client = builder
            .redirect(policy)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("aish/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpGrant { client, allow, plugin: plugin.into() })
    }

    /// The hosts this grant reaches.
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }
}

/// A response being read by a plugin.
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: reqwest::Response,
    idle: Duration,
    finished: bool,
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
            Ok(response) => Ok(self.table.push(response)?),
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
        if response.finished {
            return Ok(Ok(None));
        }
        let result = match tokio::time::timeout(response.idle, response.body.chunk()).await {
            Err(_) => Err(http::HttpError::Timeout(format!(
                "no data for {}s; the connection counts as dead",
                response.idle.as_secs()
            ))),
            Ok(Ok(Some(bytes))) => Ok(Some(bytes.to_vec())),
            Ok(Ok(None)) => {
                response.finished = true;
                Ok(None)
            }
            Ok(Err(e)) => Err(http::HttpError::Io(describe(&e))),
        };
        self.resume_guest_clock();
        Ok(result)
    }

    async fn drop(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<()> {
        self.table.delete(response)?;
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
        let url = Url::parse(&request.url)
            .map_err(|e| http::HttpError::InvalidRequest(format!("`{}` is not a URL: {e}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(http::HttpError::InvalidRequest(format!("scheme `{}` is not http or https", url.scheme())));
        }
        if !grant.allow.allows(&url) {
            let target = super::capabilities::host_pattern_of(url.as_str()).unwrap_or_else(|| url.to_string());
            return Err(http::HttpError::Denied(format!(
                "plugin `{}` may not reach {target}; to allow it, add \"{target}\" to [plugins.{}] allow_hosts in config.toml",
                grant.plugin, grant.plugin
            )));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| http::HttpError::InvalidRequest(format!("`{}` is not an HTTP method", request.method)))?;
        let mut builder = grant.client.request(method, url);
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| http::HttpError::InvalidRequest(format!("`{name}` is not a header name")))?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                http::HttpError::InvalidRequest(format!("the value of `{name}` is not a valid header value"))
            })?;
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let idle = request.idle_timeout_ms.map(Duration::from_millis).unwrap_or(DEFAULT_IDLE);
        let response = match tokio::time::timeout(idle, builder.send()).await {
            Err(_) => return Err(http::HttpError::Timeout(format!("no response within {}s", idle.as_secs()))),
            Ok(Err(e)) if e.is_redirect() => return Err(http::HttpError::Denied(describe(&e))),
            Ok(Err(e)) if e.is_connect() => return Err(http::HttpError::Connect(describe(&e))),
            Ok(Err(e)) if e.is_timeout() => return Err(http::HttpError::Timeout(describe(&e))),
            Ok(Err(e)) => return Err(http::HttpError::Io(describe(&e))),
            Ok(Ok(response)) => response,
        };
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        Ok(HttpResponse { status: response.status().as_u16(), headers, body: response, idle, finished: false })
    }

    /// Time spent waiting on the network does not count against the plugin's compute limit.
    pub(super) fn resume_guest_clock(&mut self) {
        self.guest_since = Instant::now();
    }
}

/// The most specific description of a reqwest error: its innermost cause, with the URL.
fn describe(error: &reqwest::Error) -> String {
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
