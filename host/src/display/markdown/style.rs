//! The renderer's look and how styled text reaches the output: the styles of each Markdown
//! element, combining nested styles, measuring text, and the [`Pen`] that writes styled text
//! as ANSI (or as bare text when colour is off, with the same layout).

use nu_ansi_term::{Color, Style};
use unicode_width::UnicodeWidthStr;

/// A run of text in one style.
pub(super) type Span = (Style, String);

/// The columns `text` takes on a terminal (wide characters and emoji count two).
pub(super) fn width(text: &str) -> usize {
    // Printable ASCII (control characters never get here) is one column a byte.
    if text.is_ascii() { text.len() } else { UnicodeWidthStr::width(text) }
}

/// The columns a row of spans takes.
pub(super) fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(|(_, t)| width(t)).sum()
}

/// `top` applied inside `base`: attributes add up, the inner colour wins.
pub(super) fn over(base: Style, top: Style) -> Style {
    Style {
        foreground: top.foreground.or(base.foreground),
        background: top.background.or(base.background),
        is_bold: base.is_bold || top.is_bold,
        is_dimmed: base.is_dimmed || top.is_dimmed,
        is_italic: base.is_italic || top.is_italic,
        is_underline: base.is_underline || top.is_underline,
        is_blink: false,
        is_reverse: base.is_reverse || top.is_reverse,
        is_hidden: false,
        is_strikethrough: base.is_strikethrough || top.is_strikethrough,
        prefix_with_reset: false,
    }
}

/// A heading of `level` (1 to 6).
pub(super) fn heading(level: u8) -> Style {
    match level {
        1 => Color::Purple.bold().underline(),
        2 => Color::Purple.bold(),
        3 => Color::Cyan.bold(),
        _ => Style::new().bold(),
    }
}

/// `*emphasis*`.
pub(super) fn emphasis() -> Style {
    Style::new().italic()
}

/// `**strong**`.
pub(super) fn strong() -> Style {
    Style::new().bold()
}

/// `~~strikethrough~~`.
pub(super) fn strike() -> Style {
    Style::new().strikethrough()
}

/// `` `inline code` ``.
pub(super) fn code() -> Style {
    Style::new().fg(Color::Yellow)
}

/// A link's text.
pub(super) fn link() -> Style {
    Style::new().fg(Color::Blue).underline()
}

/// A link's URL, shown after its text.
pub(super) fn url() -> Style {
    Style::new().dimmed()
}

/// The `│` of a block quote, rules and table borders.
pub(super) fn frame() -> Style {
    Style::new().dimmed()
}

/// A list item's bullet or number.
pub(super) fn bullet() -> Style {
    Style::new().fg(Color::Cyan)
}

/// Writes styled text, switching styles only when they change; with colour off it writes the
/// text alone. The style is reset before every line end ([`Pen::end`]), so nothing leaks into
/// the next line or into what the caller writes after a partial line.
pub(super) struct Pen {
    color: bool,
    /// The style the terminal is in now.
    current: Style,
}

impl Pen {
    /// A pen that styles (`color`) or only lays out.
    pub(super) fn new(color: bool) -> Self {
        Pen { color, current: Style::new() }
    }

    /// Whether styles are written at all.
    pub(super) fn color(&self) -> bool {
        self.color
    }

    /// Writes `text` in `style`.
    pub(super) fn put(&mut self, out: &mut String, style: Style, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.color && style != self.current {
            self.end(out);
            use std::fmt::Write as _;
            let _ = write!(out, "{}", style.prefix());
            self.current = style;
        }
        out.push_str(text);
    }

    /// Writes `spans` in order.
    pub(super) fn put_spans(&mut self, out: &mut String, spans: &[Span]) {
        for (style, text) in spans {
            self.put(out, *style, text);
        }
    }

    /// Returns the terminal to the plain style.
    pub(super) fn end(&mut self, out: &mut String) {
        if self.current != Style::new() {
            out.push_str("\x1b[0m");
            self.current = Style::new();
        }
    }

    /// Ends the output line: resets the style, then `\n`.
    pub(super) fn newline(&mut self, out: &mut String) {
        self.end(out);
        out.push('\n');
    }
}
