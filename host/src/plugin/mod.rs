//! The plugin runtime: WebAssembly components loaded at run time with wasmtime, each limited to
//! the capabilities the user granted, a memory limit and a compute limit.

pub mod addresses;
pub mod author;
mod bindings;
mod body;
mod cache;
pub mod capabilities;
mod compat;
pub mod host_http;
pub mod host_socket;
mod idle;
pub(crate) mod kept;
pub mod manage;
pub mod manifest;
pub mod native;
mod parts;
pub mod registry;
pub mod runtime;
pub mod stage;

pub use bindings::SUPPORTED_WIT_VERSIONS;
pub use manifest::{Manifest, PluginKind};
pub use registry::{Plugin, Registry, Source};
pub use runtime::{Grant, Runtime};

pub(crate) use bindings::{v0_1_0, v0_2_0, v0_3_0};

/// A plugin compiled into aish.
#[derive(Debug)]
pub struct Builtin {
    /// Its name.
    pub name: &'static str,
    /// The component.
    pub bytes: &'static [u8],
    /// SHA-256 of the bytes, computed when aish was built.
    pub sha256: [u8; 32],
    /// The text of its manifest section, read when aish was built.
    pub manifest: &'static str,
    /// The names its component exports, read when aish was built.
    pub exports: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The directory holding every plugin the build produced, test plugins included.
pub const PLUGIN_ARTIFACTS: &str = env!("AISH_PLUGIN_ARTIFACTS");

/// Why a plugin cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No plugin of that name.
    #[error("no plugin named `{0}`; `aish plugin list` shows what is installed")]
    NotFound(String),
    /// The plugin file is not a usable aish plugin.
    #[error("plugin {plugin} cannot be used: {why}")]
    Invalid {
        /// The plugin's name or path.
        plugin: String,
        /// What is wrong.
        why: String,
    },
    /// Built against a WIT version this aish does not load.
    #[error(
        "plugin `{plugin}` was built for aish plugin API {version}, and this aish loads {}; rebuild it with a matching aish-plugin-sdk or upgrade aish",
        SUPPORTED_WIT_VERSIONS.join(", ")
    )]
    UnsupportedVersion {
        /// The plugin's name.
        plugin: String,
        /// The version it asked for.
        version: String,
    },
    /// A plugin used where another kind is needed.
    #[error("plugin `{plugin}` is a {kind} plugin, not a {wanted} plugin")]
    WrongKind {
        /// The plugin's name.
        plugin: String,
        /// What it is.
        kind: PluginKind,
        /// What was needed.
        wanted: PluginKind,
    },
    /// The engine could not start.
    #[error("the plugin engine failed to start: {0}")]
    Engine(String),
}
