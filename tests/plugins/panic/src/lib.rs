//! Streams one token, then panics: the host must keep the token and report a clear error.
use aish_plugin_sdk::{ConnectOptions, Event, Outgoing, Transport, TransportError};

/// The plugin.
pub struct Panic(u32);

impl Transport for Panic {
    fn connect(_: ConnectOptions) -> Result<Self, TransportError> {
        Ok(Panic(0))
    }
    fn send(&mut self, _: Outgoing) -> Result<(), TransportError> {
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        self.0 += 1;
        if self.0 == 1 {
            return Ok(vec![Event::Token("before the crash ".into())]);
        }
        panic!("the plugin gave up");
    }
}

aish_plugin_sdk::register_transport!(Panic);
