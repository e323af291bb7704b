//! Start-up: where files are, the config (or the embedded demo default), plugins, the runtime.

use std::path::Path;
use std::sync::Arc;

use crate::demo::DemoServer;
use aish::config::{Config, ConfigError, Paths};
use aish::plugin::{Registry, Runtime};
use aish::transport::Connector;

/// Everything a command needs.
pub struct App {
    /// Where files are.
    pub paths: Paths,
    /// Plugins, config and runtime together.
    pub connector: Connector,
    /// The demo server, when the embedded default is in use.
    pub demo: Option<DemoServer>,
    /// Problems met on the way that did not stop start-up (a broken user plugin).
    pub warnings: Vec<String>,
}

/// Why aish could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The demo server could not listen.
    #[error("cannot start the demo AIs on 127.0.0.1: {0}")]
    Demo(std::io::Error),
}

/// A warning for each AI whose transport (or fallback) is no installed transport plugin: not an
/// error, since `aish plugin add` may be about to install it, but said before the AI fails.
fn missing_transports(config: &Config, registry: &Registry) -> Vec<String> {
    let installed = registry.names_of(aish::plugin::PluginKind::Transport);
    let mut warnings = Vec::new();
    for (name, ai) in &config.ai {
        for (key, transport) in
            std::iter::once(("transport", &ai.transport)).chain(ai.fallback.iter().map(|f| ("fallback", f)))
        {
            if !installed.contains(transport) {
                warnings.push(format!(
                    "[ai.{name}] {key} `{transport}` is no installed transport plugin (installed: {}); {name} fails until one by that name is added",
                    installed.join(", ")
                ));
            }
        }
    }
    warnings
}

/// A warning for each `[plugins.NAME]` section that names no installed plugin (a typo, or a
/// plugin not added yet): its settings apply to nothing until one by that name is added.
fn unknown_plugin_sections(config: &Config, registry: &Registry) -> Vec<String> {
    // Native stage plugins count, whether or not they are trusted to load.
    let mut installed = registry.names_of(aish::plugin::PluginKind::Transport);
    installed.extend(registry.names_of(aish::plugin::PluginKind::Stage));
    let known: Vec<&str> = installed.iter().map(String::as_str).collect();
    let mut warnings = Vec::new();
    for name in config.plugins.keys().filter(|name| !known.contains(&name.as_str())) {
        let hint = aish::pipeline::did_you_mean(name, &known);
        warnings.push(format!(
            "[plugins.{name}] names no installed plugin{hint}; its settings apply to nothing until one by that name is added"
        ));
    }
    warnings
}

/// A warning for each AI named like a built-in (which runs when the name is unquoted) or a stage
/// plugin (which the AI hides): either way one of the two is out of reach as written.
fn shadowed_names(config: &Config, registry: &Registry) -> Vec<String> {
    let keywords = ["echo", "team-chat"];
    let mut warnings = Vec::new();
    for name in config.ai.keys() {
        if keywords.contains(&name.as_str()) || aish::commands::builtin_names().any(|b| b == name) {
            warnings.push(format!(
                "[ai.{name}] is named like the built-in `{name}`, which runs when the name is unquoted: \
                 write '{name}' to reach the AI, or rename it"
            ));
        } else if registry.is_stage(name) {
            warnings
                .push(format!("[ai.{name}] hides the stage plugin `{name}` in pipelines: rename the AI to use both"));
        }
    }
    warnings
}

impl App {
    /// Starts with the config at `config_path` (or the default file) and the AIs of the Tekton
    /// Rhetor at `rhetor`, if any. `lenient` keeps going on a config error with the defaults,
    /// reporting it as a warning (the interactive shell).
    pub async fn start(config_path: Option<&Path>, rhetor: Option<&str>, lenient: bool) -> Result<App, StartError> {
        let paths = Paths::from_env();
        let mut warnings = Vec::new();
        if let Err(e) = paths.tighten() {
            warnings.push(format!("cannot make aish's directories owner-only: {e}"));
        }
        if let Err(e) = aish::history::History::new(&paths.data_dir, Vec::new()).tighten() {
            warnings.push(e.to_string());
        }
        let loaded = match config_path {
            Some(path) => Config::load(path).map(Some),
            None => Config::load_optional(&paths.config_file()),
        };
        let mut config = match loaded {
            Ok(config) => config.unwrap_or_default(),
            Err(e) if lenient => {
                warnings.push(format!("{e}; starting with the defaults"));
                Config::default()
            }
            Err(e) => return Err(e.into()),
        };
        let rhetor = rhetor.map(str::to_owned).or_else(|| {
            std::env::var("TEKTON_RHETOR_PORT").ok().filter(|p| !p.is_empty()).map(|p| format!("http://localhost:{p}"))
        });
        if let Some(url) = rhetor {
            match super::rhetor::discover(&url).await {
                Ok(ais) => {
                    for (name, ai) in ais {
                        config.ai.entry(name).or_insert(ai);
                    }
                }
                Err(e) => warnings.push(e),
            }
        }
        let demo = if config.ai.is_empty() {
            let demo = DemoServer::start().await.map_err(StartError::Demo)?;
            config.ai = demo.config().ai;
            Some(demo)
        } else {
            None
        };
        let (registry, plugin_warnings) = Registry::discover(&paths.plugin_dir());
        warnings.extend(plugin_warnings);
        warnings.extend(missing_transports(&config, &registry));
        warnings.extend(shadowed_names(&config, &registry));
        warnings.extend(unknown_plugin_sections(&config, &registry));
        let runtime = Runtime::new(Some(paths.component_cache_dir()));
        let connector = Connector::new(Arc::new(runtime), Arc::new(registry), Arc::new(config));
        Ok(App { paths, connector, demo, warnings })
    }

    /// The config in use.
    pub fn config(&self) -> &Config {
        self.connector.config()
    }

    /// The history, with the values of every configured API key variable kept out of it.
    pub fn history(&self) -> aish::history::History {
        let secrets = self
            .config()
            .ai
            .values()
            .filter_map(|ai| ai.api_key_env.as_deref())
            .filter_map(|var| std::env::var(var).ok())
            .collect();
        aish::history::History::new(&self.paths.data_dir, secrets)
    }
}
