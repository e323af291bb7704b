//! What a plugin says about itself, in any language: a small TOML manifest (name, version,
//! description, capabilities, default limits) carried in the component's `aish:manifest` custom
//! section, or given beside it as `plugin.toml` when the component is installed. What the plugin
//! *is* (transport or stage, and which contract version) is never written by hand: it is read
//! from the interfaces the component exports.

use serde::Deserialize;

pub use super::parts::SECTION;

/// The WIT package every plugin exports an interface of.
const PACKAGE: &str = "aish:plugin/";

/// What a plugin says about itself, with its kind and contract version read from its exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The name pipelines and config use.
    pub name: String,
    /// `transport` or `stage`, from the component's exports.
    pub kind: PluginKind,
    /// The plugin's own version.
    pub version: String,
    /// The version of the `aish:plugin` WIT package it exports, from the component's exports.
    pub wit: String,
    /// One line about what it does.
    pub description: String,
    /// The capabilities it asks for.
    pub capabilities: Capabilities,
    /// Limits the plugin needs by default; the user's `[plugins.NAME]` overrides them.
    pub limits: Limits,
    /// How its instances may be used.
    pub instance: InstanceUse,
}

/// The manifest as written (`plugin.toml` or the custom section).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    capabilities: Capabilities,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    instance: InstanceUse,
    /// How `aish plugin dev` builds the plugin; not part of what is installed.
    #[serde(default)]
    #[allow(dead_code, reason = "read by `plugin dev`, accepted here so one file serves both")]
    build: Option<toml::Value>,
    /// Written by older SDKs; the exports decide, and a disagreeing value is an error.
    #[serde(default)]
    kind: Option<PluginKind>,
    /// Written by older SDKs; the exports decide, and a disagreeing value is an error.
    #[serde(default)]
    wit: Option<String>,
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
#[serde(deny_unknown_fields)]
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

/// The most memory a plugin's own manifest may ask for, in MiB.
pub const MAX_ASKED_MEMORY_MB: u64 = 512;
/// The most compute per call a plugin's own manifest may ask for, in milliseconds.
pub const MAX_ASKED_TIME_MS: u64 = 10_000;

/// Default limits a plugin declares (an interpreter-based plugin may need more memory or a
/// longer first call than the host's defaults).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Memory, in MiB (1 to [`MAX_ASKED_MEMORY_MB`]).
    pub memory_limit_mb: Option<u64>,
    /// Compute per call, in milliseconds (1 to [`MAX_ASKED_TIME_MS`]).
    pub time_limit_ms: Option<u64>,
}

/// How aish may use a plugin's instances (`[instance]`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InstanceUse {
    /// The plugin keeps nothing of an answer (a stage: of a run) in its globals, so after one
    /// that ended cleanly its instance may serve the next under the same grant. The user's
    /// `[plugins.NAME]` overrides it.
    #[serde(default)]
    pub reuse: bool,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The bytes are not a WebAssembly component.
    #[error("not a WebAssembly component ({0}); build plugins for wasm32-wasip2 as components")]
    NotComponent(String),
    /// The component exports no aish plugin interface.
    #[error(
        "it exports no aish plugin interface (aish:plugin/transport@… or aish:plugin/stage@…); build it against the WIT that `aish plugin wit` writes{0}"
    )]
    NoContract(String),
    /// No manifest anywhere.
    #[error(
        "it carries no manifest: put a plugin.toml beside it (name, version, description, capabilities) or give one with --manifest FILE"
    )]
    Missing,
    /// The manifest is not valid.
    #[error("its manifest ({origin}) is invalid: {why}")]
    Invalid {
        /// Where the manifest came from.
        origin: String,
        /// What is wrong.
        why: String,
    },
}

impl Manifest {
    /// Reads the manifest a component carries, with its kind and contract version from its
    /// exports.
    pub fn from_component(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let parts = Described::read(bytes)?;
        let text = parts.section.ok_or(ManifestError::Missing)?;
        Manifest::parse(&text, SECTION, parts.contract?)
    }

    /// The manifest of a built-in plugin, from its section's text and its exports as the build
    /// read them (see `plugin::parts`).
    pub(crate) fn builtin(section: &str, exports: &[&str]) -> Result<Manifest, ManifestError> {
        Manifest::parse(section, SECTION, contract(exports)?)
    }

    /// The manifest for a component: its own section when it has one, else `text` read from
    /// `origin` (a `plugin.toml` beside it or a file the user named).
    pub fn for_component(bytes: &[u8], text: Option<(&str, &str)>) -> Result<(Manifest, Origin), ManifestError> {
        let parts = Described::read(bytes)?;
        let contract = parts.contract?;
        match (parts.section, text) {
            (Some(section), _) => Ok((Manifest::parse(&section, SECTION, contract)?, Origin::Section)),
            (None, Some((text, origin))) => {
                Ok((Manifest::parse(text, origin, contract)?, Origin::File(text.to_owned())))
            }
            (None, None) => Err(ManifestError::Missing),
        }
    }

    fn parse(text: &str, origin: &str, (kind, wit): (PluginKind, String)) -> Result<Manifest, ManifestError> {
        let invalid = |why: String| ManifestError::Invalid { origin: origin.to_owned(), why };
        let file: ManifestFile = toml::from_str(text).map_err(|e| invalid(toml_error(text, &e)))?;
        let valid_name =
            !file.name.is_empty() && file.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(invalid(format!("`{}` is not a usable plugin name (letters, digits, - and _)", file.name)));
        }
        let said = match (file.kind.filter(|k| *k != kind), file.wit.as_ref().filter(|w| **w != wit)) {
            (Some(k), Some(w)) => Some(format!("kind = \"{k}\" and wit = \"{w}\"")),
            (Some(k), None) => Some(format!("kind = \"{k}\"")),
            (None, Some(w)) => Some(format!("wit = \"{w}\"")),
            (None, None) => None,
        };
        if let Some(said) = said {
            return Err(invalid(format!(
                "it says {said} but the component exports aish:plugin/{kind}@{wit}; drop that key (aish reads it from the exports)"
            )));
        }
        // A plugin may ask for more than the host's defaults, within bounds; only the user's
        // [plugins.NAME] can grant beyond them.
        let bounded = |key: &str, value: Option<u64>, high: u64| match value {
            Some(v) if v == 0 || v > high => Err(invalid(format!(
                "limits.{key} is {v}; a plugin may ask for 1 to {high} (the user can grant more in [plugins.NAME] {key})"
            ))),
            _ => Ok(()),
        };
        bounded("memory_limit_mb", file.limits.memory_limit_mb, MAX_ASKED_MEMORY_MB)?;
        bounded("time_limit_ms", file.limits.time_limit_ms, MAX_ASKED_TIME_MS)?;
        Ok(Manifest {
            name: file.name,
            kind,
            version: file.version,
            wit,
            description: file.description,
            capabilities: file.capabilities,
            limits: file.limits,
            instance: file.instance,
        })
    }
}

/// Where a component's manifest came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Its own custom section.
    Section,
    /// A file: this text, to be embedded when the component is installed.
    File(String),
}

/// What a component's bytes say: its manifest section, if any, and the contract it exports.
struct Described {
    section: Option<String>,
    contract: Result<(PluginKind, String), ManifestError>,
}

impl Described {
    fn read(bytes: &[u8]) -> Result<Described, ManifestError> {
        let parts = super::parts::read(bytes).map_err(ManifestError::NotComponent)?;
        Ok(Described { section: parts.section, contract: contract(&parts.exports) })
    }
}

/// The plugin kind and contract version named by a component's exports.
fn contract<S: std::borrow::Borrow<str>>(exports: &[S]) -> Result<(PluginKind, String), ManifestError> {
    let found: Vec<(PluginKind, String)> = exports
        .iter()
        .filter_map(|name| {
            let (interface, version) = name.borrow().strip_prefix(PACKAGE)?.split_once('@')?;
            let kind = match interface {
                "transport" => PluginKind::Transport,
                "stage" => PluginKind::Stage,
                _ => return None,
            };
            Some((kind, version.to_owned()))
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let seen = if exports.is_empty() { String::new() } else { format!(" (it exports {})", exports.join(", ")) };
            Err(ManifestError::NoContract(seen))
        }
        _ => Err(ManifestError::NoContract(" (it exports more than one; a plugin is one kind)".into())),
    }
}

/// The component with `manifest` appended as its `aish:manifest` custom section, so that the
/// installed file describes itself.
pub fn with_section(bytes: &[u8], manifest: &str) -> Vec<u8> {
    let mut payload = Vec::new();
    leb128(&mut payload, SECTION.len() as u64);
    payload.extend_from_slice(SECTION.as_bytes());
    payload.extend_from_slice(manifest.as_bytes());
    let mut out = Vec::with_capacity(bytes.len() + payload.len() + 6);
    out.extend_from_slice(bytes);
    out.push(0); // custom section id
    leb128(&mut out, payload.len() as u64);
    out.extend_from_slice(&payload);
    out
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A TOML error with the line it is on (`duplicate key` alone names neither the key nor where).
fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span().filter(|s| s.start <= text.len()) else { return error.message().to_owned() };
    let number = text[..span.start].matches('\n').count() + 1;
    let line = text.lines().nth(number - 1).unwrap_or("").trim();
    format!("{} (line {number}: `{line}`)", error.message().trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(name: &str) -> Vec<u8> {
        crate::plugin::BUILTIN_PLUGINS.iter().find(|b| b.name == name).map(|b| b.bytes.to_vec()).unwrap()
    }

    /// What the build read of each built-in plugin is what reading its embedded bytes gives.
    #[test]
    fn built_in_manifests_read_by_the_build_match_their_bytes() {
        assert!(crate::plugin::BUILTIN_PLUGINS.len() >= 9, "every built-in plugin is embedded");
        for builtin in crate::plugin::BUILTIN_PLUGINS {
            let from_bytes = Manifest::from_component(builtin.bytes).expect("a manifest in its bytes");
            assert_eq!(Manifest::builtin(builtin.manifest, builtin.exports).unwrap(), from_bytes, "{}", builtin.name);
            assert_eq!(from_bytes.name, builtin.name);
        }
    }

    #[test]
    fn kind_and_version_come_from_the_exports() {
        let sse = Manifest::from_component(&component("sse")).unwrap();
        assert_eq!((sse.kind, sse.wit.as_str()), (PluginKind::Transport, "0.3.0"));
        let json = Manifest::from_component(&component("json")).unwrap();
        assert_eq!((json.kind, json.wit.as_str()), (PluginKind::Stage, "0.3.0"));
    }

    #[test]
    fn instances_are_reused_only_when_the_manifest_says_so() {
        // The built-in transports say so.
        assert!(Manifest::from_component(&component("sse")).unwrap().instance.reuse);
        let stripped = strip_section(&component("sse"));
        let read = |text: &str| Manifest::for_component(&stripped, Some((text, "plugin.toml"))).map(|(m, _)| m);
        assert!(!read("name = \"a\"\nversion = \"1\"\n").unwrap().instance.reuse, "not by default");
        assert!(read("name = \"a\"\nversion = \"1\"\n[instance]\nreuse = true\n").unwrap().instance.reuse);
        let misspelt = read("name = \"a\"\nversion = \"1\"\n[instance]\nreused = true\n").unwrap_err();
        assert!(misspelt.to_string().contains("unknown field `reused`"), "{misspelt}");
    }

    #[test]
    fn a_manifest_file_is_embedded_and_read_back() {
        let bytes = component("json");
        let text = "name = \"other\"\nversion = \"2.0.0\"\n[limits]\nmemory_limit_mb = 128\n";
        // The component's own section wins over a file.
        let (own, origin) = Manifest::for_component(&bytes, Some((text, "plugin.toml"))).unwrap();
        assert_eq!((own.name.as_str(), origin), ("json", Origin::Section));
        let stripped = strip_section(&bytes);
        let (manifest, origin) = Manifest::for_component(&stripped, Some((text, "plugin.toml"))).unwrap();
        assert_eq!((manifest.name.as_str(), manifest.kind), ("other", PluginKind::Stage));
        assert_eq!(manifest.limits.memory_limit_mb, Some(128));
        let Origin::File(text) = origin else { panic!("from the file") };
        assert_eq!(Manifest::from_component(&with_section(&stripped, &text)).unwrap(), manifest);
        assert!(matches!(Manifest::for_component(&stripped, None), Err(ManifestError::Missing)));
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        let stripped = strip_section(&component("json"));
        let error =
            |text: &str| Manifest::for_component(&stripped, Some((text, "x/plugin.toml"))).unwrap_err().to_string();
        assert!(
            error("name = \"a\"\nversion = \"1\"\nkind = \"transport\"\n").contains("exports aish:plugin/stage@0.3.0")
        );
        assert!(error("name = \"a b\"\nversion = \"1\"\n").contains("`a b` is not a usable plugin name"));
        assert!(error("name = \"a\"\nversion = \"1\"\ncapabilites = {}\n").contains("unknown field `capabilites`"));
        assert!(
            error("name = \"a\"\nversion = \"1\"\n[limits]\nmemory_limit_mb = 0\n")
                .contains("limits.memory_limit_mb is 0")
        );
        assert!(error("name = \"a\"\n").contains("x/plugin.toml"));
        let greedy = error("name = \"a\"\nversion = \"1\"\n[limits]\nmemory_limit_mb = 4096\n");
        assert!(greedy.contains("a plugin may ask for 1 to 512"), "{greedy}");
    }

    #[test]
    fn a_component_exporting_no_plugin_interface_is_named() {
        // A component with no exports at all: just the header.
        let empty = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
        let error = Manifest::for_component(&empty, Some(("name = \"a\"\nversion = \"1\"\n", "f"))).unwrap_err();
        assert!(error.to_string().contains("exports no aish plugin interface"), "{error}");
        assert!(Manifest::from_component(b"\0asm\x01\0\0\0").unwrap_err().to_string().contains("a core module"));
    }

    /// The component without its manifest, as a non-Rust tool would build it: the SDK's
    /// section (inside the core module) renamed, which leaves the component valid.
    fn strip_section(bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        let at = out.windows(SECTION.len()).position(|w| w == SECTION.as_bytes()).expect("a manifest section");
        out[at + SECTION.len() - 1] = b'X';
        assert!(out.windows(SECTION.len()).all(|w| w != SECTION.as_bytes()), "only one");
        out
    }

    #[test]
    fn a_toml_error_names_its_line() {
        let text = "name = \"a\"\nkind = \"stage\"\nkind = \"stage\"\n";
        let error = toml::from_str::<toml::Table>(text).unwrap_err();
        let why = toml_error(text, &error);
        assert!(why.contains("duplicate key") && why.contains("line 3: `kind = \"stage\"`"), "{why}");
    }
}
