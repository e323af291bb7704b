//! The command line (SPEC section 1): flags defined once, and what each form runs.

mod app;
mod history_cmd;
mod plugin_cmd;
mod probe;
mod rhetor;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use app::{App, StartError};
pub use history_cmd::run as run_history_command;
pub use plugin_cmd::run as run_plugin_command;
pub use probe::run as run_probe;

/// Outside text for stdout: sanitised when stdout is a terminal, as it is for a pipe or file.
pub fn for_stdout(text: &str) -> std::borrow::Cow<'_, str> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() { aish::text::sanitize(text) } else { text.into() }
}

/// Outside text for stderr: sanitised when stderr is a terminal.
pub fn for_stderr(text: &str) -> std::borrow::Cow<'_, str> {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() { aish::text::sanitize(text) } else { text.into() }
}

/// Writes the command line's own output (a report, an export line, a probe event) and flushes
/// it. `Err` says to stop writing, with the exit status: 0 when the reader went away (`| head`
/// is no error), 1 for any other refusal (a full disk), said once on stderr.
pub fn write_out(out: &mut impl std::io::Write, text: &str) -> Result<(), u8> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(EXIT_OK),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            Err(EXIT_FAILED)
        }
    }
}

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: a stage failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: a usage, syntax or config error.
pub const EXIT_USAGE: u8 = 2;
/// Ctrl-C stopped the line (128 + SIGINT, as a shell reports a command killed by it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// aish: an interactive shell for talking to AI services and chaining them.
#[derive(Debug, Parser)]
#[command(name = "aish", version, about, args_conflicts_with_subcommands = true)]
#[command(
    after_help = "Examples:\n  aish                                the interactive shell\n  aish -c 'echo \"an idea\" | apollo | athena'\n                                      one line, then exit\n  aish apollo what is a monad         one-shot\n  echo notes | aish hermes            one-shot from standard input\n  aish script.aish                    one line each, # comments"
)]
pub struct Cli {
    /// Runs one line (a pipeline or a built-in) and exits.
    #[arg(short = 'c', value_name = "LINE", conflicts_with = "args")]
    pub command: Option<String>,

    /// Reads this config file instead of the default one.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Asks every AI for a whole answer instead of a stream.
    #[arg(long, global = true)]
    pub no_stream: bool,

    /// Shows answers on a terminal as received (sanitised), without Markdown rendering.
    #[arg(long, global = true)]
    pub plain: bool,

    /// Resumes the most recent session's conversations (from the history).
    #[arg(short = 'C', long = "continue", global = true, conflicts_with = "session")]
    pub resume: bool,

    /// Resumes the conversations of session ID (`session` shows a session's id).
    #[arg(long, value_name = "ID", global = true)]
    pub session: Option<String>,

    /// A Tekton Rhetor whose AIs join the configured ones (default: localhost on
    /// TEKTON_RHETOR_PORT when that is set).
    #[arg(short = 'r', long = "rhetor", value_name = "URL", global = true)]
    pub rhetor: Option<String>,

    /// A script FILE, or an AI's name followed by the MESSAGE for it.
    #[arg(value_name = "FILE | AI MESSAGE", trailing_var_arg = true)]
    pub args: Vec<String>,

    #[command(subcommand)]
    #[allow(missing_docs)]
    pub subcommand: Option<Sub>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Manages plugins.
    Plugin {
        #[command(subcommand)]
        #[allow(missing_docs)]
        action: PluginAction,
    },
    /// Shows or exports the command history.
    History {
        /// Prints entries as JSON Lines, as `history.jsonl` holds them.
        #[arg(long)]
        json: bool,
        /// Only entries at or after DATE (2026-11-23, 2026-11-23T14:30:00Z or Unix seconds).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only entries before the end of DATE.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
    },
    /// Works with transports directly.
    Transport {
        #[command(subcommand)]
        #[allow(missing_docs)]
        action: TransportAction,
    },
}

/// `aish plugin ...`
#[derive(Debug, Subcommand)]
pub enum PluginAction {
    /// Lists installed plugins.
    List,
    /// Shows one plugin: manifest, capabilities, what it is allowed.
    Info {
        /// The plugin's name.
        name: String,
    },
    /// Installs a plugin: a .wasm component (checked, compiled and cached now), or a native
    /// library (.so, .dylib, .dll).
    Add {
        /// The file.
        path: PathBuf,
        /// The name of a native plugin (default: its file name without `lib`).
        #[arg(long)]
        name: Option<String>,
        /// The manifest of a component that carries none (default: plugin.toml beside it).
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
    },
    /// Writes the plugin contract (the WIT files, embedded in aish) to DIR.
    Wit {
        /// Where to write it.
        #[arg(default_value = "wit")]
        dir: PathBuf,
    },
    /// Writes a new plugin folder NAME that builds with its language's own tools.
    New {
        /// The plugin's name (and its folder's).
        name: String,
        /// What it is.
        #[arg(long, value_parser = ["transport", "stage"])]
        kind: String,
        /// What it is written in.
        #[arg(long, value_parser = ["rust", "python", "js"])]
        lang: String,
        /// Where to create the folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Builds the plugin in DIR, installs it, and does so again whenever its sources change
    /// (until Ctrl-C).
    Dev {
        /// The plugin's folder (with its plugin.toml).
        dir: PathBuf,
    },
    /// Removes a user plugin (a built-in one it overrode comes back).
    Remove {
        /// The plugin's name.
        name: String,
    },
}

/// `aish transport ...`
#[derive(Debug, Subcommand)]
pub enum TransportAction {
    /// Sends MESSAGE through one transport and prints every event as JSON Lines.
    Probe {
        /// The transport plugin.
        #[arg(long, default_value = "sse")]
        transport: String,
        /// What the transport speaks (raw passes every SSE event through).
        #[arg(long, default_value = "raw")]
        dialect: String,
        /// The model to ask for.
        #[arg(long)]
        model: Option<String>,
        /// The endpoint.
        url: String,
        /// The message (none: a GET for the raw dialect).
        message: Option<String>,
        /// Gives up after this many seconds without an event (0: waits until Ctrl-C).
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        idle: u64,
    },
}
