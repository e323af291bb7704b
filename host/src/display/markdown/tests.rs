//! Tests of the streaming Markdown renderer: the same output whole or character by character,
//! no Markdown syntax left on screen, wrapping (nesting, hanging indentation, long words, wide
//! characters), tables, code, colour off, and partial lines written early and never repeated.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Renderer;
use super::style::width as cols;

const SAMPLE: &str = "\
# Rooftop gardens

Rooftop gardens **cool** buildings and *feed* people. Use `soil` wisely; see [the guide](https://example.com/guide).

## Steps

1. Check the **load** the roof can bear before anything else.
2. Pick plants:
   - sedum, which needs very little water at all
   - herbs
     - basil
3. Water ~~daily~~ weekly.

> A quote that is long enough to wrap around at thirty columns.
> > nested

---

| Plant | Water | Sun |
|:------|:-----:|----:|
| Sedum | low | full |
| Basil | medium | partial |

```rust
fn main() {
    println!(\"hi\");
}
```

### Done
";

fn renderer(width: usize, color: bool) -> Renderer {
    Renderer::new(Box::new(move || width), color)
}

/// The whole text in one piece.
fn whole(text: &str, width: usize, color: bool) -> String {
    let mut r = renderer(width, color);
    let mut out = String::new();
    r.push(text, &mut out);
    r.finish(&mut out);
    out
}

/// The text one character at a time.
fn by_char(text: &str, width: usize, color: bool) -> String {
    let mut r = renderer(width, color);
    let mut out = String::new();
    let mut buf = [0u8; 4];
    for c in text.chars() {
        r.push(c.encode_utf8(&mut buf), &mut out);
    }
    r.finish(&mut out);
    out
}

/// The visible text: ANSI CSI sequences removed.
fn strip(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn whole_and_char_by_char_give_the_same_output() {
    for width in [30, 80] {
        for color in [true, false] {
            assert_eq!(whole(SAMPLE, width, color), by_char(SAMPLE, width, color), "width {width}");
        }
    }
}

#[test]
fn no_markdown_syntax_is_left_on_screen() {
    let shown = strip(&whole(SAMPLE, 80, true));
    for syntax in ["#", "**", "```", "|", "---|", "~~", "`", "[the guide]", "> "] {
        assert!(!shown.contains(syntax), "{syntax:?} left in:\n{shown}");
    }
    for kept in
        ["Rooftop gardens", "cool", "see the guide", "(https://example.com/guide).", "• sedum", "◦ basil", "│ │ nested"]
    {
        assert!(shown.contains(kept), "{kept:?} missing in:\n{shown}");
    }
    assert!(shown.contains("1. Check"), "numbers are kept:\n{shown}");
    assert!(shown.contains("3. Water daily weekly."), "{shown}");
    assert!(shown.lines().any(|l| l.chars().all(|c| c == '─') && cols(l) == 80), "a rule:\n{shown}");
}

#[test]
fn lists_nest_and_wrap_with_hanging_indentation() {
    let text = "\
- first item whose text is long enough to wrap twice over at thirty
  - nested item that also wraps around the width
1. numbered item wrapping its text around
";
    let shown = strip(&whole(text, 30, false));
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines.iter().all(|l| cols(l) <= 30), "{shown}");
    assert!(lines[0].starts_with("• first"), "{shown}");
    assert!(lines[1].starts_with("  ") && !lines[1].starts_with("   "), "hanging indent:\n{shown}");
    let nested = lines.iter().position(|l| l.starts_with("  ◦ nested")).expect(&shown);
    assert!(lines[nested + 1].starts_with("    ") && !lines[nested + 1].starts_with("     "), "{shown}");
    let numbered = lines.iter().position(|l| l.starts_with("1. numbered")).expect(&shown);
    assert!(lines[numbered + 1].starts_with("   ") && !lines[numbered + 1].starts_with("    "), "{shown}");
}

#[test]
fn a_long_word_is_never_split() {
    let word = "supercalifragilisticexpialidocious-and-then-some";
    let text = format!("a few words then {word} and more words after it\n");
    let shown = strip(&whole(&text, 20, true));
    assert!(shown.lines().any(|l| l == word), "the word on its own line:\n{shown}");
    let words: Vec<&str> = shown.split_whitespace().collect();
    let source: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words, source, "no word split or lost");
    for l in shown.lines().filter(|l| *l != word) {
        assert!(cols(l) <= 20, "{l:?}");
    }
}

#[test]
fn wide_characters_and_emoji_are_measured() {
    let text = "你好世界你好世界你好世界 🎉🎉 party 🎉🎉🎉🎉 done\n";
    let shown = strip(&whole(text, 10, true));
    for l in shown.lines() {
        assert!(cols(l) <= 10, "{l:?} is {} columns:\n{shown}", cols(l));
    }
    assert_eq!(shown.lines().next(), Some("你好世界你"), "CJK breaks between characters");
    let joined: String = shown.split_whitespace().collect();
    let source: String = text.split_whitespace().collect();
    assert_eq!(joined, source);
}

#[test]
fn a_table_is_aligned() {
    let text = "\
| Name | Score | Note |
|------|------:|:----:|
| Ann | 7 | *fine* |
| Bartholomew | 12345 | ok |

after
";
    let shown = strip(&whole(text, 80, true));
    let rows: Vec<&str> = shown.lines().take_while(|l| *l != "after" && !l.is_empty()).collect();
    assert_eq!(rows.len(), 6, "top, header, rule, two rows, bottom:\n{shown}");
    let w = cols(rows[0]);
    assert!(rows.iter().all(|r| cols(r) == w), "every row as wide:\n{shown}");
    assert!(rows[0].starts_with('┌') && rows[2].starts_with('├') && rows[5].starts_with('└'), "{shown}");
    assert!(!shown.contains('|') && !shown.contains("---") && !shown.contains('*'), "{shown}");
    // The separators line up, and the alignments hold.
    let bars = |r: &str| r.char_indices().filter(|(_, c)| *c == '│').count();
    assert!(rows[1..5].iter().filter(|r| r.starts_with('│')).all(|r| bars(r) == 4), "{shown}");
    assert!(rows[3].contains("│ Ann         │     7 │ fine │"), "{shown}");
    assert!(rows[4].contains("│ Bartholomew │ 12345 │  ok  │"), "{shown}");
}

#[test]
fn a_wide_table_wraps_its_cells_to_fit() {
    let text = "| a | b |\n|---|---|\n| one two three four five six | seven eight nine ten eleven |\n";
    let shown = strip(&whole(text, 30, false));
    assert!(shown.lines().all(|l| cols(l) <= 30), "{shown}");
    let joined: String =
        shown.split_whitespace().filter(|w| w.chars().all(char::is_alphabetic)).collect::<Vec<_>>().join(" ");
    assert!(joined.contains("one two"), "{shown}");
}

#[test]
fn a_table_of_long_words_breaks_them_rather_than_overflow() {
    let text = "| flag | url | note |\n|---|---|---|\n| --allow-everything-dangerous | https://example.com/a/very/long/path/to/a/page | é漢字 ok |\n";
    for width in [80, 40, 20] {
        let shown = strip(&whole(text, width, false));
        assert!(shown.lines().all(|l| cols(l) <= width), "at {width}:\n{shown}");
        // Every character is still there, in order, once the frame is taken away.
        let letters: String = shown.chars().filter(|c| c.is_alphanumeric()).collect();
        assert!(letters.contains("allowev") || width < 40, "at {width}:\n{shown}");
    }
    let narrow = strip(&whole(text, 30, false));
    let body = narrow.lines().skip_while(|l| !l.starts_with('├')).skip(1);
    let url: String = body.filter_map(|l| l.split('│').nth(2)).map(str::trim).collect();
    assert_eq!(url, "https://example.com/a/very/long/path/to/a/page", "{narrow}");
}

#[test]
fn code_is_highlighted_and_verbatim() {
    let long = format!("let x = \"{}\"; // **not bold** # not a heading", "y".repeat(60));
    let text = format!("```rust\n{long}\nfn f() {{}}\n```\n");
    let colored = whole(&text, 30, true);
    assert!(colored.contains("\x1b[38;2;") || colored.contains("\x1b[38;5;"), "highlighted: {colored:?}");
    let shown = strip(&colored);
    assert_eq!(shown, format!("{long}\nfn f() {{}}\n"), "verbatim, not wrapped, no fences");
    // No language: plain, still verbatim.
    let plain = whole("~~~\n  *x*  \n~~~\n", 30, true);
    assert_eq!(plain, "  *x*  \n");
}

#[test]
fn no_color_keeps_the_layout_without_escapes() {
    for width in [30, 80] {
        let plain = whole(SAMPLE, width, false);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        assert_eq!(plain, strip(&whole(SAMPLE, width, true)));
    }
}

#[test]
fn a_partial_line_is_written_once_and_continued() {
    let mut r = renderer(80, true);
    let mut out = String::new();
    r.push("Intro line\nHello big wor", &mut out);
    assert_eq!(strip(&out), "Intro line\n");
    assert!(r.holding());
    r.flush_partial(&mut out);
    assert_eq!(strip(&out), "Intro line\nHello big", "complete words written, the word arriving waits");
    assert!(!r.holding(), "nothing more to flush until text comes");
    let before = out.len();
    r.push("ld, **bold te", &mut out);
    r.flush_partial(&mut out);
    r.push("xt** and `co", &mut out);
    r.flush_partial(&mut out);
    r.push("de` [link](http://x.y) end\nnext\n", &mut out);
    let tail = strip(&out[before..]);
    assert!(!tail.contains("Hello"), "never repeated: {tail:?}");
    assert_eq!(strip(&out), "Intro line\nHello big world, bold text and code link (http://x.y) end\nnext\n");
    assert!(out.contains("\x1b[1mbold"), "styled while streaming: {out:?}");
    r.finish(&mut out);
    assert!(out.ends_with('\n'));
}

#[test]
fn a_partial_word_at_a_line_start_is_written() {
    let mut r = renderer(80, false);
    let mut out = String::new();
    r.push("Streaming", &mut out);
    r.flush_partial(&mut out);
    assert_eq!(out, "Streaming");
    r.push(" on", &mut out);
    r.finish(&mut out);
    assert_eq!(out, "Streaming on", "ends open, as the text did");
}

#[test]
fn partial_lines_of_unknown_kind_wait() {
    for partial in ["#", "##", "1.", "---", "```", "| a | b", "- "] {
        let mut r = renderer(80, false);
        let mut out = String::new();
        r.push(partial, &mut out);
        r.flush_partial(&mut out);
        assert_eq!(out, "", "{partial:?} waits");
    }
}

/// Each character with the colour it is shown in (the last SGR sequence in force; none for
/// white space, whose foreground colour does not show).
fn styled(s: &str) -> Vec<(char, String)> {
    let (mut shown, mut pen, mut chars) = (Vec::new(), String::new(), s.chars());
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            shown.push((c, if c.is_whitespace() { String::new() } else { pen.clone() }));
            continue;
        }
        let mut seq = String::from("\x1b");
        for d in chars.by_ref() {
            seq.push(d);
            if d.is_ascii_alphabetic() {
                break;
            }
        }
        if seq.ends_with('m') {
            pen = if seq == "\x1b[0m" { String::new() } else { seq };
        }
    }
    shown
}

#[test]
fn a_code_line_arriving_in_pieces_is_highlighted_as_a_whole_one_is() {
    let text = "```python\ndef f(x):\n    return x + 1  # one more\n\nclass A:\n    s = \"a string, with spaces\"\n```\n\n\
                ```rust\nfn main() {\n    let v: Vec<u8> = vec![1, 2];\n    println!(\"{v:?}\");\n}\n```\n";
    let mut r = renderer(80, true);
    let mut out = String::new();
    let mut buf = [0u8; 4];
    for c in text.chars() {
        r.push(c.encode_utf8(&mut buf), &mut out);
        r.flush_partial(&mut out);
    }
    r.finish(&mut out);
    let whole = whole(text, 80, true);
    assert!(whole.contains("\x1b[38;"), "highlighted: {whole:?}");
    assert_eq!(styled(&out), styled(&whole), "streamed: {out:?}");
}

#[test]
fn a_partial_code_line_is_written_to_its_last_whole_word() {
    let mut r = renderer(80, true);
    let mut out = String::new();
    r.push("```python\nprint(1", &mut out);
    r.flush_partial(&mut out);
    assert_eq!(out, "", "no whole word yet");
    r.push(", two", &mut out);
    r.flush_partial(&mut out);
    assert_eq!(strip(&out), "print(1, ", "the word arriving waits");
    assert!(out.contains("\x1b[38;"), "in colour already: {out:?}");
    r.push(")\nx = 2\n``", &mut out);
    r.flush_partial(&mut out);
    r.push("`\nafter\n", &mut out);
    r.finish(&mut out);
    assert_eq!(strip(&out), "print(1, two)\nx = 2\nafter\n");
    // A language aish does not know: each piece is written as it comes.
    let mut r = renderer(80, true);
    let mut out = String::new();
    r.push("```\nprint(1", &mut out);
    r.flush_partial(&mut out);
    assert_eq!(out, "print(1");
}

#[test]
fn a_table_still_arriving_is_printed_on_flush_and_continued() {
    let mut r = renderer(80, false);
    let mut out = String::new();
    r.push("| a | b |\n|---|---|\n| 1 | 2 |\n", &mut out);
    assert_eq!(out, "", "held until complete");
    assert!(r.holding());
    r.flush_partial(&mut out);
    assert!(out.contains("│ 1"), "{out}");
    let printed = out.len();
    r.push("| 3 | 4 |\n", &mut out);
    assert!(out[printed..].contains("│ 3"), "later rows print as they come: {out}");
    r.push("done\n", &mut out);
    r.finish(&mut out);
    assert!(!out.contains('|'), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with('└')).count(), 1, "{out}");
    assert!(out.ends_with("done\n"));
}

#[test]
fn a_long_table_starts_printing_before_it_ends() {
    let mut r = renderer(80, false);
    let mut out = String::new();
    r.push("| n | sq |\n|---|---|\n", &mut out);
    for i in 0..60 {
        r.push(&format!("| {i} | {} |\n", i * i), &mut out);
    }
    assert!(out.contains("│ 41"), "printed before the table ended");
    r.finish(&mut out);
    assert!(out.contains("│ 59 "), "{out}");
    assert!(out.trim_end().ends_with('┘'));
}

#[test]
fn finish_ends_open_or_closed_as_the_text_did() {
    assert_eq!(whole("one\ntwo", 80, false), "one\ntwo");
    assert_eq!(whole("one\ntwo\n", 80, false), "one\ntwo\n");
    assert_eq!(whole("| a |\n|---|\n| b |", 80, false).chars().last(), Some('┘'));
    assert_eq!(whole("", 80, true), "");
}

#[test]
fn the_width_is_asked_for_each_line() {
    let width = Arc::new(AtomicUsize::new(80));
    let w = width.clone();
    let mut r = Renderer::new(Box::new(move || w.load(Ordering::Relaxed)), false);
    let mut out = String::new();
    let line = "aaaa bbbb cccc dddd eeee ffff\n";
    r.push(line, &mut out);
    width.store(10, Ordering::Relaxed);
    r.push(line, &mut out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], line.trim_end());
    assert_eq!(lines[1..], ["aaaa bbbb", "cccc dddd", "eeee ffff"]);
}

#[test]
fn headings_quotes_and_paragraph_details() {
    let text = "## Title ##\n\n> quoted *text*\n>\n> more\n\n- [ ] todo\n- [x] done\n\nA&amp;B \\*not em\\* <br> end\n";
    let shown = strip(&whole(text, 80, true));
    assert_eq!(shown, "Title\n\n│ quoted text\n│\n│ more\n\n• ☐ todo\n• ☑ done\n\nA&B *not em*   end\n");
}

#[test]
fn the_renderer_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<Renderer>();
}

#[test]
fn a_partial_heading_is_continued_without_its_closing_hashes() {
    let mut r = renderer(80, true);
    let mut out = String::new();
    r.push("## Intro to th", &mut out);
    r.flush_partial(&mut out);
    assert_eq!(strip(&out), "Intro to");
    assert!(out.starts_with("\x1b[1;35mIntro"), "styled as a heading: {out:?}");
    r.push("e topic #", &mut out);
    r.flush_partial(&mut out);
    r.push("#\n- item te", &mut out);
    r.flush_partial(&mut out);
    r.push("xt\n", &mut out);
    assert_eq!(strip(&out), "Intro to the topic\n• item text\n");
}

/// A small deterministic generator for the pieces' sizes.
fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn random_pieces_and_pauses_show_the_same_words() {
    let boxes = |w: &&str| !w.chars().all(|c| "─┌┐└┘├┤┬┴┼│".contains(c));
    // Outside frames, the same words; inside them (a table laid out before its last rows came
    // may break a longer word there), the same characters.
    let words = |shown: &str| -> Vec<String> {
        shown
            .lines()
            .filter(|l| !l.contains('│'))
            .flat_map(str::split_whitespace)
            .filter(boxes)
            .map(str::to_owned)
            .collect()
    };
    let framed = |shown: &str| -> Vec<char> {
        let mut chars: Vec<char> = shown
            .lines()
            .filter(|l| l.contains('│'))
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace() && !"─┌┐└┘├┤┬┴┼│".contains(*c))
            .collect();
        chars.sort_unstable();
        chars
    };
    for width in [16, 30, 80] {
        let whole_shown = strip(&whole(SAMPLE, width, true));
        let (expected, expected_framed) = (words(&whole_shown), framed(&whole_shown));
        for seed in 1..40u64 {
            let mut seed = seed * 7919;
            let mut r = renderer(width, true);
            let mut out = String::new();
            let chars: Vec<char> = SAMPLE.chars().collect();
            let mut i = 0;
            while i < chars.len() {
                let n = (xorshift(&mut seed) % 7 + 1) as usize;
                let piece: String = chars[i..(i + n).min(chars.len())].iter().collect();
                i += n;
                r.push(&piece, &mut out);
                if xorshift(&mut seed).is_multiple_of(3) && r.holding() {
                    r.flush_partial(&mut out);
                }
            }
            r.finish(&mut out);
            let shown = strip(&out);
            assert_eq!(words(&shown), expected, "width {width}:\n{shown}");
            assert_eq!(framed(&shown), expected_framed, "width {width}:\n{shown}");
            for l in shown.lines().filter(|l| !l.contains('│') && !l.starts_with("    println")) {
                assert!(cols(l) <= width || l.split_whitespace().count() == 1, "{l:?} wider than {width}");
            }
        }
    }
}

#[test]
fn an_image_shows_its_text_and_url() {
    let shown = strip(&whole("See ![a chart](https://e.com/i.png) here.\n![img](https://e.com/j.png)\n", 80, false));
    assert!(shown.contains("a chart (https://e.com/i.png)"), "{shown}");
    assert!(shown.contains("img (https://e.com/j.png)"), "{shown}");
    // Streamed a character at a time with a pause after each, the same.
    let mut r = renderer(80, false);
    let mut out = String::new();
    for c in "![img](https://e.com/j.png) after\n".chars() {
        r.push(&c.to_string(), &mut out);
        r.flush_partial(&mut out);
    }
    r.finish(&mut out);
    assert!(strip(&out).contains("img (https://e.com/j.png) after"), "{}", strip(&out));
}
