//! The commands a line can be, above the pipeline engine: `!N` (replay a history entry), the
//! built-ins (one registry, which the shell's highlighting and completion read too), or a
//! pipeline, which runs and is then recorded in the history.

mod args;
mod conversation;
mod history;
pub mod lines;
mod plugins;
mod state;
mod transports;

use std::time::Instant;

use crate::pipeline::{Outcome, RunError};
use crate::session::Session;
use args::Args;

/// What a built-in asks of its caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Leave the shell.
    Exit,
    /// The words are a wrong use of the built-in (a name it does not know, its usage): the line
    /// fails with exit status 2, as a pipeline naming no AI does.
    Usage(String),
    /// The built-in could not do what was asked: the line fails with exit status 1.
    Failed(String),
}

/// Runs a built-in with what follows its name; `None` when that makes it no use of the built-in
/// (the line is then a usage error, unless an AI or stage plugin has the name too).
type Handler = fn(&mut Session, &Args<'_>) -> Option<Flow>;

/// A built-in command.
pub struct Builtin {
    /// The name that invokes it.
    pub name: &'static str,
    /// Other names for it.
    pub aliases: &'static [&'static str],
    /// How to call it and what each form does, one line each, as `help` shows them.
    pub usage: &'static [(&'static str, &'static str)],
    run: Handler,
}

/// Every built-in, in the order `help` lists them.
pub const BUILTINS: &[Builtin] = &[
    builtin("help", &[("help", "shows this list")], help),
    builtin(
        "list-ais",
        &[("list-ais", "lists the AIs with transport, dialect, URL, and whether each answers now")],
        transports::list_ais,
    ),
    builtin("plugins", &[("plugins", "lists installed plugins")], plugins::names),
    builtin(
        "plugin",
        &[
            ("plugin list | info NAME | remove NAME", "lists, describes or removes plugins"),
            ("plugin add [--name NAME | --manifest FILE] PATH", "installs a plugin (usable at once)"),
            ("plugin dev FOLDER", "builds and installs a plugin, and again whenever its sources change"),
        ],
        plugins::manage,
    ),
    builtin(
        "history",
        &[
            ("history [N]", "shows the last N commands (default 20) with their answers"),
            ("history search TEXT", "shows the commands whose line or answers contain TEXT"),
        ],
        history::show,
    ),
    // `!N` is recognised by its number before any built-in; it is listed here for `help`.
    builtin(REPLAY, &[("!N", "runs command N of the history again")], |_, _| None),
    builtin(
        "transport",
        &[("transport [AI [NAME]]", "shows each AI's transport, or makes AI use transport NAME from now on")],
        transports::transport,
    ),
    builtin("session", &[("session", "shows this session's id (every AI stage receives it as session_id)")], session),
    builtin(
        "context",
        &[("context [set KEY VALUE | unset KEY | clear]", "shows or sets context sent to every AI stage")],
        state::context,
    ),
    builtin(
        "memory",
        &[("memory [add TEXT | clear]", "shows or sets memory hints sent to every AI stage")],
        state::memory,
    ),
    builtin(
        "conversation",
        &[
            ("conversation [AI]", "shows what every AI (or AI) remembers of this session"),
            ("conversation clear [AI]", "forgets every conversation (or AI's)"),
            ("conversation new", "starts a new session: a new id, every conversation forgotten"),
        ],
        conversation::conversation,
    ),
    Builtin { name: "exit", aliases: &["quit"], usage: &[("exit", "leaves the shell (also Ctrl-D)")], run: exit },
];

/// The name of the replay entry, which no word invokes.
const REPLAY: &str = "!N";

const fn builtin(name: &'static str, usage: &'static [(&'static str, &'static str)], run: Handler) -> Builtin {
    Builtin { name, aliases: &[], usage, run }
}

impl Builtin {
    /// Whether `word` invokes this built-in.
    pub fn is_called(&self, word: &str) -> bool {
        self.name != REPLAY && (self.name == word || self.aliases.contains(&word))
    }
}

/// Whether `line` is a built-in that takes free text as typed (`memory add don't`, `history
/// search #42`, `context set KEY VALUE`): no quote in it opens a string, and no `|` or `#` means
/// what it means in a pipeline, so it is complete and well formed as it stands.
pub fn takes_free_text(line: &str) -> bool {
    let mut words = line.split_whitespace();
    matches!(
        (words.next(), words.next()),
        (Some("memory"), Some("add")) | (Some("history"), Some("search")) | (Some("context"), Some("set"))
    )
}

/// Every name that invokes a built-in (aliases included), for the shell's vocabulary.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().filter(|b| b.name != REPLAY).flat_map(|b| std::iter::once(b.name).chain(b.aliases.iter().copied()))
}

/// Runs one line: `!N`, a built-in, or a pipeline (recorded in the history).
pub(crate) async fn execute(session: &mut Session, line: &str, stdin: Option<String>) -> Result<Outcome, RunError> {
    // A `plugin dev` rebuild since the last line is used from this line on.
    session.refresh_plugins();
    let line = line.trim();
    if let Some(n) = line.strip_prefix('!').and_then(|n| n.parse::<u64>().ok()) {
        let command = replayed(session, n)?;
        if let Some(inner) = command.trim().strip_prefix('!').filter(|m| m.parse::<u64>().is_ok()) {
            // Entries are never `!N` themselves; a hand-edited history must not loop either.
            return Err(RunError::Usage(format!("!{n} is `!{inner}` itself; run `!{inner}` instead")));
        }
        session.display().echo_command(&command);
        return Box::pin(execute(session, &command, stdin)).await;
    }
    let (word, args) = line.split_once(char::is_whitespace).map(|(w, a)| (w, a.trim())).unwrap_or((line, ""));
    if let Some(builtin) = BUILTINS.iter().find(|b| b.is_called(word)) {
        // An AI or stage plugin of the same name runs when the built-in makes nothing of the words.
        let shadowed =
            session.connector().config().ai.contains_key(word) || session.connector().registry().is_stage(word);
        match (builtin.run)(session, &Args::new(word, args)) {
            Some(Flow::Usage(_)) | None if shadowed => {}
            Some(flow @ (Flow::Continue | Flow::Exit)) => {
                return Ok(Outcome { exit: flow == Flow::Exit, ..Outcome::default() });
            }
            Some(Flow::Usage(message)) => return Err(RunError::Usage(message)),
            Some(Flow::Failed(message)) => return Err(RunError::Failed(message)),
            None => {}
        }
        if !shadowed {
            if let Some(message) = builtin_in_pipeline(session, line) {
                return Err(RunError::Usage(message));
            }
            let forms: Vec<&str> = builtin.usage.iter().map(|(form, _)| *form).collect();
            return Err(RunError::Usage(format!("usage: {}", forms.join(" | "))));
        }
    }
    let started = Instant::now();
    let mut result = session.run_line(line, stdin).await;
    // The engine, which knows no built-ins, calls one in a pipeline an unknown command (before
    // it runs anything): said as what it is, with the line parsed again only then.
    if matches!(result, Err(RunError::Usage(_)))
        && let Some(message) = builtin_in_pipeline(session, line)
    {
        result = Err(RunError::Usage(message));
    }
    if !line.is_empty() && !line.starts_with('#') {
        session.record(line, &result, started.elapsed());
    }
    result
}

/// When `line` is a pipeline (stages or redirects) that names a built-in no AI or stage plugin
/// shadows (`echo hi | session`, `session > f`): why it cannot run, where the pipeline engine
/// would call the name unknown.
fn builtin_in_pipeline(session: &Session, line: &str) -> Option<String> {
    let pipeline = crate::pipeline::parse(line).ok()??;
    let piped = pipeline.stages.len() > 1
        || pipeline.stages.iter().any(|s| s.branches.len() > 1)
        || pipeline.input.is_some()
        || pipeline.output.is_some();
    if !piped {
        return None;
    }
    let (config, registry) = (session.connector().config(), session.connector().registry());
    let name = pipeline.commands().map(|c| c.name.as_str()).find(|name| {
        let builtin = BUILTINS.iter().any(|b| b.name != REPLAY && b.is_called(name)) || name.starts_with('!');
        builtin && !config.ai.contains_key(*name) && !registry.is_stage(name)
    })?;
    Some(format!(
        "`{name}` is a built-in: it runs on a line of its own, and cannot be piped, redirected or run side by side"
    ))
}

/// The command line of history entry `n`.
fn replayed(session: &mut Session, n: u64) -> Result<String, RunError> {
    let entry = match session.history() {
        Some(history) => {
            let (entry, warning) = history.get(n).map_err(|e| RunError::File(e.to_string()))?;
            if let Some(warning) = warning {
                session.history_warning(&warning);
            }
            entry
        }
        None => None,
    };
    entry.map(|e| e.command).ok_or_else(|| RunError::Usage(format!("!{n}: event not found")))
}

/// `help`
fn help(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    if !args.is_empty() {
        return None;
    }
    const PIPELINES: [(&str, &str); 3] = [
        ("echo \"text\" | AI | AI", "sends text through AIs in turn"),
        ("AI text...", "sends text to one AI"),
        ("AI < FILE > FILE", "reads input from / writes the answer to a file"),
    ];
    // One table, so both parts share the column; a heading is a row of one cell.
    let row = |(usage, about): &(&str, &str)| vec![format!("  {usage}"), (*about).to_owned()];
    let mut rows = vec![vec!["Built-ins:".to_owned()]];
    rows.extend(BUILTINS.iter().flat_map(|b| b.usage).map(row));
    rows.push(vec!["Pipelines:".to_owned()]);
    rows.extend(PIPELINES.iter().map(row));
    let text = crate::text::aligned(&rows);
    session.display().print(&text);
    Some(Flow::Continue)
}

/// `session`
fn session(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    if !args.is_empty() {
        return None;
    }
    let id = session.id().to_owned();
    session.display().print(&id);
    Some(Flow::Continue)
}

/// `exit`, `quit`
fn exit(_: &mut Session, args: &Args<'_>) -> Option<Flow> {
    args.is_empty().then_some(Flow::Exit)
}
