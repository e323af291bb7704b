//! The names the shell knows, for highlighting and completion.

use aish::plugin::PluginKind;
use aish::transport::Connector;

/// What a command name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A configured AI.
    Ai,
    /// A built-in command.
    Builtin,
    /// `echo` or `team-chat`.
    Keyword,
    /// A stage plugin.
    Stage,
    /// Nothing aish knows.
    Unknown,
}

/// Every name a command can have, by kind.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    /// AI names with their transports.
    pub ais: Vec<(String, String)>,
    /// Built-in command names.
    pub builtins: Vec<String>,
    /// Stage plugin names.
    pub stages: Vec<String>,
    /// Transport plugin names.
    pub transports: Vec<String>,
}

/// Words that start pipelines.
pub const KEYWORDS: &[&str] = &["echo", "team-chat"];

impl Vocabulary {
    /// The names known to `connector`.
    pub fn new(connector: &Connector) -> Self {
        // The same registry the dispatcher runs built-ins from.
        let builtins = aish::commands::builtin_names().map(str::to_owned).collect();
        Vocabulary {
            ais: connector.config().ai.iter().map(|(name, ai)| (name.clone(), ai.transport.clone())).collect(),
            builtins,
            stages: connector.registry().names_of(PluginKind::Stage),
            transports: connector.registry().names_of(PluginKind::Transport),
        }
    }

    /// What `word` is, in command position.
    pub fn classify(&self, word: &str) -> Kind {
        if self.ais.iter().any(|(name, _)| name == word) {
            Kind::Ai
        } else if KEYWORDS.contains(&word) {
            Kind::Keyword
        } else if self.builtins.iter().any(|b| b == word)
            || word.strip_prefix('!').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        {
            Kind::Builtin
        } else if self.stages.iter().any(|s| s == word) {
            Kind::Stage
        } else {
            Kind::Unknown
        }
    }
}
