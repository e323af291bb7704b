//! `aish plugin list | info | add | remove | wit | new | dev`: the command line's face of
//! `aish::plugin::manage` and `aish::plugin::author`.

use std::path::Path;

use aish::plugin::PluginKind;
use aish::plugin::author::{self, Language};
use aish::plugin::manage::{self, Action};
use aish::transport::Connector;

use super::{EXIT_FAILED, EXIT_OK, PluginAction, for_stderr, for_stdout, write_out};

/// Runs a plugin subcommand, printing to stdout and errors to stderr; returns the exit status.
pub async fn run(connector: &Connector, plugin_dir: &Path, action: &PluginAction) -> u8 {
    let action = match action {
        PluginAction::List => Action::List,
        PluginAction::Info { name } => Action::Info { name: name.clone() },
        PluginAction::Add { path, name, manifest } => {
            Action::Add { path: path.clone(), name: name.clone(), manifest: manifest.clone() }
        }
        PluginAction::Remove { name } => Action::Remove { name: name.clone() },
        PluginAction::Wit { dir } => return report(author::write_wit(dir)),
        PluginAction::New { name, kind, lang, dir } => {
            let kind = if kind == "stage" { PluginKind::Stage } else { PluginKind::Transport };
            let Some(language) = Language::parse(lang) else { return report(Err(format!("no language `{lang}`"))) };
            return report(author::new_plugin(dir, name, kind, language));
        }
        PluginAction::Dev { dir } => return dev(connector, plugin_dir, dir).await,
    };
    report(manage::run(connector, plugin_dir, &action))
}

/// Prints a report to stdout, or the error to stderr; the exit status.
fn report(result: Result<String, String>) -> u8 {
    match result {
        Ok(text) => write_out(&mut std::io::stdout().lock(), &for_stdout(&text)).err().unwrap_or(EXIT_OK),
        Err(message) => {
            eprintln!("error: {}", for_stderr(&message));
            EXIT_FAILED
        }
    }
}

/// `aish plugin dev DIR`: builds and installs now, then on every change, until interrupted. The
/// builds run on the watch's thread, so that Ctrl-C, which this one waits for, ends a long
/// first build too: ending the watch stops the build it runs (a build has a process group of
/// its own, which Ctrl-C does not reach).
async fn dev(connector: &Connector, plugin_dir: &Path, dir: &Path) -> u8 {
    // Caught from before the first build starts: a Ctrl-C in between would end aish at once,
    // leaving that build running.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let started = manage::start_dev(connector, plugin_dir, dir, |result| match result {
        Ok(text) => {
            let _ = write_out(&mut std::io::stdout().lock(), &for_stdout(&text));
        }
        Err(failed) if failed.last_good_kept => {
            eprintln!("error: {}\nthe last good version stays installed", for_stderr(&failed.error));
        }
        Err(failed) => eprintln!("error: {}\nfix the errors and save", for_stderr(&failed.error)),
    });
    let watch = match started {
        Ok(watch) => watch,
        Err(e) => {
            eprintln!("error: {}", for_stderr(&e));
            return EXIT_FAILED;
        }
    };
    let watching = format!("building {0}; watching {0} for changes; Ctrl-C stops\n", dir.display());
    let _ = write_out(&mut std::io::stdout().lock(), &watching);
    match &mut interrupt {
        Some(interrupt) => {
            interrupt.recv().await;
        }
        // No signal handling: wait until the process is ended.
        None => std::future::pending::<()>().await,
    }
    drop(watch);
    EXIT_OK
}
