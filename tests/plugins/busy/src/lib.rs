//! Keeps busy in the ways a compute limit or a stderr pipe must survive. The message says how:
//! `socket` loops forever on a socket read that returns at once (a connection to the configured
//! URL's server, which sends nothing), `log` loops forever on a log call at a level aish does not
//! show, `heartbeats` answers every `receive` at once with a heartbeat, `exit` exits with status 3, `sleep` sleeps ten minutes, `stderr` writes 1 MiB to its stderr and then answers, `stderr-panic` writes 1 MiB and
//! then panics.
use std::time::Duration;

use aish_plugin_sdk::socket::{Connection, Endpoint};
use aish_plugin_sdk::{ConnectOptions, ErrorKind, Event, Outgoing, Transport, TransportError};

/// The plugin.
pub struct Busy {
    url: String,
    mode: String,
}

/// Writes 1 MiB to stderr: lines, then one long unbroken write.
fn flood() {
    let line = "x".repeat(63);
    for _ in 0..8192 {
        eprintln!("{line}");
    }
    eprint!("{}", "y".repeat(512 * 1024));
}

impl Transport for Busy {
    fn connect(options: ConnectOptions) -> Result<Self, TransportError> {
        Ok(Busy { url: options.url, mode: String::new() })
    }
    fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
        self.mode = message.message;
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        match self.mode.as_str() {
            "socket" => {
                let endpoint =
                    Endpoint::parse(&self.url).map_err(|e| TransportError::new(ErrorKind::InvalidInput, e))?;
                let connection = Connection::connect(&endpoint.host, endpoint.port.unwrap_or(80), false)
                    .map_err(|e| aish_plugin_sdk::socket::transport_error(&e, true))?;
                loop {
                    let _ = std::hint::black_box(connection.read(1024, Duration::ZERO));
                }
            }
            "log" => loop {
                aish_plugin_sdk::log::debug(std::hint::black_box("still here"));
            },
            "stderr" => {
                flood();
                self.mode = "done".into();
                Ok(vec![Event::Token("answered after 1 MiB of stderr".into())])
            }
            "stderr-panic" => {
                flood();
                panic!("gave up after the flood");
            }
            // A heartbeat at once on every call, for ever: no single call is long.
            "heartbeats" => Ok(vec![Event::Heartbeat]),
            "exit" => std::process::exit(3),
            // A wait that is not on the network: the engine's check alone would see it only at its end.
            "sleep" => {
                std::thread::sleep(Duration::from_secs(600));
                Ok(vec![Event::Token("woke".into())])
            }
            _ => Ok(vec![Event::Done(None)]),
        }
    }
}

aish_plugin_sdk::register_transport!(Busy);
