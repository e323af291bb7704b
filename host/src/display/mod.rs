//! How a streaming answer is shown (SPEC section 4). On a terminal: `[Streaming...] `, the
//! tokens as they arrive (the final answer rendered as Markdown, see `markdown/`), then
//! `[Complete - 1.2s, 42 tokens]`. When stdout is not a terminal: only the answer on stdout,
//! status lines on stderr, and no ANSI codes anywhere. Everything from outside that reaches a
//! terminal passes the one sanitiser ([`crate::text`]); pipes and files get the bytes as they
//! are. The display consumes the pipeline's stage events (see `events.rs`).

mod events;
pub mod markdown;
mod quiet;

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use nu_ansi_term::{Color, Style};

use crate::config::Render;
use crate::text::sanitize;

/// Where output goes and how it looks.
pub struct Display {
    tty: bool,
    /// Whether stderr is a terminal (then what goes there is sanitised too).
    err_tty: bool,
    color: bool,
    render: Render,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    /// The last byte written to stdout for the current answer, so answers end on a new line.
    at_line_start: bool,
    /// Stdout is the process's own, whose terminal settings aish may change.
    stdio: bool,
    /// The terminal's `^C` echo, off while an answer is on screen.
    quiet: Option<quiet::QuietCtrlC>,
    /// Stdout refused a write; stop writing, keep running.
    out_closed: bool,
    /// Stdout refused a write for another reason than a closed pipe (a full disk): the run fails.
    out_failed: bool,
    /// The AI stage whose events are arriving, and how it is shown.
    stage: Option<events::Shown>,
}

/// Columns to wrap at when the terminal does not say.
const DEFAULT_WIDTH: usize = 80;

/// How long a width read from the terminal is trusted before it is asked again.
const WIDTH_FRESH: Duration = Duration::from_millis(200);

/// How a stage's answer is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Visibility {
    /// Streamed to stdout.
    Shown,
    /// Kept off stdout (an intermediate stage when stdout is not a terminal, or redirected).
    Quiet,
}

impl Display {
    /// The process's stdout and stderr, with colour when stdout is a terminal and `NO_COLOR` is unset.
    pub fn stdio() -> Self {
        let tty = std::io::stdout().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let err_tty = std::io::stderr().is_terminal();
        let mut display = Display::new(tty, err_tty, color, Box::new(std::io::stdout()), Box::new(std::io::stderr()));
        display.stdio = true;
        display
    }

    /// A display writing to `out` and `err` as if both were a terminal (benchmarks, tests).
    pub fn terminal(out: Box<dyn Write + Send>, err: Box<dyn Write + Send>, color: bool) -> Self {
        Display::new(true, true, color, out, err)
    }

    fn new(tty: bool, err_tty: bool, color: bool, out: Box<dyn Write + Send>, err: Box<dyn Write + Send>) -> Self {
        Display {
            tty,
            err_tty,
            color,
            render: Render::default(),
            out,
            err,
            at_line_start: true,
            stdio: false,
            quiet: None,
            out_closed: false,
            out_failed: false,
            stage: None,
        }
    }

    /// Shows final answers on a terminal as `render` says (`--plain`, `[shell] render`).
    pub fn with_render(mut self, render: Render) -> Self {
        self.render = render;
        self
    }

    /// The terminal's width, asked of the terminal at most every [`WIDTH_FRESH`], so a resize
    /// takes effect within a line or two while a fast answer pays for one ioctl now and then.
    fn width() -> usize {
        static LAST: std::sync::Mutex<Option<(std::time::Instant, usize)>> = std::sync::Mutex::new(None);
        let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *last {
            Some((at, width)) if at.elapsed() < WIDTH_FRESH => width,
            _ => {
                let width = crossterm::terminal::size()
                    .map(|(columns, _)| usize::from(columns))
                    .ok()
                    .filter(|&c| c > 0)
                    .unwrap_or(DEFAULT_WIDTH);
                *last = Some((std::time::Instant::now(), width));
                width
            }
        }
    }

    /// Outside text as stdout may receive it: sanitised for a terminal, as it is for a pipe.
    fn safe_out<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.tty { sanitize(text) } else { Cow::Borrowed(text) }
    }

    /// Outside text as stderr may receive it.
    fn safe_err<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.err_tty { sanitize(text) } else { Cow::Borrowed(text) }
    }

    /// Whether stdout is a terminal.
    pub fn is_tty(&self) -> bool {
        self.tty
    }

    /// Whether colours are used.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Turns colours off (the config's `[shell] color = false`).
    pub fn without_color(mut self) -> Self {
        self.color = false;
        self
    }

    /// Whether lines on stderr are coloured: only when it is a terminal too (`2> FILE` gets
    /// plain lines while the answer is coloured on screen).
    fn err_color(&self) -> bool {
        self.color && self.err_tty
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color { style.paint(text).to_string() } else { text.to_owned() }
    }

    fn write_out(&mut self, text: &str) {
        self.write_answer(text);
        self.flush_out();
    }

    /// Writes answer text, flushed when the engine says no more is waiting (the sink's `flush`).
    fn write_answer(&mut self, text: &str) {
        if self.out_closed || text.is_empty() {
            return;
        }
        if let Err(e) = self.out.write_all(text.as_bytes()) {
            self.refused(&e);
        }
        self.at_line_start = text.ends_with('\n');
    }

    fn flush_out(&mut self) {
        if !self.out_closed
            && let Err(e) = self.out.flush()
        {
            self.refused(&e);
        }
    }

    /// Stdout refused a write: nothing more goes there. A reader that went away (`| head`) is
    /// no error; any other refusal (a full disk) is told once, and fails the run.
    fn refused(&mut self, e: &std::io::Error) {
        self.out_closed = true;
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            self.out_failed = true;
            let _ = writeln!(self.err, "error: cannot write to standard output: {e}; what follows is not shown");
        }
    }

    /// Whether stdout refused a write other than to a closed pipe: the answers did not all
    /// reach it (the history still has them).
    pub fn output_failed(&self) -> bool {
        self.out_failed
    }

    fn status(&mut self, line: &str) {
        if self.tty {
            let painted = self.paint(Style::new().dimmed(), line);
            self.write_out(&painted);
        } else {
            let _ = writeln!(self.err, "{}", line.trim_end());
        }
    }

    /// An AI stage starts answering; `label` names it when a pipeline has several. A whole
    /// (non-streamed) answer gets no `[Streaming...]`.
    fn stage_start(&mut self, label: Option<&str>, streaming: bool, visibility: Visibility) {
        if visibility == Visibility::Quiet && self.tty {
            return;
        }
        if let Some(ai) = label {
            if self.tty {
                let painted = self.paint(Color::Cyan.bold(), &format!("{}: ", sanitize(ai)));
                self.write_out(&painted);
            } else if streaming {
                let _ = write!(self.err, "{}: ", self.safe_err(ai));
            } else {
                let _ = writeln!(self.err, "{}:", self.safe_err(ai));
            }
        }
        if streaming {
            self.status("[Streaming...] ");
        }
    }

    /// The answer ended; `tokens` is what the backend reported, or the count of token events.
    fn stage_end(&mut self, elapsed: Duration, tokens: u64, input_tokens: Option<u64>, visibility: Visibility) {
        if visibility == Visibility::Shown && !self.at_line_start {
            self.write_out("\n");
        }
        let count = match input_tokens {
            Some(input) => format!("{input} in / {tokens} out"),
            None => format!("{tokens} tokens"),
        };
        let line = format!("[Complete - {:.1}s, {count}]", elapsed.as_secs_f64());
        if self.tty {
            self.status(&line);
            self.write_out("\n");
        } else {
            self.status(&line);
        }
    }

    /// A tool call the model asked for, on a line of its own.
    fn tool_call(&mut self, name: &str, arguments: &str, visibility: Visibility) {
        if visibility == Visibility::Quiet {
            return;
        }
        if !self.at_line_start {
            self.write_out("\n");
        }
        let line = format!("[tool call] {name} {arguments}");
        let line = self.safe_out(&line);
        let painted = self.paint(Color::Magenta.normal(), &line);
        self.write_out(&painted);
        self.write_out("\n");
    }

    /// A passing remark about the run (dim on a terminal, on stderr otherwise).
    fn notice(&mut self, line: &str) {
        if self.tty {
            if !self.at_line_start {
                self.write_out("\n");
            }
            let painted = self.paint(Style::new().dimmed(), &sanitize(line));
            self.write_out(&painted);
            self.write_out("\n");
        } else {
            let _ = writeln!(self.err, "{}", self.safe_err(line));
        }
    }

    /// An answer stopped early but what arrived is kept.
    fn stage_interrupted(&mut self, why: &str, visibility: Visibility) {
        if visibility == Visibility::Shown && !self.at_line_start {
            self.write_out("\n");
        }
        self.warning(&format!("[Interrupted - {why}; the answer so far is kept]"));
    }

    /// A one-line notice on stderr.
    pub fn warning(&mut self, line: &str) {
        let line = self.safe_err(line);
        let painted = if self.err_color() { Color::Yellow.paint(line.as_ref()).to_string() } else { line.into_owned() };
        let _ = writeln!(self.err, "{painted}");
    }

    /// A one-line error on stderr.
    pub fn error(&mut self, line: &str) {
        if self.tty && !self.at_line_start {
            self.write_out("\n");
        }
        let line = self.safe_err(line);
        let painted = if self.err_color() {
            Color::Red.paint(format!("error: {line}")).to_string()
        } else {
            format!("error: {line}")
        };
        let _ = writeln!(self.err, "{painted}");
    }

    /// A replayed command, shown before it runs (on stderr when stdout carries answers only).
    pub fn echo_command(&mut self, line: &str) {
        if self.tty {
            let painted = self.paint(Style::new().bold(), &sanitize(line));
            self.write_out(&format!("{painted}\n"));
        } else {
            let _ = writeln!(self.err, "{}", self.safe_err(line));
        }
    }

    /// Text on stdout (built-in output, a stage plugin's result), sanitised on a terminal.
    pub fn print(&mut self, text: &str) {
        let text = self.safe_out(text).into_owned();
        self.write_out(&text);
        if !text.ends_with('\n') {
            self.write_out("\n");
        }
    }
}
