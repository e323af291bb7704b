//! A transport plugin built against `aish:plugin@0.1.0`, frozen as plugins built before the
//! contract's 0.2.0 were: streams back the words of the message, and first the status of a GET
//! to its URL, so tests see its HTTP import still works.

#![cfg(target_family = "wasm")]

use std::cell::RefCell;

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "transport-plugin" });

use aish::plugin::http;
use aish::plugin::types::{ConnectOptions, ErrorKind, Event, Outgoing, TransportError};
use exports::aish::plugin::transport::{Guest, GuestStreamWrapper, StreamWrapper};

struct Legacy {
    url: String,
    words: RefCell<Vec<String>>,
    done: RefCell<bool>,
}

impl GuestStreamWrapper for Legacy {
    fn connect(options: ConnectOptions) -> Result<StreamWrapper, TransportError> {
        Ok(StreamWrapper::new(Legacy { url: options.url, words: RefCell::default(), done: RefCell::new(false) }))
    }

    fn send(&self, message: Outgoing) -> Result<(), TransportError> {
        aish::plugin::log::log(aish::plugin::log::Level::Info, "legacy plugin sending");
        let request = http::Request {
            method: "GET".into(),
            url: self.url.clone(),
            headers: Vec::new(),
            body: Vec::new(),
            idle_timeout_ms: None,
        };
        let status = http::send(&request).map(|r| r.status()).map_err(|e| TransportError {
            kind: ErrorKind::Connect,
            message: format!("legacy: {e:?}"),
            status: None,
            retry_after_ms: None,
        })?;
        let mut words = vec![format!("[{status}] ")];
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

const MANIFEST: &str = concat!("kind = \"transport\"\nwit = \"0.1.0\"\n", include_str!("../plugin.toml"));

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
