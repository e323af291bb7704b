//! Grows its memory without bound: the host's memory limit must stop it.
use aish_plugin_sdk::{ConnectOptions, Event, Outgoing, Transport, TransportError};

/// The plugin.
pub struct Hog(Vec<Vec<u8>>);

impl Transport for Hog {
    fn connect(_: ConnectOptions) -> Result<Self, TransportError> {
        Ok(Hog(Vec::new()))
    }
    fn send(&mut self, _: Outgoing) -> Result<(), TransportError> {
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        loop {
            self.0.push(std::hint::black_box(vec![1u8; 1 << 20]));
        }
    }
}

aish_plugin_sdk::register_transport!(Hog);
