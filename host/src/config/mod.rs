//! The configuration: which AIs exist, how to reach them, and what each plugin may do.

mod paths;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use paths::{Paths, private_dir, private_file, read_small_text};

/// A configuration error: names the file, the key and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("config error in {}{}: {message}", file.display(), key.as_deref().map(|k| format!(" at `{k}`")).unwrap_or_default())]
pub struct ConfigError {
    /// The file that was read.
    pub file: PathBuf,
    /// The key that is wrong, when one is.
    pub key: Option<String>,
    /// What is wrong, and what to do.
    pub message: String,
}

/// How to reach one AI.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AiConfig {
    /// The endpoint.
    pub url: String,
    /// The transport plugin (`sse` unless said otherwise).
    #[serde(default = "default_transport")]
    pub transport: String,
    /// What the transport speaks on the wire.
    #[serde(default = "default_dialect")]
    pub dialect: String,
    /// The model passed to the backend.
    pub model: Option<String>,
    /// The environment variable that holds the API key.
    pub api_key_env: Option<String>,
    /// Transports tried, in order, when streaming is unavailable.
    #[serde(default)]
    pub fallback: Vec<String>,
    /// Whether to ask for a streamed answer (default true).
    pub stream: Option<bool>,
    /// Dialect settings passed to the plugin (`temperature`, `max_tokens`, `context_id`, ...).
    #[serde(default)]
    pub settings: toml::Table,
    /// Reconnecting a stream cut before its end.
    #[serde(default)]
    pub reconnect: ReconnectConfig,
    /// The heartbeat interval in ms (default 25 000); no byte for twice this long is a dead connection.
    pub heartbeat_ms: Option<u64>,
    /// The AI's system prompt (its persona), sent first in every request.
    pub system: Option<String>,
    /// A file holding the system prompt, relative to the config file (read at load into `system`).
    pub system_file: Option<PathBuf>,
    /// The most tokens of conversation sent (default per dialect); oldest turns go first.
    pub max_context_tokens: Option<u64>,
    /// Keep no conversation for this AI (each request stands alone).
    #[serde(default)]
    pub stateless: bool,
    /// The longest answer kept, in MiB (default 256); a longer one ends with an error that
    /// keeps what arrived.
    pub max_answer_mb: Option<u64>,
    /// The longest one whole answer may take, in seconds (default: no bound).
    pub timeout_s: Option<u64>,
}

/// How a cut stream is reconnected: exponential backoff with jitter.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectConfig {
    /// How many times to reconnect one answer (0: never).
    pub attempts: u32,
    /// The first delay, in ms (the server's SSE `retry` or `Retry-After` wins when given).
    pub initial_delay_ms: u64,
    /// The longest delay, in ms.
    pub max_delay_ms: u64,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig { attempts: 3, initial_delay_ms: 500, max_delay_ms: 10_000 }
    }
}

impl AiConfig {
    /// An AI at `url` through `transport` in `dialect`, everything else as the defaults.
    pub fn new(url: String, transport: &str, dialect: &str) -> Self {
        AiConfig {
            url,
            transport: transport.to_owned(),
            dialect: dialect.to_owned(),
            model: None,
            api_key_env: None,
            fallback: Vec::new(),
            stream: None,
            settings: Default::default(),
            reconnect: Default::default(),
            heartbeat_ms: None,
            system: None,
            system_file: None,
            max_context_tokens: None,
            stateless: false,
            max_answer_mb: None,
            timeout_s: None,
        }
    }
}

fn default_transport() -> String {
    "sse".to_owned()
}

fn default_dialect() -> String {
    "aish".to_owned()
}

/// What one plugin may do.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Hosts the plugin may reach, as `host:port` patterns (`*` matches any port, `*.` any
    /// subdomain). Default: the hosts of the AIs configured to use the plugin.
    pub allow_hosts: Option<Vec<String>>,
    /// Most memory the plugin may use, in MiB (default 64).
    pub memory_limit_mb: Option<u64>,
    /// Most time the plugin may compute without returning or waiting on I/O, in ms (default 2000).
    pub time_limit_ms: Option<u64>,
    /// Whether a native plugin of this name may be loaded (native code runs unsandboxed):
    /// `"sha256:<hex>"` pins the library's content; `true` is the deprecated unpinned form.
    #[serde(default)]
    pub trusted: Trust,
    /// A PEM file of extra root certificates the plugin's TLS trusts (a private CA), besides
    /// the web's; relative to the config file.
    pub ca_file: Option<PathBuf>,
    /// Whether the plugin's instance may serve the next answer (a stage's, the next run) after
    /// one that ended cleanly (default: what its manifest's `[instance] reuse` says).
    pub reuse_instance: Option<bool>,
}

/// Whether a native plugin may be loaded: `[plugins.NAME] trusted = "sha256:<hex>"`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Trust {
    /// Not trusted (no `trusted`, or `trusted = false`).
    #[default]
    No,
    /// `trusted = true`: whatever the file holds (deprecated; loaded with a warning).
    Unpinned,
    /// `trusted = "sha256:<hex>"`: the library whose content has this SHA-256, and no other.
    Sha256([u8; 32]),
}

impl Trust {
    /// Reads the value of `trusted`.
    pub fn from_toml(value: &toml::Value) -> Result<Trust, String> {
        let wrong = || {
            format!(
                "`trusted` must be \"sha256:\" and the library's 64 hex digits (the line `aish plugin add` printed), or false; it is {value}"
            )
        };
        match value {
            toml::Value::Boolean(false) => Ok(Trust::No),
            toml::Value::Boolean(true) => Ok(Trust::Unpinned),
            toml::Value::String(text) => {
                let hex = text.strip_prefix("sha256:").filter(|h| h.len() == 64).ok_or_else(wrong)?;
                let mut digest = [0u8; 32];
                for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
                    let pair = std::str::from_utf8(pair).map_err(|_| wrong())?;
                    *byte = u8::from_str_radix(pair, 16).map_err(|_| wrong())?;
                }
                Ok(Trust::Sha256(digest))
            }
            _ => Err(wrong()),
        }
    }
}

impl<'de> Deserialize<'de> for Trust {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Trust::from_toml(&toml::Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// How the interactive shell behaves.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShellConfig {
    /// Line editing keys: `emacs` (default) or `vi`.
    #[serde(default)]
    pub edit_mode: EditMode,
    /// The prompt before `> ` (default `aish`, or `aish demo` on the demo AIs).
    pub prompt: Option<String>,
    /// Colours on a terminal (default true; `NO_COLOR` turns them off as well).
    pub color: Option<bool>,
    /// How final answers show on a terminal: `markdown` (default) or `plain`.
    #[serde(default)]
    pub render: Render,
}

/// How a final answer is shown on a terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Render {
    /// Rendered as Markdown while it streams (the default).
    #[default]
    Markdown,
    /// As received (still sanitised).
    Plain,
}

/// Line editing keys.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub enum EditMode {
    /// Emacs keys (the default).
    #[default]
    Emacs,
    /// Vi keys.
    Vi,
}

// Read from text, so that a value of the wrong type (`edit_mode = 7`) is told as such, and an
// unknown one with the values to choose from.
impl TryFrom<String> for Render {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "markdown" => Ok(Render::Markdown),
            "plain" => Ok(Render::Plain),
            _ => Err(format!("`render` is `{value}`: use \"markdown\" or \"plain\"")),
        }
    }
}

impl TryFrom<String> for EditMode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "emacs" => Ok(EditMode::Emacs),
            "vi" => Ok(EditMode::Vi),
            _ => Err(format!("`edit_mode` is `{value}`: use \"emacs\" or \"vi\"")),
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// AIs by the name pipelines use.
    pub ai: BTreeMap<String, AiConfig>,
    /// Plugin settings by plugin name.
    pub plugins: BTreeMap<String, PluginConfig>,
    /// The interactive shell.
    pub shell: ShellConfig,
}

/// The largest config file or system prompt file read (1 MiB): far more than either needs.
const SMALL_FILE: u64 = 1 << 20;

impl Config {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_small_text(path, SMALL_FILE).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            key: None,
            message: format!("cannot read it: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Reads the config file if there is one; `None` when there is none.
    pub fn load_optional(path: &Path) -> Result<Option<Config>, ConfigError> {
        match path.try_exists() {
            Ok(false) => Ok(None),
            _ => Self::load(path).map(Some),
        }
    }

    /// Parses config text; `path` is named in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let error = |key: Option<String>, message: String| ConfigError { file: path.to_path_buf(), key, message };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e.span().map(|s| text[..s.start].lines().count().max(1));
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            error(None, format!("{at}{} (fix the TOML syntax)", e.message().trim()))
        })?;
        let mut config = Config { source: Some(path.to_path_buf()), ..Config::default() };
        for (key, value) in table {
            match key.as_str() {
                "ai" => {
                    for (name, ai) in section(&key, value).map_err(|m| error(Some(key.clone()), m))? {
                        let key = format!("ai.{name}");
                        check_name(&name).map_err(|m| error(Some(key.clone()), m))?;
                        let mut ai: AiConfig = typed(&key, ai).map_err(|(key, m)| error(Some(key), m))?;
                        validate_ai(&ai).map_err(|(field, m)| error(Some(format!("{key}.{field}")), m))?;
                        read_system_file(&mut ai, path).map_err(|m| error(Some(format!("{key}.system_file")), m))?;
                        config.ai.insert(name, ai);
                    }
                }
                "plugins" => {
                    for (name, plugin) in section(&key, value).map_err(|m| error(Some(key.clone()), m))? {
                        let key = format!("plugins.{name}");
                        if let Some(trusted) = plugin.get("trusted") {
                            Trust::from_toml(trusted).map_err(|m| error(Some(format!("{key}.trusted")), m))?;
                        }
                        let mut plugin: PluginConfig = typed(&key, plugin).map_err(|(key, m)| error(Some(key), m))?;
                        if let (Some(file), Some(dir)) = (&plugin.ca_file, path.parent()) {
                            plugin.ca_file = Some(dir.join(file));
                        }
                        // A certificate file that is not there is named now, not at first use.
                        if let Some(file) = &plugin.ca_file
                            && let Err(e) = std::fs::File::open(file)
                        {
                            return Err(error(
                                Some(format!("{key}.ca_file")),
                                format!("cannot read {}: {e}", file.display()),
                            ));
                        }
                        within(
                            "memory_limit_mb",
                            plugin.memory_limit_mb,
                            1,
                            4096,
                            "MiB (a plugin addresses 4 GiB at most)",
                        )
                        .and_then(|()| within("time_limit_ms", plugin.time_limit_ms, 1, 3_600_000, "ms"))
                        .map_err(|(field, m)| error(Some(format!("{key}.{field}")), m))?;
                        // A bad pattern is named now, not when the plugin is first used.
                        if let Some(hosts) = &plugin.allow_hosts {
                            crate::plugin::capabilities::AllowList::parse(hosts)
                                .map_err(|e| error(Some(format!("{key}.allow_hosts")), e.to_string()))?;
                        }
                        config.plugins.insert(name, plugin);
                    }
                }
                "shell" => {
                    config.shell = typed(&key, value).map_err(|(key, m)| error(Some(key), m))?;
                }
                other => {
                    return Err(error(
                        Some(other.to_owned()),
                        "unknown section; aish reads [ai.NAME], [plugins.NAME] and [shell]".into(),
                    ));
                }
            }
        }
        Ok(config)
    }

    /// The settings of a plugin (defaults when the config says nothing).
    pub fn plugin(&self, name: &str) -> PluginConfig {
        self.plugins.get(name).cloned().unwrap_or_default()
    }

    /// Whether plugin `name`'s instance may serve the next answer (or stage run) after one that
    /// ended cleanly: the user's `reuse_instance`, else what its manifest `says`.
    pub fn reuse_instance(&self, name: &str, says: bool) -> bool {
        self.plugins.get(name).and_then(|p| p.reuse_instance).unwrap_or(says)
    }

    /// The hosts a plugin may reach: what the user allowed, else the hosts of the AIs that use it.
    pub fn allowed_hosts(&self, plugin: &str) -> Vec<String> {
        if let Some(hosts) = self.plugins.get(plugin).and_then(|p| p.allow_hosts.clone()) {
            return hosts;
        }
        self.ai
            .values()
            .filter(|ai| ai.transport == plugin || ai.fallback.iter().any(|f| f == plugin))
            .filter_map(|ai| crate::plugin::capabilities::host_pattern_of(&ai.url))
            .fold(Vec::new(), |mut hosts, host| {
                if !hosts.contains(&host) {
                    hosts.push(host);
                }
                hosts
            })
    }
}

/// Reads the table at `key` as a `T`; on a bad value, the whole key that holds it (`ai.x.url`,
/// not `ai.x`) and what is wrong with it.
fn typed<T: serde::de::DeserializeOwned>(key: &str, value: toml::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let key = if inner == "." { key.to_owned() } else { format!("{key}.{inner}") };
        (key, e.into_inner().message().to_owned())
    })
}

fn section(key: &str, value: toml::Value) -> Result<toml::Table, String> {
    match value {
        toml::Value::Table(t) => Ok(t),
        _ => Err(format!("`{key}` must be a table of tables, like [{key}.NAME]")),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-');
    if ok { Ok(()) } else { Err(format!("`{name}` is not a usable AI name: use letters, digits, `-` and `_`")) }
}

/// Reads `system_file` (relative to the config file) into `system`.
fn read_system_file(ai: &mut AiConfig, config_path: &Path) -> Result<(), String> {
    let Some(file) = &ai.system_file else { return Ok(()) };
    if ai.system.is_some() {
        return Err("give `system` or `system_file`, not both".into());
    }
    let file = config_path.parent().map_or_else(|| file.clone(), |dir| dir.join(file));
    let text = read_small_text(&file, SMALL_FILE).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    ai.system = Some(text.trim_end().to_owned());
    ai.system_file = Some(file);
    Ok(())
}

impl AiConfig {
    /// The most bytes of answer kept (`max_answer_mb`, default 256 MiB).
    pub fn max_answer_bytes(&self) -> u64 {
        self.max_answer_mb.unwrap_or(DEFAULT_MAX_ANSWER_MB) << 20
    }

    /// The most tokens of conversation a request to this AI carries.
    pub fn context_limit(&self) -> u64 {
        self.max_context_tokens.unwrap_or_else(|| crate::conversation::default_limit(&self.dialect))
    }
}

/// The longest answer kept when the config says nothing, in MiB.
const DEFAULT_MAX_ANSWER_MB: u64 = 256;

/// Checks that a number from the config is within what aish can use, so an absurd value is a
/// config error naming the key, not an overflow or a hang later.
/// A number outside `low..=high`: the key under its table, and what to give instead.
fn within(key: &str, value: Option<u64>, low: u64, high: u64, unit: &str) -> Result<(), (String, String)> {
    match value {
        Some(v) if v < low || v > high => Err((key.to_owned(), format!("`{key}` is {v}; give {low} to {high} {unit}"))),
        _ => Ok(()),
    }
}

/// Checks an AI's values: on a bad one, its key under `[ai.NAME]` and what is wrong.
fn validate_ai(ai: &AiConfig) -> Result<(), (String, String)> {
    within("heartbeat_ms", ai.heartbeat_ms, 100, 3_600_000, "ms (up to an hour)")?;
    within("max_answer_mb", ai.max_answer_mb, 1, 4096, "MiB")?;
    within("timeout_s", ai.timeout_s, 1, 604_800, "seconds (up to a week)")?;
    within("max_context_tokens", ai.max_context_tokens, 1, 100_000_000, "tokens")?;
    within("reconnect.attempts", Some(u64::from(ai.reconnect.attempts)), 0, 100, "attempts")?;
    within("reconnect.initial_delay_ms", Some(ai.reconnect.initial_delay_ms), 0, 3_600_000, "ms")?;
    within("reconnect.max_delay_ms", Some(ai.reconnect.max_delay_ms), 0, 3_600_000, "ms")?;

    if ai.url.trim().is_empty() {
        return Err(("url".into(), "`url` is empty".into()));
    }
    // Any URL: a transport plugin may take schemes of its own.
    if let Err(e) = reqwest::Url::parse(&ai.url) {
        return Err(("url".into(), format!("`url` is `{}`, not a URL ({e}): give one like https://host/path", ai.url)));
    }
    if let Some(var) = &ai.api_key_env
        && var.trim().is_empty()
    {
        return Err((
            "api_key_env".into(),
            "`api_key_env` is empty: name the environment variable that holds the key".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/tmp/config.toml"))
    }

    #[test]
    fn full_example_from_the_spec() {
        let config = parse(
            r#"
[ai.apollo]
url = "http://127.0.0.1:4000/v1/chat/completions"
transport = "sse"
dialect = "openai"
model = "gpt-4o-mini"
api_key_env = "OPENAI_API_KEY"
fallback = ["http"]

[plugins.sse]
allow_hosts = ["127.0.0.1:*", "api.openai.com:443"]
"#,
        )
        .unwrap();
        let apollo = &config.ai["apollo"];
        assert_eq!(apollo.dialect, "openai");
        assert_eq!(apollo.fallback, vec!["http"]);
        assert_eq!(config.allowed_hosts("sse"), vec!["127.0.0.1:*", "api.openai.com:443"]);
    }

    #[test]
    fn shell_section() {
        let config = parse("[shell]\nedit_mode = \"vi\"\nprompt = \"ai\"\ncolor = false\n").unwrap();
        assert_eq!(
            config.shell,
            ShellConfig {
                edit_mode: EditMode::Vi,
                prompt: Some("ai".into()),
                color: Some(false),
                render: Render::Markdown
            }
        );
        let err = parse("[shell]\nedit_mode = \"nano\"\n").unwrap_err().to_string();
        assert!(
            err.contains("at `shell.edit_mode`") && err.contains("`edit_mode` is `nano`: use \"emacs\" or \"vi\""),
            "{err}"
        );
        let err = parse("[shell]\nedit_mode = 7\n").unwrap_err().to_string();
        assert!(err.contains("at `shell.edit_mode`") && err.contains("integer `7`, expected a string"), "{err}");
    }

    #[test]
    fn defaults_and_derived_allow_list() {
        let config = parse("[ai.a]\nurl = \"http://localhost:9000/x\"\n").unwrap();
        assert_eq!(config.ai["a"].transport, "sse");
        assert_eq!(config.ai["a"].dialect, "aish");
        assert_eq!(config.allowed_hosts("sse"), vec!["localhost:9000"]);
        assert!(config.allowed_hosts("websocket").is_empty());
    }

    #[test]
    fn errors_name_file_key_and_problem() {
        let err = parse("[ai.apollo]\nurl = \"http://x\"\ntrasnport = \"sse\"\n").unwrap_err().to_string();
        assert!(err.contains("/tmp/config.toml") && err.contains("ai.apollo") && err.contains("trasnport"), "{err}");
        let err = parse("[ai.apollo]\ntransport = \"sse\"\n").unwrap_err().to_string();
        assert!(err.contains("ai.apollo") && err.contains("url"), "{err}");
        let err = parse("[ai.apollo\nurl=1").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let err = parse("[colours]\n").unwrap_err().to_string();
        assert!(err.contains("colours"), "{err}");
        let err = parse("[ai.\"bad name\"]\nurl = \"http://x\"\n").unwrap_err().to_string();
        assert!(err.contains("bad name"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_whole_key() {
        for (text, key, what) in [
            ("[ai.x]\nurl = 5\n", "ai.x.url", "expected a string"),
            ("[ai.x]\nurl = \"http://x\"\ntimeout_s = \"x\"\n", "ai.x.timeout_s", "string \"x\", expected u64"),
            ("[ai.x]\nurl = \"http://x\"\nstateless = \"no\"\n", "ai.x.stateless", "boolean"),
            ("[ai.x]\nurl = \"http://x\"\nfallback = \"http\"\n", "ai.x.fallback", "sequence"),
            ("[ai.x]\nurl = \"http://x\"\nfallback = [\"http\", 2]\n", "ai.x.fallback[1]", "string"),
            ("[ai.x]\nurl = \"http://x\"\n[ai.x.reconnect]\nattempts = -1\n", "ai.x.reconnect.attempts", "-1"),
            ("[shell]\ncolor = \"yes\"\n", "shell.color", "boolean"),
            ("[plugins.sse]\nmemory_limit_mb = \"big\"\n", "plugins.sse.memory_limit_mb", "string \"big\""),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("config error in /tmp/config.toml at `{key}`: ")), "{text:?}: {err}");
            assert!(err.contains(what), "{text:?}: {err}");
        }
        // A key the table does not have is named itself, with the keys it may have.
        let err = parse("[ai.x]\nurl = \"http://x\"\nmodle = \"m\"\n").unwrap_err().to_string();
        assert!(err.contains("at `ai.x.modle`: unknown field `modle`, expected one of `url`"), "{err}");
    }

    #[test]
    fn trusted_pins_a_sha256_and_a_malformed_value_names_the_key() {
        let hex = "9AD12e908b172832c681ebc9d38ecd5ed6a1626f7f57c811f430e4645a76f5ca";
        let config = parse(&format!("[plugins.upper]\ntrusted = \"sha256:{hex}\"\n")).unwrap();
        let Trust::Sha256(digest) = config.plugin("upper").trusted else { panic!("pinned") };
        assert_eq!((digest[0], digest[31]), (0x9a, 0xca));
        assert_eq!(parse("[plugins.upper]\ntrusted = true\n").unwrap().plugin("upper").trusted, Trust::Unpinned);
        assert_eq!(parse("[plugins.upper]\ntrusted = false\n").unwrap().plugin("upper").trusted, Trust::No);
        assert_eq!(parse("").unwrap().plugin("upper").trusted, Trust::No);
        for bad in [
            "\"yes\"",
            "\"sha256:abc\"",
            "\"sha512:00\"",
            "1",
            "\"sha256:1é0000000000000000000000000000000000000000000000000000000000000\"",
        ] {
            let err = parse(&format!("[plugins.upper]\ntrusted = {bad}\n")).unwrap_err().to_string();
            assert!(err.starts_with("config error in /tmp/config.toml at `plugins.upper.trusted`: "), "{err}");
        }
    }
}
