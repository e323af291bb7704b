//! Inline Markdown of one complete line (a paragraph line, a heading, a table cell) turned into
//! styled spans with `pulldown-cmark`: emphasis, strong, strikethrough, inline code (verbatim),
//! links and images (their text, then the URL in parentheses), entities and escapes. Text with
//! none of the characters inline Markdown uses skips the parser.

use nu_ansi_term::Style;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::style::{self, Span, over};

/// Bytes that can start inline Markdown; a line without any is plain text.
fn special(b: u8) -> bool {
    matches!(b, b'*' | b'_' | b'`' | b'[' | b'<' | b'&' | b'\\' | b'~')
}

/// Whether `text` has no inline Markdown at all (it is shown as it is).
pub(super) fn is_plain(text: &str) -> bool {
    !text.bytes().any(special)
}

/// The spans of `text` (one line, block markers already removed), on top of `base`.
pub(super) fn spans(text: &str, base: Style, spans: &mut Vec<Span>) {
    if is_plain(text) {
        push(spans, base, text);
        return;
    }
    // A no-break space first keeps the parser from reading block syntax (`1. `, `> `, `[x]: `)
    // into what is only a line's text; the parser counts it as whitespace, as a line start is.
    let mut source = String::with_capacity(text.len() + 2);
    source.push('\u{a0}');
    source.push_str(text);
    let mut stack: Vec<Style> = vec![base];
    // The link or image being read: where its text starts in `spans` and its URL.
    let mut links: Vec<(usize, String)> = Vec::new();
    let mut lead = true;
    for event in Parser::new_ext(&source, Options::ENABLE_STRIKETHROUGH) {
        let top = stack.last().copied().unwrap_or(base);
        match event {
            Event::Text(t) => {
                let t: &str = if lead { t.strip_prefix('\u{a0}').unwrap_or(&t) } else { &t };
                lead = false;
                push(spans, top, t);
            }
            Event::Code(t) => push(spans, over(top, style::code()), &t),
            Event::Html(t) | Event::InlineHtml(t) => {
                let lower = t.trim().to_ascii_lowercase();
                if matches!(lower.as_str(), "<br>" | "<br/>" | "<br />") {
                    push(spans, top, " ");
                } else {
                    push(spans, top, &t);
                }
            }
            Event::SoftBreak | Event::HardBreak => push(spans, top, " "),
            Event::FootnoteReference(t) => push(spans, top, &format!("[^{t}]")),
            Event::InlineMath(t) | Event::DisplayMath(t) => push(spans, top, &t),
            Event::Start(tag) => {
                let add = match tag {
                    Tag::Emphasis => style::emphasis(),
                    Tag::Strong => style::strong(),
                    Tag::Strikethrough => style::strike(),
                    Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                        links.push((spans.len(), dest_url.to_string()));
                        style::link()
                    }
                    _ => Style::new(),
                };
                stack.push(over(top, add));
            }
            Event::End(end) => {
                if stack.len() > 1 {
                    stack.pop();
                }
                if matches!(end, TagEnd::Link | TagEnd::Image)
                    && let Some((from, url)) = links.pop()
                {
                    let shown: String = spans[from..].iter().map(|(_, t)| t.as_str()).collect();
                    let bare = url.strip_prefix("mailto:").unwrap_or(&url);
                    if !url.is_empty() && shown != url && shown != bare {
                        let outer = stack.last().copied().unwrap_or(base);
                        push(spans, over(outer, style::url()), &format!(" ({url})"));
                    }
                }
            }
            Event::TaskListMarker(done) => push(spans, top, if done { "[x]" } else { "[ ]" }),
            Event::Rule => {}
        }
    }
}

/// Adds `text` in `style`, joining it to the last span when the style is the same.
pub(super) fn push(spans: &mut Vec<Span>, style: Style, text: &str) {
    if text.is_empty() {
        return;
    }
    match spans.last_mut() {
        Some((s, t)) if *s == style => t.push_str(text),
        _ => spans.push((style, text.to_owned())),
    }
}
