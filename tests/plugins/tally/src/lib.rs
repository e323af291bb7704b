//! Counts, in a global, the connections its instance has served, and answers with the count:
//! tests see whether an answer ran in a kept instance or a fresh one. `grow N` keeps N MiB in
//! a global; `panic` panics in `receive`; the dialect `refuse` makes `connect` fail.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};

/// Connections served by this instance.
static CONNECTS: AtomicU32 = AtomicU32::new(0);
/// Memory kept from one answer to the next.
static KEPT: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// The plugin.
pub struct Tally {
    answer: Option<String>,
    panic: bool,
}

impl Transport for Tally {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        let connects = CONNECTS.fetch_add(1, Ordering::Relaxed) + 1;
        if options.dialect == "refuse" {
            return Err(TransportError::new(ErrorKind::InvalidInput, format!("refused connection {connects}")));
        }
        Ok(Tally { answer: Some(format!("connection {connects}")), panic: false })
    }
    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        if let Some(mib) = message.message.strip_prefix("grow ").and_then(|n| n.parse::<usize>().ok()) {
            KEPT.lock().unwrap().push(std::hint::black_box(vec![1u8; mib << 20]));
        }
        self.panic = message.message == "panic";
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        if self.panic {
            panic!("asked to");
        }
        Ok(match self.answer.take() {
            Some(answer) => vec![Event::Token(answer), Event::Done(None)],
            None => Vec::new(),
        })
    }
}

aish_plugin_sdk::register_transport!(Tally);
