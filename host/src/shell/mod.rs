//! The interactive shell, on reedline: highlighting, Tab completion with a menu, hints from
//! history, multi-line input, emacs or vi keys.

mod completer;
mod highlighter;
mod hinter;
mod line_history;
mod prompt;
mod validator;
mod vocabulary;

use std::sync::Arc;

use nu_ansi_term::{Color, Style};
use reedline::{
    ColumnarMenu, EditMode, Emacs, ExternalPrinter, FileBackedHistory, KeyCode, KeyModifiers, Keybindings, MenuBuilder,
    Reedline, ReedlineEvent, ReedlineMenu, Signal, Vi, default_emacs_keybindings, default_vi_insert_keybindings,
    default_vi_normal_keybindings, default_vi_visual_keybindings,
};

pub use completer::AishCompleter;
pub use highlighter::{AishHighlighter, Palette};
pub use hinter::AishHinter;
pub use prompt::AishPrompt;
pub use validator::AishValidator;
pub use vocabulary::Vocabulary;

use crate::cli::{App, EXIT_OK};
use aish::config::EditMode as EditModeName;
use aish::session::Session;

/// Runs the shell until `exit` or Ctrl-D; returns the exit status.
pub async fn run(app: &App, session: &mut Session) -> u8 {
    let names: Vec<&str> = app.config().ai.keys().map(String::as_str).collect();
    let backend = match &app.demo {
        Some(demo) => format!("demo AIs on {}", demo.addr()),
        None => format!("config {}", app.config().source.as_ref().map(|p| p.display().to_string()).unwrap_or_default()),
    };
    session.display().print(&format!(
        "aish {} - AIs: {} ({backend})\nType `help` for built-ins, `echo \"an idea\" | {}` to start, Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        names.first().copied().unwrap_or("AI"),
    ));
    // Line editing (up arrow, Ctrl-R) keeps its own file, so it never touches `history`.
    let line_history = app.paths.data_dir.join("line-history");
    // What was typed can hold secrets: the file is the owner's alone, like the history.
    if let Err(e) =
        aish::config::private_dir(&app.paths.data_dir).and_then(|()| aish::config::private_file(&line_history))
    {
        session.display().warning(&format!("warning: cannot make {} private: {e}", line_history.display()));
    }
    if let Some(warning) = line_history::repair(&line_history) {
        session.display().warning(&format!("warning: {warning}"));
    }
    let mut editor = match FileBackedHistory::with_file(10_000, line_history.clone()) {
        Ok(history) => Reedline::create().with_history(Box::new(history)),
        Err(e) => {
            session.display().warning(&format!("warning: line history {} is not kept: {e}", line_history.display()));
            Reedline::create()
        }
    };
    let color = session.display().color();
    let vocabulary = Arc::new(Vocabulary::new(session.connector()));
    let palette = if color { Palette::colored() } else { Palette::plain() };
    let hint_style = if color { Style::new().fg(Color::DarkGray) } else { Style::new() };
    editor = editor
        .with_highlighter(Box::new(AishHighlighter::new(vocabulary.clone(), palette)))
        .with_completer(Box::new(AishCompleter::new(vocabulary)))
        .with_menu(ReedlineMenu::EngineCompleter(Box::new(ColumnarMenu::default().with_name(MENU))))
        .with_hinter(Box::new(AishHinter::new(hint_style)))
        .with_validator(Box::new(AishValidator))
        // One match completes at once; several complete their common prefix, then the menu.
        .with_quick_completions(true)
        .with_partial_completions(true)
        .with_edit_mode(edit_mode(app.config().shell.edit_mode))
        .with_ansi_colors(color)
        // A paste arrives whole, into the line, and runs only on Enter: pasted text never runs
        // a command on its own, however many lines it has.
        .use_bracketed_paste(true);
    // Messages from background work (a `plugin dev` rebuild) appear above the prompt, not in it.
    let printer = ExternalPrinter::<String>::default();
    let sender = printer.sender();
    session.set_notify(Arc::new(move |message: &str| {
        // Never blocks the watcher: past the printer's queue, a notice is dropped.
        let _ = sender.try_send(aish::text::sanitize(message).into_owned());
    }));
    editor = editor.with_external_printer(printer);
    let left = app
        .config()
        .shell
        .prompt
        .clone()
        .unwrap_or_else(|| if app.demo.is_some() { "aish demo".to_owned() } else { "aish".to_owned() });
    let prompt = AishPrompt::new(left);
    loop {
        let signal = tokio::task::block_in_place(|| editor.read_line(&prompt));
        let line = match signal {
            Ok(Signal::Success(line)) => line,
            Ok(Signal::CtrlC) => continue,
            Ok(Signal::CtrlD) => break,
            Ok(_) => continue,
            Err(e) => {
                session.display().error(&format!("cannot read the terminal: {e}"));
                break;
            }
        };
        // A paste of several lines is several commands, run in turn as sh would; a Ctrl-C
        // from before (an answer stopped earlier) is no reason to stop this one's.
        let _ = aish::pipeline::take_ctrl_c();
        for command in aish::commands::lines::split(&line) {
            match session.execute(&command.text, None).await {
                Ok(outcome) if outcome.exit => return EXIT_OK,
                Ok(_) => {}
                Err(aish::pipeline::RunError::Syntax(syntax)) => session.display().error(&syntax.render()),
                Err(e) => session.display().error(&e.to_string()),
            }
            // Ctrl-C stops the paste's later commands too, not only the answer on screen.
            if aish::pipeline::take_ctrl_c() {
                break;
            }
        }
    }
    EXIT_OK
}

const MENU: &str = "completion_menu";

/// Tab opens the completion menu and moves through it.
fn with_tab(mut keys: Keybindings) -> Keybindings {
    keys.add_binding(
        KeyModifiers::NONE,
        KeyCode::Tab,
        ReedlineEvent::UntilFound(vec![ReedlineEvent::Menu(MENU.to_owned()), ReedlineEvent::MenuNext]),
    );
    keys
}

fn edit_mode(name: EditModeName) -> Box<dyn EditMode> {
    match name {
        EditModeName::Emacs => Box::new(Emacs::new(with_tab(default_emacs_keybindings()))),
        EditModeName::Vi => Box::new(Vi::new(
            with_tab(default_vi_insert_keybindings()),
            default_vi_normal_keybindings(),
            default_vi_visual_keybindings(),
        )),
    }
}
