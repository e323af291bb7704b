//! One run of aish (a shell, a script, one `-c` or one-shot) and the state its commands share:
//! the session id, the context and memory hints sent to every AI stage, the transports chosen
//! at run time, the history it keeps and the display it shows on. A typed line enters here,
//! goes to the [commands](crate::commands), and from there to the pipeline engine.

mod resume;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::conversation::Conversations;
use crate::display::Display;
use crate::history::History;
use crate::pipeline::{Context, Outcome, Pipeline, RunError, RunSettings, parse_with_context};
use crate::transport::Connector;

pub(crate) use resume::CLEAR;
pub use resume::ResumeError;

/// One run's state, and the entry point for every line typed in it.
pub struct Session {
    connector: Connector,
    display: Display,
    id: String,
    no_stream: bool,
    history: Option<History>,
    plugin_dir: Option<PathBuf>,
    /// Context the user set with `context set`, merged into every AI stage's context.
    pub(crate) context: Context,
    /// Hints the user added with `memory add`, sent to every AI stage as `memory_hints`.
    pub(crate) memory_hints: Vec<String>,
    /// Transports chosen at run time with `transport AI NAME`, by AI.
    pub(crate) transports: BTreeMap<String, String>,
    /// What each AI was sent and answered in this session.
    pub(crate) conversations: Conversations,
    /// Set by a `plugin dev` watch when it installed a new build: reload before the next line.
    plugins_changed: Arc<AtomicBool>,
    /// The folders `plugin dev` watches, each until the session ends or it is started again.
    dev_watches: BTreeMap<PathBuf, crate::plugin::author::dev::Watch>,
    /// Where messages from background work (a `plugin dev` rebuild) go.
    notify: Notify,
    /// Whether a printer above a prompt shows them (an interactive shell, which takes the next
    /// line while a `plugin dev` build runs); else stderr, and the first build is waited for.
    notify_above_prompt: bool,
    /// The last warning about the history file shown, so the same damage is told once.
    history_warned: Option<String>,
}

/// Shows one message from background work; the shell prints it above its prompt.
pub type Notify = Arc<dyn Fn(&str) + Send + Sync>;

impl Session {
    /// A session over `connector` that shows answers on `display`; `no_stream` asks every AI for
    /// whole answers.
    pub fn new(connector: Connector, display: Display, no_stream: bool) -> Self {
        Session {
            connector,
            display,
            id: new_id(),
            no_stream,
            history: None,
            plugin_dir: None,
            context: Context::new(),
            memory_hints: Vec::new(),
            transports: BTreeMap::new(),
            conversations: Conversations::default(),
            plugins_changed: Arc::new(AtomicBool::new(false)),
            dev_watches: BTreeMap::new(),
            notify: Arc::new(|message: &str| {
                use std::io::IsTerminal as _;
                let terminal = std::io::stderr().is_terminal();
                eprintln!("{}", if terminal { crate::text::sanitize(message) } else { message.into() });
            }),
            notify_above_prompt: false,
            history_warned: None,
        }
    }

    /// Sends messages from background work to `notify`, the shell's printer above its prompt:
    /// from then on a `plugin dev` build runs in the background from the first, and the shell
    /// takes the next line meanwhile.
    pub fn set_notify(&mut self, notify: Notify) {
        self.notify = notify;
        self.notify_above_prompt = true;
    }

    /// Watches the plugin folder `source` for `plugin dev`, building it now and on every change;
    /// each build installed is used from the next line on. In the shell every build, the first
    /// included, is reported through the notifier (a first build can take a minute); elsewhere
    /// the first is waited for and returned.
    pub(crate) fn start_dev(&mut self, source: &Path) -> Result<String, String> {
        let plugin_dir = self.plugin_dir.clone().ok_or("plugins cannot be changed in this session")?;
        let source = source.canonicalize().map_err(|e| format!("{}: {e}", source.display()))?;
        // Started again on the same folder: the old watch ends first.
        self.dev_watches.remove(&source);
        let (changed, notify) = (self.plugins_changed.clone(), self.notify.clone());
        let watching = if self.notify_above_prompt {
            format!("watching {} for changes (until aish exits)", source.display())
        } else {
            // A script's watch ends with it: `-c` would promise a watch that ends at once.
            format!(
                "watching {} for changes until this script ends (for a lasting watch: `aish plugin dev {}` or the shell)",
                source.display(),
                source.display()
            )
        };
        let next = format!("fix the errors and save; {watching}");
        // Outside the shell the first build is waited for, and its result returned.
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let mut first_tx = (!self.notify_above_prompt).then_some(first_tx);
        let report = move |result: crate::plugin::manage::DevReport| match result {
            result if first_tx.is_some() => {
                let _ = first_tx.take().map(|tx| tx.send(result));
            }
            Ok(report) => {
                changed.store(true, Ordering::Release);
                notify(&format!("plugin dev: {report}the next command uses it"));
            }
            Err(failed) if failed.last_good_kept => {
                notify(&format!("plugin dev: {}\nplugin dev: the last good version stays installed", failed.error))
            }
            Err(failed) => notify(&format!("plugin dev: {}\nplugin dev: {next}", failed.error)),
        };
        let watch = crate::plugin::manage::start_dev(&self.connector, &plugin_dir, &source, report)?;
        self.dev_watches.insert(source.clone(), watch);
        if self.notify_above_prompt {
            return Ok(format!("building {}; {watching}\n", source.display()));
        }
        // Waited for a little at a time, so that Ctrl-C (a script's) stops the build, not only aish.
        let first = loop {
            match first_rx.recv_timeout(std::time::Duration::from_millis(50)) {
                Ok(first) => break first,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !crate::pipeline::ctrl_c_pressed() => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    self.dev_watches.remove(&source);
                    return Err(format!("stopped by Ctrl-C; {} is not watched", source.display()));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    self.dev_watches.remove(&source);
                    return Err(format!("the build of {} ended without a result; try again", source.display()));
                }
            }
        };
        match first {
            Ok(report) => {
                self.reload_plugins();
                Ok(format!("{report}{watching}\n"))
            }
            Err(failed) => Err(format!("{}\n{watching}; fix the errors and save", failed.error)),
        }
    }

    /// Picks up plugins a `plugin dev` watch installed since the last line.
    pub(crate) fn refresh_plugins(&mut self) {
        if self.plugins_changed.swap(false, Ordering::Acquire) {
            self.reload_plugins();
        }
    }

    /// Keeps every command in `history` from now on.
    pub fn with_history(mut self, history: History) -> Self {
        self.history = Some(history);
        self
    }

    /// Lets the `plugin` built-in install and remove plugins in `dir`.
    pub fn with_plugin_dir(mut self, dir: PathBuf) -> Self {
        self.plugin_dir = Some(dir);
        self
    }

    /// The id every AI stage of this run receives as `session_id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The connector (config, plugins, runtime).
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The display answers and messages go to.
    pub fn display(&mut self) -> &mut Display {
        &mut self.display
    }

    /// Every AI's conversation in this session.
    pub fn conversations(&self) -> &Conversations {
        &self.conversations
    }

    /// Nothing runs after the next line (a one-shot run): its answers are not kept for a
    /// conversation. The history keeps them as ever.
    pub fn last_line(&mut self) {
        self.conversations.close();
    }

    /// Every AI's conversation, to change.
    pub(crate) fn conversations_mut(&mut self) -> &mut Conversations {
        &mut self.conversations
    }

    /// Starts a new session: a new id, and every conversation forgotten.
    pub fn renew(&mut self) {
        self.id = new_id();
        self.conversations.clear_all();
    }

    /// The history, if kept.
    pub fn history(&self) -> Option<&History> {
        self.history.as_ref()
    }

    /// The user plugin folder, if the `plugin` built-in may change it.
    pub fn plugin_dir(&self) -> Option<&Path> {
        self.plugin_dir.as_deref()
    }

    /// Shows a warning about the history file (damaged lines skipped), unless this session told
    /// the same one already: a look at the history after another is not worth another warning.
    pub(crate) fn history_warning(&mut self, warning: &str) {
        if self.history_warned.as_deref() != Some(warning) {
            self.display.warning(&format!("warning: {warning}"));
            self.history_warned = Some(warning.to_owned());
        }
    }

    /// Reads the installed plugins again, so one just added is usable at once.
    pub fn reload_plugins(&mut self) {
        if let Some(dir) = &self.plugin_dir {
            let (registry, warnings) = crate::plugin::Registry::discover(dir);
            for warning in warnings {
                self.display.warning(&format!("warning: {warning}"));
            }
            self.connector = self.connector.with_registry(std::sync::Arc::new(registry));
        }
    }

    /// Runs one line as a user typed it: a built-in, `!N` (replays entry N), or a pipeline,
    /// which is then kept in the history with its answers and figures. `stdin` is input for a
    /// first stage that has no other.
    pub async fn execute(&mut self, line: &str, stdin: Option<String>) -> Result<Outcome, RunError> {
        crate::commands::execute(self, line, stdin).await
    }

    /// Runs `line` with `context` merged into what every AI stage receives, and returns every
    /// stage's response. Built-ins and `!N` are not expanded; the command is not recorded.
    pub async fn execute_command_with_context(&mut self, line: &str, context: Context) -> Result<Outcome, RunError> {
        match parse_with_context(line, &context)? {
            Some(pipeline) => self.run(&pipeline, None).await,
            None => Ok(Outcome::default()),
        }
    }

    /// Parses and runs one pipeline line with the session's context (no built-ins, no record).
    pub async fn run_line(&mut self, line: &str, stdin: Option<String>) -> Result<Outcome, RunError> {
        match parse_with_context(line, &self.context)? {
            Some(pipeline) => self.run(&pipeline, stdin).await,
            None => Ok(Outcome::default()),
        }
    }

    /// Runs a parsed pipeline, its events shown on the display.
    pub async fn run(&mut self, pipeline: &Pipeline, stdin: Option<String>) -> Result<Outcome, RunError> {
        let settings = RunSettings {
            session_id: &self.id,
            memory_hints: &self.memory_hints,
            transports: &self.transports,
            no_stream: self.no_stream,
            conversations: &mut self.conversations,
            // Large answers spill beside the history, which is private; else to the temp dir.
            spool_dir: self.history.as_ref().map(History::dir).filter(|dir| dir.is_dir()),
        };
        crate::pipeline::run(&self.connector, settings, pipeline, stdin, &mut self.display).await
    }

    /// Keeps `line` and what it produced in the history, if one is kept.
    pub(crate) fn record(&mut self, line: &str, result: &Result<Outcome, RunError>, elapsed: Duration) {
        let Some(history) = &self.history else { return };
        if let Err(e) = history.append(&crate::history::record(&self.id, line, result, elapsed)) {
            self.display.warning(&format!("warning: this command was not saved: {e}"));
        }
    }
}

/// A session id unique to this process and moment.
fn new_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{:x}-{:x}", now.as_millis(), std::process::id())
}
