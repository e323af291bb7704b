//! The `aish` binary: the command line, the interactive shell and the demo AIs, on top of the
//! `aish` library (session, commands, pipeline engine, transports, display, history).

mod cli;
mod demo;
mod shell;

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use aish::commands::lines::CommandLine;
use aish::display::Display;
use aish::pipeline::RunError;
use aish::session::Session;
use cli::{App, Cli, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, StartError, Sub, TransportAction};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The interactive shell reads the terminal on a thread the runtime can spare; everything
    // else runs on one thread, where a streamed answer's bytes are read, parsed and shown
    // without a wake-up of another thread per piece.
    let mut builder = match interactive(&cli) {
        true => tokio::runtime::Builder::new_multi_thread(),
        false => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", cli::for_stderr(&format!("{e:#}")));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Whether this run is the interactive shell.
fn interactive(cli: &Cli) -> bool {
    cli.subcommand.is_none() && cli.command.is_none() && cli.args.is_empty() && std::io::stdin().is_terminal()
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let interactive = interactive(&cli);
    let app = match App::start(cli.config.as_deref(), cli.rhetor.as_deref(), interactive).await {
        Ok(app) => app,
        Err(e @ StartError::Config(_)) => {
            eprintln!("error: {}", cli::for_stderr(&e.to_string()));
            return Ok(EXIT_USAGE);
        }
        Err(e) => return Err(e).context("aish could not start"),
    };
    for warning in &app.warnings {
        eprintln!("warning: {}", cli::for_stderr(warning));
    }
    match &cli.subcommand {
        Some(Sub::Plugin { action }) => {
            return Ok(cli::run_plugin_command(&app.connector, &app.paths.plugin_dir(), action).await);
        }
        Some(Sub::History { json, since, until }) => {
            return Ok(cli::run_history_command(&app, *json, since.as_deref(), until.as_deref()));
        }
        Some(Sub::Transport { action: TransportAction::Probe { transport, dialect, model, url, message, idle } }) => {
            let idle = (*idle > 0).then(|| std::time::Duration::from_secs(*idle));
            return Ok(cli::run_probe(&app, transport, dialect, model.clone(), url, message.clone(), idle).await);
        }
        None => {}
    }
    let display = match app.config().shell.color {
        Some(false) => Display::stdio().without_color(),
        _ => Display::stdio(),
    };
    let render = if cli.plain { aish::config::Render::Plain } else { app.config().shell.render };
    let display = display.with_render(render);
    let mut session = Session::new(app.connector.clone(), display, cli.no_stream)
        .with_history(app.history())
        .with_plugin_dir(app.paths.plugin_dir());
    if cli.resume || cli.session.is_some() {
        match session.resume(cli.session.as_deref()) {
            Ok((id, turns)) => {
                if interactive {
                    session.display().warning(&format!("continuing session {id} ({turns} turns remembered)"));
                }
            }
            Err(e @ aish::session::ResumeError::NoSession) => {
                session.display().warning(&format!("warning: {e}; starting a new one"));
            }
            Err(e) => {
                session.display().error(&e.to_string());
                return Ok(EXIT_USAGE);
            }
        }
    }
    if let Some(line) = &cli.command {
        // Several lines are several commands (`aish -c "$(cat steps)"`), run as a script's are.
        let commands = aish::commands::lines::split(line);
        if commands.len() > 1 {
            return Ok(run_commands(&mut session, commands, piped_stdin()?).await);
        }
        return Ok(run_line(&mut session, line, piped_stdin()?).await);
    }
    if let Some(first) = cli.args.first() {
        if app.config().ai.contains_key(first) {
            return one_shot(&mut session, first, &cli.args[1..]).await;
        }
        let path = Path::new(first);
        if path.is_file() {
            let script = std::fs::read_to_string(path).with_context(|| format!("cannot read script {first}"))?;
            return Ok(run_script(&mut session, &script).await);
        }
        let known: Vec<&str> = app.config().ai.keys().map(String::as_str).collect();
        let hint = aish::pipeline::did_you_mean(first, &known);
        eprintln!("error: `{first}`{hint} is neither a configured AI nor a script file; `aish --help` shows the usage");
        return Ok(EXIT_USAGE);
    }
    if !interactive {
        let mut script = String::new();
        std::io::stdin().read_to_string(&mut script).context("cannot read standard input")?;
        return Ok(run_script(&mut session, &script).await);
    }
    Ok(shell::run(&app, &mut session).await)
}

/// Standard input, when it is piped in rather than a terminal.
fn piped_stdin() -> anyhow::Result<Option<String>> {
    if std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
    Ok((!text.is_empty()).then_some(text))
}

async fn one_shot(session: &mut Session, ai: &str, words: &[String]) -> anyhow::Result<u8> {
    // Kept in the history as the line that asks the same again, so `!N` replays it. Piped
    // text goes with the words (`cat notes | aish AI summarise this`), after them, as with `-c`.
    if !words.is_empty() {
        let line = format!("{ai} {}", words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "));
        return Ok(run_line(session, &line, piped_stdin()?).await);
    }
    match piped_stdin()? {
        Some(text) => Ok(run_line(session, ai, Some(text)).await),
        None => {
            eprintln!("error: no message for {ai}: write `aish {ai} your message` or pipe text into it");
            Ok(EXIT_USAGE)
        }
    }
}

/// A word quoted for the pipeline language when it needs it.
fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_alphanumeric() || "-_.,:/@%+=?".contains(c));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

async fn run_line(session: &mut Session, line: &str, stdin: Option<String>) -> u8 {
    session.last_line();
    // From here a Ctrl-C ends the line with 130, whatever runs when it comes.
    aish::pipeline::watch_ctrl_c();
    let result = session.execute(line, stdin).await;
    let code = status(session, result, None);
    let code = if aish::pipeline::take_ctrl_c() { EXIT_INTERRUPTED } else { code };
    output_status(session, code)
}

/// `code`, or a failure when stdout refused the output (a full disk).
fn output_status(session: &mut Session, code: u8) -> u8 {
    if session.display().output_failed() { code.max(EXIT_FAILED) } else { code }
}

/// The exit status of a line's `result`, its error shown (after `line N: ` in a script).
fn status(session: &mut Session, result: Result<aish::pipeline::Outcome, RunError>, line: Option<usize>) -> u8 {
    let (message, code) = match result {
        Ok(outcome) if outcome.success() => return EXIT_OK,
        Ok(_) => return EXIT_FAILED,
        Err(RunError::Syntax(e)) => (e.render(), EXIT_USAGE),
        Err(e @ RunError::Usage(_)) => (e.to_string(), EXIT_USAGE),
        Err(e @ (RunError::File(_) | RunError::Failed(_) | RunError::Spool(_))) => (e.to_string(), EXIT_FAILED),
    };
    match line {
        Some(number) => session.display().error(&format!("line {number}: {message}")),
        None => session.display().error(&message),
    }
    code
}

/// Runs a script: a command a line (or more, while a quote or a trailing `|` keeps it open),
/// `#` comments and a `#!` first line skipped.
async fn run_script(session: &mut Session, script: &str) -> u8 {
    run_commands(session, aish::commands::lines::split(script), None).await
}

/// Runs commands in turn, `stdin` given to the first. Every command is parsed first, so a
/// syntax error runs nothing; an error names the line its command starts on.
async fn run_commands(session: &mut Session, commands: Vec<CommandLine>, mut stdin: Option<String>) -> u8 {
    for command in &commands {
        // A built-in's free text (`memory add don't`) is no pipeline to check.
        if aish::commands::takes_free_text(&command.text) {
            continue;
        }
        if let Err(e) = aish::pipeline::parse(&command.text) {
            session.display().error(&format!("line {}: {}", command.line, e.render()));
            return EXIT_USAGE;
        }
    }
    let mut code = EXIT_OK;
    // From here a Ctrl-C stops the script after its line, whatever runs when it comes.
    aish::pipeline::watch_ctrl_c();
    for command in commands {
        let result = session.execute(&command.text, stdin.take()).await;
        if result.as_ref().is_ok_and(|o| o.exit) {
            break;
        }
        code = code.max(status(session, result, Some(command.line)));
        // Ctrl-C stops the script, not only the answer on screen.
        if aish::pipeline::take_ctrl_c() {
            code = EXIT_INTERRUPTED;
            break;
        }
    }
    output_status(session, code)
}
