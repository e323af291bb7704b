//! The interactive shell, on reedline.

use reedline::{DefaultPrompt, DefaultPromptSegment, FileBackedHistory, Reedline, Signal};

use crate::cli::{App, EXIT_OK};
use crate::pipeline::Executor;

/// Runs the shell until `exit` or Ctrl-D; returns the exit status.
pub async fn run(app: &App, executor: &mut Executor) -> u8 {
    let names: Vec<&str> = app.config().ai.keys().map(String::as_str).collect();
    let backend = match &app.demo {
        Some(demo) => format!("demo AIs on {}", demo.addr()),
        None => format!("config {}", app.config().source.as_ref().map(|p| p.display().to_string()).unwrap_or_default()),
    };
    executor.display.print(&format!(
        "aish {} - AIs: {} ({backend})\nType `help` for built-ins, `echo \"an idea\" | {}` to start, Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        names.first().copied().unwrap_or("AI"),
    ));
    // Line editing (up arrow, Ctrl-R) keeps its own file, so it never touches `history`.
    let line_history = app.paths.data_dir.join("line-history");
    let mut editor = match FileBackedHistory::with_file(10_000, line_history.clone()) {
        Ok(history) => Reedline::create().with_history(Box::new(history)),
        Err(e) => {
            executor.display.warning(&format!("warning: line history {} is not kept: {e}", line_history.display()));
            Reedline::create()
        }
    };
    let prompt = DefaultPrompt::new(DefaultPromptSegment::Basic("aish".into()), DefaultPromptSegment::Empty);
    loop {
        let signal = tokio::task::block_in_place(|| editor.read_line(&prompt));
        let line = match signal {
            Ok(Signal::Success(line)) => line,
            Ok(Signal::CtrlC) => continue,
            Ok(Signal::CtrlD) => break,
            Ok(_) => continue,
            Err(e) => {
                executor.display.error(&format!("cannot read the terminal: {e}"));
                break;
            }
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match executor.execute(line, None).await {
            Ok(outcome) if outcome.exit => break,
            Ok(_) => {}
            Err(crate::pipeline::RunError::Syntax(syntax)) => executor.display.error(&syntax.render()),
            Err(e) => executor.display.error(&e.to_string()),
        }
    }
    EXIT_OK
}
