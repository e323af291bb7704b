//! Counts, in a global, the connections its instance has served, and answers with the count:
//! tests see whether an answer ran in a kept instance or a fresh one. What it is sent picks
//! a misbehaviour: `grow N` keeps N MiB in a global; `panic` panics in `receive`; `spin`
//! computes for a second in `receive` before answering; `panic in close` panics in `close`;
//! `leak` keeps an HTTP response (to the AI's URL) in a global. The dialect `refuse` makes
//! `connect` fail.
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aish_plugin_sdk::http::{Request, Response};
use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};

/// Connections served by this instance.
static CONNECTS: AtomicU32 = AtomicU32::new(0);
/// Memory kept from one answer to the next.
static KEPT: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

thread_local! {
    /// Responses kept from one answer to the next (the instance has one thread).
    static LEAKED: RefCell<Vec<Response>> = const { RefCell::new(Vec::new()) };
}

/// The plugin.
pub struct Tally {
    url: String,
    answer: Option<String>,
    message: String,
}

impl Transport for Tally {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        let connects = CONNECTS.fetch_add(1, Ordering::Relaxed) + 1;
        if options.dialect == "refuse" {
            return Err(TransportError::new(ErrorKind::InvalidInput, format!("refused connection {connects}")));
        }
        Ok(Tally { url: options.url, answer: Some(format!("connection {connects}")), message: String::new() })
    }
    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        if let Some(mib) = message.message.strip_prefix("grow ").and_then(|n| n.parse::<usize>().ok()) {
            KEPT.lock().unwrap().push(std::hint::black_box(vec![1u8; mib << 20]));
        }
        if message.message == "leak" {
            let response = Request::get(&self.url)
                .send()
                .map_err(|e| TransportError::new(ErrorKind::Connect, aish_plugin_sdk::http::describe(&e)))?;
            LEAKED.with(|leaked| leaked.borrow_mut().push(response));
        }
        self.message = message.message;
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        match self.message.as_str() {
            "panic" => panic!("asked to"),
            "spin" => {
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(1) {
                    std::hint::spin_loop();
                }
            }
            _ => {}
        }
        Ok(match self.answer.take() {
            Some(answer) => vec![Event::Token(answer), Event::Done(None)],
            None => Vec::new(),
        })
    }
    fn close(&mut self) {
        if self.message == "panic in close" {
            panic!("asked to");
        }
    }
}

aish_plugin_sdk::register_transport!(Tally);
