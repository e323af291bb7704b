//! A transport plugin built against `aish:plugin@0.2.0`, frozen as plugins built before the
//! contract's 0.3.0 were: streams back the words of the message, first the status line of a GET
//! sent over its socket import to its URL's host, so tests see that import still works.

#![cfg(target_family = "wasm")]

use std::cell::RefCell;

wit_bindgen::generate!({ path: "../../../wit/v0.2.0", world: "transport-plugin" });

use aish::plugin::socket;
use aish::plugin::types::{ConnectOptions, ErrorKind, Event, Outgoing, TransportError};
use exports::aish::plugin::transport::{Guest, GuestStreamWrapper, StreamWrapper};

struct Legacy {
    url: String,
    words: RefCell<Vec<String>>,
    done: RefCell<bool>,
}

fn failed(why: String) -> TransportError {
    TransportError { kind: ErrorKind::Connect, message: format!("legacy2: {why}"), status: None, retry_after_ms: None }
}

/// The first line of the answer to a GET of `url` (`http://HOST:PORT/...`), over a raw socket.
fn status_line(url: &str) -> Result<String, TransportError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| failed(format!("not an http:// URL: {url}")))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = authority.rsplit_once(':').ok_or_else(|| failed(format!("no port in {url}")))?;
    let port = port.parse().map_err(|_| failed(format!("bad port in {url}")))?;
    let request = socket::ConnectRequest { host: host.into(), port, tls: false, timeout_ms: Some(5000) };
    let connection = socket::connect(&request).map_err(|e| failed(format!("{e:?}")))?;
    connection
        .write(format!("GET / HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|e| failed(format!("{e:?}")))?;
    let mut received = Vec::new();
    for _ in 0..100 {
        match connection.read(4096, 5000).map_err(|e| failed(format!("{e:?}")))? {
            socket::ReadOutcome::Data(bytes) => received.extend(bytes),
            socket::ReadOutcome::Idle => {}
            socket::ReadOutcome::Closed => break,
        }
        if received.windows(2).any(|w| w == b"\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&received);
    Ok(text.split("\r\n").next().unwrap_or_default().to_owned())
}

impl GuestStreamWrapper for Legacy {
    fn connect(options: ConnectOptions) -> Result<StreamWrapper, TransportError> {
        Ok(StreamWrapper::new(Legacy { url: options.url, words: RefCell::default(), done: RefCell::new(false) }))
    }

    fn send(&self, message: Outgoing) -> Result<(), TransportError> {
        aish::plugin::log::log(aish::plugin::log::Level::Info, "legacy2 plugin sending");
        let mut words = vec![format!("[{}] ", status_line(&self.url)?)];
        words.extend(message.message.split_whitespace().map(|w| format!("{w} ")));
        words.reverse();
        *self.words.borrow_mut() = words;
        Ok(())
    }

    fn receive(&self) -> Result<Vec<Event>, TransportError> {
        if let Some(word) = self.words.borrow_mut().pop() {
            return Ok(vec![Event::Token(word)]);
        }
        if self.done.replace(true) { Ok(Vec::new()) } else { Ok(vec![Event::Done(None)]) }
    }

    fn heartbeat(&self) -> Result<(), TransportError> {
        Ok(())
    }

    fn close(&self) {}
}

struct Plugin;

impl Guest for Plugin {
    type StreamWrapper = Legacy;
}

export!(Plugin);

const MANIFEST: &str = concat!("kind = \"transport\"\nwit = \"0.2.0\"\n", include_str!("../plugin.toml"));

#[used]
#[unsafe(link_section = "aish:manifest")]
static SECTION: [u8; MANIFEST.len()] = {
    let bytes = MANIFEST.as_bytes();
    let mut out = [0u8; MANIFEST.len()];
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
};
