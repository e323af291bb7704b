//! The aish plugin SDK: write a transport or stage plugin as a page of plain Rust.
//!
//! A plugin crate is a `cdylib` built for `wasm32-wasip2`. It turns on the SDK feature for its
//! kind (`transport` or `stage`), implements one trait, and calls one macro. Beside its
//! `Cargo.toml` it keeps a `plugin.toml` manifest that the macro embeds in the component:
//!
//! ```toml
//! name = "echo"
//! version = "0.1.0"
//! description = "Answers with the message it was sent"
//! [capabilities]
//! http = true        # asks for outbound HTTP; the user decides which hosts
//! socket = false     # TCP/TLS connections (http::Request cannot carry the protocol)
//! ```
//!
//! [`Transport`] shows a whole minimal transport.
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and install it with
//! `aish plugin add target/wasm32-wasip2/release/echo.wasm`.

// The generated bindings name this crate by its own name, as plugins see it.
extern crate self as aish_plugin_sdk;

/// The version of the plugin contract (the WIT package `aish:plugin`) this SDK builds against.
pub const WIT_VERSION: &str = "0.3.0";

#[cfg(feature = "transport")]
pub mod http;
#[cfg(any(feature = "transport", feature = "stage"))]
pub mod log;
#[cfg(feature = "native")]
pub mod native;
#[cfg(feature = "transport")]
pub mod socket;
#[cfg(feature = "stage")]
mod stage;
#[cfg(any(feature = "stage", feature = "native"))]
mod stage_trait;
#[cfg(feature = "transport")]
mod transport;

#[cfg(any(feature = "stage", feature = "native"))]
pub use stage_trait::Stage;
#[cfg(feature = "transport")]
pub use transport::{
    ConnectOptions, ErrorKind, Event, Outgoing, RawEvent, Role, ToolCall, Transport, TransportError, Turn, Usage,
};

/// Items the export macros expand to; not part of the SDK's API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "stage")]
    pub use crate::stage::{StageResource, bindings as stage};
    #[cfg(feature = "transport")]
    pub use crate::transport::{TransportResource, bindings as transport};
}

/// Embeds the plugin's manifest (`plugin.toml` beside its `Cargo.toml`) in the component, with
/// the kind and contract version filled in, where the host reads it without running the plugin.
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_manifest {
    ($kind:literal) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            const TEXT: &str = concat!(
                "kind = \"",
                $kind,
                "\"\nwit = \"0.3.0\"\n",
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml"))
            );
            const BYTES: &[u8] = TEXT.as_bytes();
            #[used]
            #[unsafe(link_section = "aish:manifest")]
            static MANIFEST: [u8; BYTES.len()] = {
                let mut out = [0u8; BYTES.len()];
                let mut i = 0;
                while i < BYTES.len() {
                    out[i] = BYTES[i];
                    i += 1;
                }
                out
            };
        };
    };
}
