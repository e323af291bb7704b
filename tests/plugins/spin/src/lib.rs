//! Never returns from receive: the host's epoch deadline must stop it.
use aish_plugin_sdk::{ConnectOptions, Event, Outgoing, Transport, TransportError};

/// The plugin.
pub struct Spin;

impl Transport for Spin {
    fn connect(_: ConnectOptions) -> Result<Self, TransportError> {
        Ok(Spin)
    }
    fn send(&mut self, _: Outgoing) -> Result<(), TransportError> {
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

aish_plugin_sdk::register_transport!(Spin);
