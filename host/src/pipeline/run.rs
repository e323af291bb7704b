//! Running a parsed pipeline: each AI stage gets the previous output and the pipeline context,
//! and its answer streams to the display as it arrives.

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::answer::{Answer, Piece};
use super::{Command, Context, ParseError, Pipeline, parse_with_context};
use crate::display::{Display, Visibility};
use crate::history::{History, Metadata, Record, StageFigures};
use crate::transport::{Connector, Outgoing, Usage};

/// What became of one AI stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageResult {
    /// The AI's name.
    pub ai: String,
    /// The transport plugin that carried the answer.
    pub transport: String,
    /// Whether the answer was asked for as a stream.
    pub streamed: bool,
    /// Why a fallback transport had to carry the answer, if one did.
    pub degraded: Option<String>,
    /// The answer as far as it arrived.
    pub response: String,
    /// Tokens reported by the backend (or counted).
    pub tokens: u64,
    /// Usage as the backend reported it.
    pub usage: Option<Usage>,
    /// Time from sending to the end of the answer.
    pub elapsed: Duration,
    /// Time to the first token.
    pub first_token: Option<Duration>,
    /// Why the stage failed, if it did.
    pub error: Option<String>,
    /// The answer stopped early (Ctrl-C or a dropped stream) and is kept as far as it got.
    pub interrupted: bool,
}

/// What became of a whole line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Every AI stage that ran, in order.
    pub stages: Vec<StageResult>,
    /// The final output (what `> FILE` would receive).
    pub output: String,
    /// A built-in asked to leave the shell.
    pub exit: bool,
}

impl Outcome {
    /// Whether every stage succeeded.
    pub fn success(&self) -> bool {
        self.stages.iter().all(|s| s.error.is_none() && !s.interrupted)
    }
}

/// Why a line could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad syntax (exit status 2).
    #[error(transparent)]
    Syntax(#[from] ParseError),
    /// A name that is no AI or command (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// A redirect file could not be read or written (exit status 1).
    #[error("{0}")]
    File(String),
}

/// Runs pipelines.
pub struct Executor {
    connector: Connector,
    /// The display answers stream to.
    pub display: Display,
    session_id: String,
    no_stream: bool,
    history: Option<History>,
    /// Context the user set with `context set`, merged into every AI stage's context.
    pub context: Context,
    /// Hints the user added with `memory add`, sent to every AI stage as `memory_hints`.
    pub memory_hints: Vec<String>,
    /// Transports chosen at run time with `transport AI NAME`, by AI.
    pub transports: std::collections::BTreeMap<String, String>,
    plugin_dir: Option<std::path::PathBuf>,
}

impl Executor {
    /// An executor that stops a stream on Ctrl-C.
    pub fn new(connector: Connector, display: Display, no_stream: bool) -> Self {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Executor {
            connector,
            display,
            session_id: format!("{:x}-{:x}", now.as_millis(), std::process::id()),
            no_stream,
            history: None,
            context: Context::new(),
            memory_hints: Vec::new(),
            transports: Default::default(),
            plugin_dir: None,
        }
    }

    /// The id every AI stage of this run receives as `session_id`.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The connector (config, plugins).
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Lets the `plugin` built-in install and remove plugins in `dir`.
    pub fn with_plugin_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.plugin_dir = Some(dir);
        self
    }

    /// The user plugin folder, if the `plugin` built-in may change it.
    pub fn plugin_dir(&self) -> Option<&std::path::Path> {
        self.plugin_dir.as_deref()
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

    /// Keeps every command in `history` from now on.
    pub fn with_history(mut self, history: History) -> Self {
        self.history = Some(history);
        self
    }

    /// The history, if kept.
    pub fn history(&self) -> Option<&History> {
        self.history.as_ref()
    }

    /// Runs one command as a user typed it: a built-in, `!N` (replays entry N), or a pipeline,
    /// which is then kept in the history with its answers and figures. `stdin` is input for a
    /// first stage that has no other.
    pub async fn execute(&mut self, line: &str, stdin: Option<String>) -> Result<Outcome, RunError> {
        let line = line.trim();
        if let Some(n) = line.strip_prefix('!').and_then(|n| n.parse::<u64>().ok()) {
            let entry = match &self.history {
                Some(history) => {
                    let (entry, warning) = history.get(n).map_err(|e| RunError::File(e.to_string()))?;
                    if let Some(warning) = warning {
                        self.display.warning(&format!("warning: {warning}"));
                    }
                    entry
                }
                None => None,
            };
            let entry = entry.ok_or_else(|| RunError::Usage(format!("!{n}: event not found")))?;
            self.display.echo_command(&entry.command);
            return Box::pin(self.execute(&entry.command, stdin)).await;
        }
        let builtin = crate::cli::builtins::run(line, self);
        if let Some(flow) = builtin {
            return Ok(Outcome { exit: flow == crate::cli::builtins::Flow::Exit, ..Outcome::default() });
        }
        let started = Instant::now();
        let result = self.run_line(line, stdin).await;
        if !line.is_empty() && !line.starts_with('#') {
            self.record(line, &result, started.elapsed());
        }
        result
    }

    fn record(&mut self, line: &str, result: &Result<Outcome, RunError>, elapsed: Duration) {
        let Some(history) = &self.history else { return };
        let mut metadata = Metadata { duration: elapsed.as_secs_f64(), ..Metadata::default() };
        let mut responses = Vec::new();
        match result {
            Ok(outcome) => {
                for stage in &outcome.stages {
                    responses.push((stage.ai.as_str(), stage.response.as_str()));
                    metadata.streamed |= stage.streamed;
                    metadata.tokens += stage.tokens;
                    metadata.interrupted |= stage.interrupted;
                    if let Some(why) = &stage.degraded {
                        metadata.degraded = true;
                        metadata.degraded_reason.get_or_insert_with(|| why.clone());
                    }
                    if metadata.error.is_none() {
                        metadata.error.clone_from(&stage.error);
                    }
                    metadata.stages.push(StageFigures {
                        ai: stage.ai.clone(),
                        transport: stage.transport.clone(),
                        streamed: stage.streamed,
                        duration: stage.elapsed.as_secs_f64(),
                        tokens: stage.tokens,
                        first_token: stage.first_token.map(|d| d.as_secs_f64()),
                        interrupted: stage.interrupted,
                        error: stage.error.clone(),
                    });
                }
                let first = outcome.stages.first();
                metadata.first_token = first.and_then(|s| s.first_token).map(|d| d.as_secs_f64());
                metadata.transport = first.map(|s| s.transport.clone());
            }
            Err(e) => metadata.error = Some(e.to_string()),
        }
        let record = Record { command: line, responses, metadata };
        if let Err(e) = history.append(&record) {
            self.display.warning(&format!("warning: this command was not saved: {e}"));
        }
    }

    /// Runs `line` with `context` merged into what every AI stage receives, and returns every
    /// stage's response. Built-ins and `!N` are not expanded; the command is not recorded.
    pub async fn execute_command_with_context(&mut self, line: &str, context: Context) -> Result<Outcome, RunError> {
        match parse_with_context(line, &context)? {
            Some(pipeline) => self.run(&pipeline, None).await,
            None => Ok(Outcome::default()),
        }
    }

    /// Parses and runs one line with the session's context. `stdin` is input for a first stage
    /// that has no other.
    pub async fn run_line(&mut self, line: &str, stdin: Option<String>) -> Result<Outcome, RunError> {
        match parse_with_context(line, &self.context)? {
            Some(pipeline) => self.run(&pipeline, stdin).await,
            None => Ok(Outcome::default()),
        }
    }

    /// Runs a parsed pipeline.
    pub async fn run(&mut self, pipeline: &Pipeline, stdin: Option<String>) -> Result<Outcome, RunError> {
        let plan = self.plan(pipeline)?;
        let mut text = match &pipeline.input {
            Some(redirect) => Some(
                std::fs::read_to_string(&redirect.path)
                    .map_err(|e| RunError::File(format!("cannot read {}: {e}", redirect.path)))?,
            ),
            None => None,
        };
        let mut outcome = Outcome::default();
        let ai_count: usize = plan.iter().map(|s| if let Step::Ais(b) = s { b.len() } else { 0 }).sum();
        let mut previous: Option<(String, String)> = None;
        let mut position = 0;
        let mut interrupt = std::pin::pin!(ctrl_c());
        for (index, step) in plan.iter().enumerate() {
            let last = index + 1 == plan.len();
            if let Step::Echo(words) = step {
                text = Some(words.clone());
                continue;
            }
            position += 1;
            let input = text.take().or_else(|| if index == 0 { stdin.clone() } else { None }).unwrap_or_default();
            let branches = match step {
                Step::Echo(_) => continue,
                Step::Plugin(command) => {
                    let context = self.stage_context(&command.context, position, previous.as_ref());
                    let result = self.run_plugin(command, &Value::Object(context), &input).await;
                    let failed = result.error.is_some();
                    if let Some(error) = &result.error {
                        self.display.error(error);
                    } else if last && pipeline.output.is_none() {
                        self.display.print(&result.response);
                    }
                    text = Some(result.response.clone());
                    outcome.stages.push(result);
                    if failed {
                        break;
                    }
                    continue;
                }
                Step::Ais(branches) => branches,
            };
            // Intermediate answers stay off a non-terminal stdout; a redirected final
            // answer goes to its file instead.
            let visibility = match (last, pipeline.output.is_some(), self.display.is_tty()) {
                (true, false, _) | (false, _, true) => Visibility::Shown,
                (true, true, _) | (false, _, false) => Visibility::Quiet,
            };
            let mut answers = Vec::new();
            for branch in branches {
                let message = with_args(&branch.args, &input);
                if message.trim().is_empty() {
                    return Err(RunError::Usage(format!(
                        "{0} has no input: write `echo \"text\" | {0}`, `{0} text` or `{0} < file`",
                        branch.name
                    )));
                }
                let mut context = self.stage_context(&branch.context, position, previous.as_ref());
                context.insert("previous_response".into(), json!(previous.as_ref().map(|p| &p.1)));
                context.insert("memory_hints".into(), json!(self.memory_hints));
                let mut ai = self.connector.config().ai[&branch.name].clone();
                if let Some(transport) = self.transports.get(&branch.name) {
                    ai.transport.clone_from(transport);
                }
                let stream = !self.no_stream && ai.stream != Some(false);
                let message = Outgoing { message, context: Value::Object(context), stream };
                answers.push(Answer::start(&self.connector, &branch.name, &ai, message));
            }
            let label = ai_count > 1;
            let fan_out = answers.len() > 1;
            let mut results = Vec::new();
            let mut stopped = false;
            for i in 0..answers.len() {
                let result = if stopped {
                    drain(&mut answers[i])
                } else {
                    let label = label.then_some(answers[i].ai.clone());
                    self.show(&mut answers[i], label.as_deref(), fan_out, visibility, &mut interrupt).await
                };
                if result.interrupted && result.error.is_none() {
                    // Ctrl-C stops every answer of the stage, keeping what each got.
                    stopped = true;
                    answers.iter().for_each(Answer::stop);
                }
                results.push(result);
            }
            let failed = results.iter().any(|r| r.error.is_some() || r.interrupted);
            text = Some(if fan_out {
                results
                    .iter()
                    .map(|r| format!("[{}]\n{}", r.ai, r.response.trim_end()))
                    .collect::<Vec<_>>()
                    .join("\n\n")
            } else {
                results[0].response.clone()
            });
            previous = Some((
                results.iter().map(|r| r.ai.as_str()).collect::<Vec<_>>().join(" & "),
                text.clone().unwrap_or_default(),
            ));
            outcome.stages.extend(results);
            if failed {
                break;
            }
        }
        outcome.output = text.unwrap_or_default();
        let only_echo = outcome.stages.is_empty();
        match &pipeline.output {
            Some(redirect) if outcome.success() => write_output(redirect, &outcome.output)?,
            None if only_echo => self.display.print(&outcome.output),
            _ => {}
        }
        Ok(outcome)
    }

    fn plan(&self, pipeline: &Pipeline) -> Result<Vec<Step>, RunError> {
        let config = self.connector.config();
        let mut plan = Vec::new();
        for (i, stage) in pipeline.stages.iter().enumerate() {
            let fan_out = stage.branches.len() > 1;
            let mut branches = Vec::new();
            for command in &stage.branches {
                let Command { name, args, name_quoted, .. } = command;
                let keyword = |word: &str| name == word && !name_quoted;
                if keyword("echo") {
                    if i > 0 || fan_out {
                        return Err(RunError::Usage("`echo` can only start a pipeline, on its own".into()));
                    }
                    plan.push(Step::Echo(args.join(" ")));
                    continue;
                }
                if keyword("team-chat") {
                    if fan_out {
                        return Err(RunError::Usage("`team-chat` already asks every AI; it takes no `&`".into()));
                    }
                    // Every configured AI gets the same message; answers come back labelled.
                    for ai in config.ai.keys() {
                        branches.push(Command { name: ai.clone(), args: args.clone(), ..command.clone() });
                    }
                    continue;
                }
                if !config.ai.contains_key(name) && self.connector.registry().is_stage(name) {
                    if fan_out {
                        return Err(RunError::Usage(format!(
                            "stage plugin `{name}` cannot run side by side with `&`; give it a stage of its own"
                        )));
                    }
                    plan.push(Step::Plugin(command.clone()));
                    continue;
                }
                if config.ai.contains_key(name) {
                    if branches.iter().any(|b: &Command| &b.name == name) {
                        return Err(RunError::Usage(format!(
                            "`{name}` stands twice in one `&` stage; name each AI once"
                        )));
                    }
                    branches.push(command.clone());
                    continue;
                }
                let known: Vec<&str> = config.ai.keys().map(String::as_str).collect();
                let hint = closest(name, &known).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
                return Err(RunError::Usage(format!(
                    "unknown command `{name}`{hint}: not a configured AI, stage plugin or built-in; AIs: {}",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                )));
            }
            if !branches.is_empty() {
                plan.push(Step::Ais(branches));
            }
        }
        Ok(plan)
    }

    /// The caller's context with what every stage learns of the pipeline: its position, the
    /// previous AI, and the session.
    fn stage_context(&self, base: &Context, position: usize, previous: Option<&(String, String)>) -> Context {
        let mut context = base.clone();
        context.insert("pipeline_position".into(), json!(position));
        context.insert("previous_ai".into(), json!(previous.map(|p| &p.0)));
        context.insert("session_id".into(), json!(self.session_id));
        context
    }

    /// Runs a stage plugin over the whole previous output.
    async fn run_plugin(&mut self, command: &Command, context: &Value, input: &str) -> StageResult {
        let started = Instant::now();
        let mut result = StageResult::empty(&command.name, "stage", false);
        let outcome = if self.connector.registry().native(&command.name).is_some() {
            self.run_native(command, context, input).await
        } else {
            match self.connector.grant(&command.name, &[]) {
                Ok(grant) => {
                    let (runtime, registry) = (self.connector.runtime(), self.connector.registry());
                    let run = crate::plugin::stage::run_stage(
                        runtime,
                        registry,
                        &grant,
                        &command.name,
                        &command.args,
                        context,
                        input,
                    );
                    tokio::select! {
                        outcome = run => outcome,
                        _ = ctrl_c() => Err(format!("{}: stopped by Ctrl-C", command.name)),
                    }
                }
                Err(e) => Err(e.message),
            }
        };
        match outcome {
            Ok(text) => result.response = text,
            Err(error) => {
                let named = if error.starts_with(&format!("{}: ", command.name)) {
                    error
                } else {
                    format!("{}: {error}", command.name)
                };
                result.error = Some(named);
            }
        }
        result.elapsed = started.elapsed();
        result
    }

    /// Runs a trusted native stage plugin on a blocking thread (native code cannot be stopped
    /// midway; Ctrl-C returns at once and its result is dropped).
    async fn run_native(&self, command: &Command, context: &Value, input: &str) -> Result<String, String> {
        let library = self.connector.native_stage(&command.name).map_err(|e| e.to_string())?;
        let (args, context, input) = (command.args.clone(), context.to_string(), input.to_owned());
        let task = tokio::task::spawn_blocking(move || library.run(&args, &context, &input));
        tokio::select! {
            joined = task => joined.unwrap_or_else(|e| Err(format!("the plugin crashed: {e}"))),
            _ = ctrl_c() => Err("stopped by Ctrl-C".into()),
        }
    }

    /// Shows one answer as its pieces arrive and returns what became of it.
    async fn show(
        &mut self,
        answer: &mut Answer,
        label: Option<&str>,
        fan_out: bool,
        visibility: Visibility,
        interrupt: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    ) -> StageResult {
        let mut result = StageResult::new(answer);
        let name = answer.ai.clone();
        let mut counted = 0u64;
        let mut started = false;
        loop {
            let piece = tokio::select! {
                piece = answer.pieces.recv() => piece,
                _ = interrupt.as_mut() => {
                    result.interrupted = true;
                    answer.stop();
                    // What had already arrived is kept.
                    while let Ok(piece) = answer.pieces.try_recv() {
                        if let Piece::Token(text, _) = piece {
                            result.response.push_str(&text);
                        }
                    }
                    break;
                }
            };
            match piece {
                Some(Piece::Degraded { why, transport }) => {
                    self.display.warning(&format!("[degraded: {why}, using {transport}]"));
                    result.transport = transport;
                    result.degraded = Some(why);
                }
                Some(Piece::Started) => {
                    started = true;
                    self.display.stage_start(label, answer.streamed, visibility);
                    if fan_out && !self.display.is_tty() && visibility == Visibility::Shown {
                        self.display.token(&format!("[{name}]\n"), visibility);
                    }
                }
                Some(Piece::Token(text, at)) => {
                    result.first_token.get_or_insert(at);
                    counted += 1;
                    self.display.token(&text, visibility);
                    result.response.push_str(&text);
                }
                Some(Piece::Done(usage, at)) => {
                    result.usage = usage;
                    result.elapsed = at;
                    break;
                }
                Some(Piece::Failed { message, interrupted, at }) => {
                    result.interrupted = interrupted;
                    result.error = Some(format!("{name}: {message}"));
                    result.elapsed = at;
                    break;
                }
                None => {
                    result.error = Some(format!("{name}: the answer stopped unexpectedly"));
                    break;
                }
            }
        }
        result.tokens = result.usage.and_then(|u| u.output_tokens).unwrap_or(counted);
        if result.interrupted && result.error.is_none() {
            self.display.stage_interrupted("stopped by Ctrl-C", visibility);
        } else if let Some(error) = &result.error {
            if started && !result.response.is_empty() {
                self.display.stage_interrupted("the answer did not finish", visibility);
            }
            self.display.error(error);
        } else {
            self.display.stage_end(result.elapsed, result.tokens, visibility);
        }
        result
    }
}

impl StageResult {
    fn new(answer: &Answer) -> Self {
        StageResult::empty(&answer.ai, &answer.transport, answer.streamed)
    }

    /// A stage that has produced nothing yet.
    fn empty(ai: &str, transport: &str, streamed: bool) -> Self {
        StageResult {
            ai: ai.to_owned(),
            transport: transport.to_owned(),
            streamed,
            degraded: None,
            response: String::new(),
            tokens: 0,
            usage: None,
            elapsed: Duration::ZERO,
            first_token: None,
            error: None,
            interrupted: false,
        }
    }
}

/// What an answer stopped before it was shown had produced: kept, marked interrupted.
fn drain(answer: &mut Answer) -> StageResult {
    let mut result = StageResult::new(answer);
    result.interrupted = true;
    while let Ok(piece) = answer.pieces.try_recv() {
        if let Piece::Token(text, _) = piece {
            result.response.push_str(&text);
        }
    }
    result
}

/// A stage's input with its own words before it (`athena 'critique this'`).
fn with_args(args: &[String], input: &str) -> String {
    if args.is_empty() {
        return input.to_owned();
    }
    let words = args.join(" ");
    if input.is_empty() { words } else { format!("{words}\n\n{input}") }
}

/// Resolves when the user presses Ctrl-C; never, where signals cannot be watched.
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

enum Step {
    /// `echo`: the source text.
    Echo(String),
    /// A stage plugin transforming the text.
    Plugin(Command),
    /// AIs answering the same input (one, or several side by side).
    Ais(Vec<Command>),
}

fn write_output(redirect: &super::Redirect, text: &str) -> Result<(), RunError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(redirect.append)
        .truncate(!redirect.append)
        .open(&redirect.path)
        .map_err(|e| RunError::File(format!("cannot write {}: {e}", redirect.path)))?;
    let mut text = text.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    file.write_all(text.as_bytes()).map_err(|e| RunError::File(format!("cannot write {}: {e}", redirect.path)))
}

/// The known name nearest to a typo, when one is close.
pub(crate) fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().map(|k| (levenshtein(name, k), *k)).filter(|(d, k)| *d <= 2.max(k.len() / 4)).min().map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
