//! The manifest every plugin carries in its `aish:manifest` custom section.

use serde::Deserialize;

/// The name of the custom section the SDK writes the manifest into.
pub const SECTION: &str = "aish:manifest";

/// What a plugin says about itself.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The name pipelines and config use.
    pub name: String,
    /// `transport` or `stage`.
    pub kind: PluginKind,
    /// The plugin's own version.
    pub version: String,
    /// The version of the `aish:plugin` WIT package it was built against.
    pub wit: String,
    /// One line about what it does.
    #[serde(default)]
    pub description: String,
    /// The capabilities it asks for.
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// The kinds of plugin.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// Carries messages to an AI.
    Transport,
    /// Transforms text between pipeline stages.
    Stage,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Transport => "transport",
            PluginKind::Stage => "stage",
        })
    }
}

/// Capabilities a plugin asks for; the user's config decides what it gets.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Capabilities {
    /// Outbound HTTP (to the allowed hosts only).
    #[serde(default)]
    pub http: bool,
    /// Outbound TCP connections, TLS on request (to the allowed hosts only).
    #[serde(default)]
    pub socket: bool,
}

impl Capabilities {
    /// The capabilities' names, `none` when there are none.
    pub fn names(&self) -> String {
        let names: Vec<&str> = [("http", self.http), ("socket", self.socket)]
            .into_iter()
            .filter_map(|(name, asked)| asked.then_some(name))
            .collect();
        if names.is_empty() { "none".to_owned() } else { names.join(", ") }
    }

    /// Whether the plugin asks to reach any host.
    pub fn network(&self) -> bool {
        self.http || self.socket
    }
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The bytes are not a WebAssembly component.
    #[error("not a WebAssembly component ({0}); build plugins for wasm32-wasip2")]
    NotComponent(String),
    /// No manifest section.
    #[error("no aish:manifest section: build the plugin with aish-plugin-sdk's register_transport! or register_stage!")]
    Missing,
    /// The section is not a valid manifest.
    #[error("its manifest is invalid: {0}")]
    Invalid(String),
}

impl Manifest {
    /// Reads the manifest out of a component's bytes without running it.
    pub fn from_component(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if !wasmparser::Parser::is_component(bytes) {
            let why = if wasmparser::Parser::is_core_wasm(bytes) { "a core module" } else { "not WebAssembly" };
            return Err(ManifestError::NotComponent(why.to_owned()));
        }
        let mut text = None;
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(|e| ManifestError::NotComponent(e.message().to_owned()))?;
            if let wasmparser::Payload::CustomSection(section) = payload
                && section.name() == SECTION
            {
                text = Some(String::from_utf8_lossy(section.data()).into_owned());
                break;
            }
        }
        let text = text.ok_or(ManifestError::Missing)?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| ManifestError::Invalid(e.message().to_owned()))?;
        let valid_name = !manifest.name.is_empty()
            && manifest.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(ManifestError::Invalid(format!("`{}` is not a usable plugin name", manifest.name)));
        }
        Ok(manifest)
    }
}
