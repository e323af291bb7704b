//! The transport kind: the `Transport` trait and the adapter the export macro uses.

use std::cell::RefCell;

/// Bindings for the `transport-plugin` world, generated from the WIT the host loads.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "transport-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_transport_world",
        default_bindings_module: "aish_plugin_sdk::__private::transport",
        runtime_path: "::aish_plugin_sdk::__private::transport::wit_bindgen_rt",
        additional_derives: [PartialEq],
    });
    #[doc(hidden)]
    pub use wit_bindgen::rt as wit_bindgen_rt;
}

pub use bindings::aish::plugin::types::{
    ConnectOptions, ErrorKind, Event, Outgoing, RawEvent, Role, ToolCall, TransportError, Turn, Usage,
};
use bindings::exports::aish::plugin::transport::{GuestStreamWrapper, StreamWrapper};

impl TransportError {
    /// An error of `kind` with a message for the user.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TransportError { kind, message: message.into(), status: None, retry_after_ms: None }
    }

    /// Records the HTTP status behind the error.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// One conversation with an AI over one protocol: what a transport plugin implements.
///
/// The host calls `connect` once, then `send` for a message and `receive` until it returns an
/// empty list. Returning several events from one `receive` saves a host call per token.
///
/// A whole minimal transport that streams back each word it was sent:
///
/// ```
/// use aish_plugin_sdk::{ConnectOptions, Event, Outgoing, Transport, TransportError};
///
/// struct Echo {
///     words: Vec<String>,
///     finished: bool,
/// }
///
/// impl Transport for Echo {
///     fn connect(_options: ConnectOptions) -> Result<Self, TransportError> {
///         Ok(Echo { words: Vec::new(), finished: false })
///     }
///     fn send(&mut self, message: Outgoing) -> Result<(), TransportError> {
///         self.words = message.message.split(' ').rev().map(|w| format!("{w} ")).collect();
///         Ok(())
///     }
///     fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
///         match self.words.pop() {
///             Some(word) => Ok(vec![Event::Token(word)]),
///             None if !self.finished => {
///                 self.finished = true;
///                 Ok(vec![Event::Done(None)])
///             }
///             None => Ok(Vec::new()),
///         }
///     }
/// }
///
/// aish_plugin_sdk::register_transport!(Echo);
/// # let outgoing = Outgoing { message: "hello there".into(), context: "{}".into(), stream: true, system: None, history: Vec::new() };
/// # let mut echo = Echo::connect(ConnectOptions { url: String::new(), dialect: String::new(), model: None, api_key: None, settings: String::new() }).unwrap();
/// # echo.send(outgoing).unwrap();
/// # assert_eq!(echo.receive().unwrap(), vec![Event::Token("hello ".into())]);
/// # assert_eq!(echo.receive().unwrap(), vec![Event::Token("there ".into())]);
/// # assert_eq!(echo.receive().unwrap(), vec![Event::Done(None)]);
/// # assert!(echo.receive().unwrap().is_empty());
/// ```
pub trait Transport: Sized + 'static {
    /// Checks the options and opens whatever the protocol keeps open.
    fn connect(options: ConnectOptions) -> Result<Self, TransportError>;

    /// Sends one message; its answer is read with [`Transport::receive`].
    fn send(&mut self, message: Outgoing) -> Result<(), TransportError>;

    /// Returns the events that are ready, waiting for at least one; an empty list once the
    /// stream has ended. Events already parsed must be returned before an error is.
    fn receive(&mut self) -> Result<Vec<Event>, TransportError>;

    /// Proves the connection is alive. Request/response protocols have nothing to do.
    fn heartbeat(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    /// Releases the connection. Dropping the value does the same by default.
    fn close(&mut self) {}
}

/// Adapts a [`Transport`] to the generated resource trait.
#[doc(hidden)]
pub struct TransportResource<T>(RefCell<T>);

impl<T: Transport> GuestStreamWrapper for TransportResource<T> {
    fn connect(options: ConnectOptions) -> Result<StreamWrapper, TransportError> {
        T::connect(options).map(|t| StreamWrapper::new(TransportResource(RefCell::new(t))))
    }

    fn send(&self, message: Outgoing) -> Result<(), TransportError> {
        self.0.borrow_mut().send(message)
    }

    fn receive(&self) -> Result<Vec<Event>, TransportError> {
        self.0.borrow_mut().receive()
    }

    fn heartbeat(&self) -> Result<(), TransportError> {
        self.0.borrow_mut().heartbeat()
    }

    fn close(&self) {
        self.0.borrow_mut().close();
    }
}

/// Exports a [`Transport`] implementation as the plugin's StreamWrapper and embeds its manifest.
///
/// Call it once, at the root of the plugin crate: `aish_plugin_sdk::register_transport!(MyType);`
#[macro_export]
macro_rules! register_transport {
    ($transport:ty) => {
        // Component exports exist only on wasm; a native build (for unit tests) has none.
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __AishTransportExport;
            impl $crate::__private::transport::exports::aish::plugin::transport::Guest for __AishTransportExport {
                type StreamWrapper = $crate::__private::TransportResource<$transport>;
            }
            $crate::__private::transport::__export_transport_world!(
                __AishTransportExport with_types_in $crate::__private::transport
            );
        };
        $crate::__embed_manifest!("transport");
    };
}
