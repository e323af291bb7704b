//! `aish plugin list | info | add | remove`: the command line's face of `aish::plugin::manage`.

use std::path::Path;

use aish::plugin::manage::{self, Action};
use aish::transport::Connector;

use super::{EXIT_FAILED, EXIT_OK, PluginAction, for_stderr, for_stdout};

/// Runs a plugin subcommand, printing to stdout and errors to stderr; returns the exit status.
pub fn run(connector: &Connector, plugin_dir: &Path, action: &PluginAction) -> u8 {
    let action = match action {
        PluginAction::List => Action::List,
        PluginAction::Info { name } => Action::Info { name: name.clone() },
        PluginAction::Add { path, name } => Action::Add { path: path.clone(), name: name.clone() },
        PluginAction::Remove { name } => Action::Remove { name: name.clone() },
    };
    match manage::run(connector, plugin_dir, &action) {
        Ok(text) => {
            print!("{}", for_stdout(&text));
            EXIT_OK
        }
        Err(message) => {
            eprintln!("error: {}", for_stderr(&message));
            EXIT_FAILED
        }
    }
}
