//! Builds the pipeline AST from tokens.

use super::lexer::{Span, Token, tokenize};
use super::{Command, Context, ParseError, Pipeline, Redirect, Stage};

/// Parses one line into a pipeline. An empty line (or only a comment) gives `None`.
pub fn parse(line: &str) -> Result<Option<Pipeline>, ParseError> {
    parse_with_context(line, &Context::new())
}

/// Parses one line and attaches the caller's `context` to the pipeline and to each stage.
pub fn parse_with_context(line: &str, context: &Context) -> Result<Option<Pipeline>, ParseError> {
    let tokens = tokenize(line)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut pipeline = Pipeline { stages: Vec::new(), input: None, output: None, context: context.clone() };
    // The branches of the stage being read, and the command being read.
    let mut branches: Vec<Command> = Vec::new();
    let mut current: Option<Command> = None;
    let mut iter = tokens.into_iter().peekable();
    while let Some((token, span)) = iter.next() {
        match token {
            Token::Word { text, quoted } => match current.as_mut() {
                Some(command) => command.args.push(text),
                None => {
                    current = Some(Command {
                        name: text,
                        name_quoted: quoted,
                        args: Vec::new(),
                        span,
                        context: context.clone(),
                    })
                }
            },
            Token::Pipe => {
                output_is_last(line, &pipeline)?;
                let command = current.take().ok_or_else(|| {
                    let what = match (pipeline.stages.is_empty(), branches.is_empty()) {
                        (_, false) => "a command between `&` and `|`",
                        (true, true) => "a command before `|`",
                        (false, true) => "a command between `|` and `|`",
                    };
                    ParseError::at(line, span.start, &format!("expected {what}"))
                })?;
                branches.push(command);
                pipeline.stages.push(Stage { branches: std::mem::take(&mut branches) });
                if iter.peek().is_none() {
                    let mut error = ParseError::at(line, span.start, "expected a command after `|`");
                    error.incomplete = true;
                    return Err(error);
                }
            }
            Token::Amp => {
                output_is_last(line, &pipeline)?;
                let command =
                    current.take().ok_or_else(|| ParseError::at(line, span.start, "expected an AI before `&`"))?;
                branches.push(command);
                if !matches!(iter.peek(), Some((Token::Word { .. }, _))) {
                    return Err(ParseError::at(line, span.start, "expected an AI after `&`"));
                }
            }
            Token::Less | Token::Great | Token::GreatGreat => {
                let (path, path_span) = match iter.next() {
                    Some((Token::Word { text, .. }, s)) => (text, s),
                    _ => {
                        return Err(ParseError::at(line, span.start, "expected a file name after the redirect"));
                    }
                };
                if token == Token::Less && !pipeline.stages.is_empty() {
                    let message = "`<` feeds the first stage, which the `|` before it already does: \
                                   put it before the first `|`";
                    return Err(ParseError::at(line, span.start, message));
                }
                let redirect = Redirect { path, append: token == Token::GreatGreat, span: join(span, path_span) };
                let slot = if token == Token::Less { &mut pipeline.input } else { &mut pipeline.output };
                if slot.is_some() {
                    return Err(ParseError::at(
                        line,
                        span.start,
                        "this is a second redirect of the same kind; keep one",
                    ));
                }
                *slot = Some(redirect);
            }
        }
    }
    match current {
        Some(command) => {
            branches.push(command);
            pipeline.stages.push(Stage { branches });
        }
        None if pipeline.stages.is_empty() => {
            let at = pipeline.input.as_ref().or(pipeline.output.as_ref()).map_or(0, |r| r.span.start);
            return Err(ParseError::at(line, at, "expected a command, not only a redirect"));
        }
        None => {}
    }
    Ok(Some(pipeline))
}

/// An error when an output redirect stands before a `|` or `&` about to be read: the file takes
/// the final answer (sh would send this stage's there, and none on).
fn output_is_last(line: &str, pipeline: &Pipeline) -> Result<(), ParseError> {
    match &pipeline.output {
        Some(output) => {
            Err(ParseError::at(line, output.span.start, "`>` takes the final answer: put it after the last stage"))
        }
        None => Ok(()),
    }
}

fn join(a: Span, b: Span) -> Span {
    Span { start: a.start.min(b.start), end: a.end.max(b.end) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<(String, Vec<String>)> {
        parse(line).unwrap().unwrap().commands().map(|c| (c.name.clone(), c.args.clone())).collect()
    }

    #[test]
    fn fan_out_stages() {
        let p = parse("echo x | apollo & athena | hermes").unwrap().unwrap();
        let shape: Vec<Vec<&str>> =
            p.stages.iter().map(|s| s.branches.iter().map(|c| c.name.as_str()).collect()).collect();
        assert_eq!(shape, vec![vec!["echo"], vec!["apollo", "athena"], vec!["hermes"]]);
        assert_eq!(names("echo 'a & b'"), vec![cmd("echo", &["a & b"])]);
        assert_eq!(error("apollo &").message, "expected an AI after `&`");
        assert_eq!(error("apollo & | x").message, "expected an AI after `&`");
        assert_eq!(error("& apollo").message, "expected an AI before `&`");
        assert_eq!(error("echo x | apollo & | x").column, 17);
    }

    #[test]
    fn context_is_attached_to_the_pipeline_and_every_stage() {
        let mut context = Context::new();
        context.insert("project".into(), "tekton".into());
        let p = parse_with_context("echo x | apollo & athena", &context).unwrap().unwrap();
        assert_eq!(p.context, context);
        assert!(p.commands().all(|c| c.context == context));
    }

    fn cmd(name: &str, args: &[&str]) -> (String, Vec<String>) {
        (name.into(), args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn echo_into_two_ais() {
        assert_eq!(
            names(r#"echo "an idea" | apollo | athena"#),
            vec![cmd("echo", &["an idea"]), cmd("apollo", &[]), cmd("athena", &[])]
        );
    }

    #[test]
    fn posix_quoting() {
        assert_eq!(
            names(r#"echo 'a | b' "c \"d\" \$e \x" f\ g"#),
            vec![cmd("echo", &["a | b", r#"c "d" $e \x"#, "f g"])]
        );
        assert_eq!(names(r#"echo it's"#.replace("it's", r#"it"'"s"#).as_str()), vec![cmd("echo", &["it's"])]);
        assert_eq!(names("echo ''"), vec![cmd("echo", &[""])]);
    }

    #[test]
    fn redirects() {
        let p = parse("apollo < in.txt >> out.txt").unwrap().unwrap();
        assert_eq!(p.input.unwrap().path, "in.txt");
        let out = p.output.unwrap();
        assert_eq!((out.path.as_str(), out.append), ("out.txt", true));
        let p = parse("echo hi | apollo > 'my file'").unwrap().unwrap();
        assert_eq!(p.output.unwrap().path, "my file");
        let p = parse("< in.txt apollo | athena").unwrap().unwrap();
        assert_eq!(p.input.unwrap().path, "in.txt");
    }

    #[test]
    fn a_redirect_stands_where_it_acts() {
        // Input feeds the first stage only; the final answer alone goes to a file.
        let e = error("echo hi | apollo < notes.txt");
        assert!(e.column == 18 && e.message.contains("before the first `|`"), "{e:?}");
        let e = error("apollo hi > out.txt | athena");
        assert!(e.column == 11 && e.message.contains("after the last stage"), "{e:?}");
        let e = error("echo hi >> out.txt | apollo & athena");
        assert!(e.column == 9 && e.message.contains("after the last stage"), "{e:?}");
        let e = error("echo hi | apollo > out.txt & athena");
        assert!(e.column == 18 && e.message.contains("after the last stage"), "{e:?}");
    }

    #[test]
    fn comments_and_empty_lines() {
        assert!(parse("   ").unwrap().is_none());
        assert!(parse("# nothing").unwrap().is_none());
        assert_eq!(names("echo a # b"), vec![cmd("echo", &["a"])]);
        assert_eq!(names("echo a#b"), vec![cmd("echo", &["a#b"])]);
    }

    fn error(line: &str) -> ParseError {
        parse(line).unwrap_err()
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = error("echo hi | | apollo");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("between"));
        let e = error("| apollo");
        assert_eq!(e.column, 1);
        let e = error("echo hi |");
        assert!(e.incomplete && e.message.contains("after `|`"));
        let e = error("echo 'open");
        assert!(e.incomplete && e.column == 6 && e.message.contains("never closed"));
        let e = error("apollo >");
        assert!(e.message.contains("file name"));
        let e = error("apollo > a > b");
        assert!(e.message.contains("second redirect"));
        let e = error("> out");
        assert!(e.message.contains("not only a redirect"));
        let e = error("echo a\\");
        assert!(e.message.contains("backslash"));
    }

    #[test]
    fn caret_points_at_the_column_in_characters() {
        let e = error("echo “ü” | | x");
        let rendered = e.render();
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines[1], "echo “ü” | | x");
        assert_eq!(lines[2].chars().count(), e.column, "caret under column {}", e.column);
        assert!(lines[2].ends_with('^'));
    }

    #[test]
    fn a_long_or_continued_line_is_shown_around_the_column() {
        // A megabyte of words, then the mistake: a stretch of the line around it, not all.
        let long = format!("echo {} | | x", "word ".repeat(200_000));
        let e = error(&long);
        let rendered = e.render();
        let lines: Vec<&str> = rendered.lines().collect();
        assert!(rendered.len() < 400, "{} bytes", rendered.len());
        assert!(lines[1].starts_with('…') && lines[1].contains("| | x"), "{}", lines[1]);
        let caret = lines[2].chars().count() - 1;
        assert_eq!(lines[1].chars().nth(caret), Some('|'), "caret under the second `|`: {rendered}");
        assert_eq!(lines[1].chars().nth(caret + 1), Some(' '));
        // A command continued over lines: the line holding the column, caret under it.
        let e = error("echo one |\n  head 1 | |");
        let rendered = e.render();
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines[1], "  head 1 | |");
        assert_eq!(lines[2], "           ^");
    }
}
