//! Outbound HTTP through the host, which reaches only the hosts the user allowed.

use std::time::Duration;

use crate::transport::bindings::aish::plugin::http as wit;
pub use wit::HttpError;

/// A one-line description of an HTTP failure for the user.
pub fn describe(error: &HttpError) -> String {
    match error {
        HttpError::Denied(m) => format!("not allowed: {m}"),
        HttpError::InvalidRequest(m) => format!("invalid request: {m}"),
        HttpError::Connect(m) => format!("cannot connect: {m}"),
        HttpError::Timeout(m) => format!("timed out: {m}"),
        HttpError::Io(m) => format!("connection failed: {m}"),
    }
}

/// An HTTP request under construction.
#[derive(Clone, Debug)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    idle_timeout: Option<Duration>,
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: &str) -> Self {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            idle_timeout: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    /// Adds a header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Gives up when no byte arrives for this long.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Sends the request; returns once the response head has arrived.
    pub fn send(self) -> Result<Response, HttpError> {
        let request = wit::Request {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body: self.body,
            idle_timeout_ms: self.idle_timeout.map(|d| d.as_millis() as u64),
        };
        let inner = wit::send(&request)?;
        let status = inner.status();
        let headers = inner.headers();
        Ok(Response { inner, status, headers })
    }
}

/// A response whose body is read piece by piece as it arrives.
pub struct Response {
    inner: wit::Response,
    status: u16,
    headers: Vec<(String, String)>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// All header fields, names in lower case.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of a header field, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The next piece of the body; `None` at its end.
    pub fn read(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        self.inner.read()
    }

    /// Reads the rest of the body, stopping after `limit` bytes.
    pub fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.read()? {
            body.extend_from_slice(&chunk);
            if body.len() >= limit {
                body.truncate(limit);
                break;
            }
        }
        Ok(body)
    }
}
