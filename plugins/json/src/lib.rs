//! `json PATH`: pulls a field out of a JSON answer. AIs often wrap JSON in prose or a fenced
//! code block; the first JSON value in the text is used.

use aish_plugin_sdk::Stage;
use serde_json::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The plugin: the path, and the input gathered until it ends.
pub struct Json {
    path: Vec<Step>,
    input: String,
}

impl Stage for Json {
    fn create(args: Vec<String>, _context: String) -> Result<Self, String> {
        let path = match args.as_slice() {
            [] => Vec::new(),
            [path] => parse_path(path)?,
            _ => return Err("takes one PATH, like .choices[0].text (quote it if it has spaces)".into()),
        };
        Ok(Json { path, input: String::new() })
    }

    fn push(&mut self, chunk: &str) -> Result<String, String> {
        self.input.push_str(chunk);
        Ok(String::new())
    }

    fn finish(&mut self) -> Result<String, String> {
        let document = find_json(&self.input)?;
        let mut value = &document;
        let mut at = String::new();
        for step in &self.path {
            let shown = if at.is_empty() { ".".to_owned() } else { at.clone() };
            value = match step {
                Step::Key(key) => match value {
                    Value::Object(map) => map.get(key).ok_or_else(|| {
                        let keys: Vec<&str> = map.keys().map(String::as_str).take(10).collect();
                        format!("no `{key}` in the object at `{shown}` (it has: {})", keys.join(", "))
                    })?,
                    other => return Err(format!("`{shown}` is {}, not an object", kind(other))),
                },
                Step::Index(i) => match value {
                    Value::Array(items) => items.get(*i).ok_or_else(|| {
                        format!("index {i} is past the end of the list at `{shown}` ({} items)", items.len())
                    })?,
                    other => return Err(format!("`{shown}` is {}, not a list", kind(other))),
                },
            };
            match step {
                Step::Key(key) => at.push_str(&format!(".{key}")),
                Step::Index(i) => at.push_str(&format!("[{i}]")),
            }
        }
        Ok(match value {
            Value::String(text) => text.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        })
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `.a.b[0].c`, `a.b.0.c` or `.["key with spaces"]`.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    let bad = |why: &str| format!("`{path}` is not a path: {why} (write it like .choices[0].text)");
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]").ok_or_else(|| bad("a [\" without its \"]"))?;
            steps.push(Step::Key(after[..end].to_owned()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| bad("a [ without its ]"))?;
            let index = after[..end].trim().parse().map_err(|_| bad("an index must be a whole number"))?;
            steps.push(Step::Index(index));
            rest = &after[end + 1..];
        } else {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let word = &rest[..end];
            if !word.is_empty() {
                steps.push(match word.parse::<usize>() {
                    Ok(index) => Step::Index(index),
                    Err(_) => Step::Key(word.to_owned()),
                });
            } else if end < rest.len() && rest[end..].starts_with('.') {
                return Err(bad("an empty key"));
            }
            rest = &rest[end..];
        }
    }
    Ok(steps)
}

/// The first JSON object or list in `text`: the whole text, a fenced block, or the span from
/// the first `{`/`[` to its last `}`/`]`.
fn find_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str(trimmed) {
        return Ok(value);
    }
    if let Some(start) = trimmed.find("```") {
        let body = &trimmed[start + 3..];
        let body = body.trim_start_matches(|c: char| c.is_alphanumeric());
        if let Some(end) = body.find("```")
            && let Ok(value) = serde_json::from_str(body[..end].trim())
        {
            return Ok(value);
        }
    }
    for (open, close) in [('{', '}'), ('[', ']')] {
        if let (Some(start), Some(end)) = (trimmed.find(open), trimmed.rfind(close))
            && start < end
            && let Ok(value) = serde_json::from_str(&trimmed[start..=end])
        {
            return Ok(value);
        }
    }
    let shown: String = trimmed.chars().take(60).collect();
    Err(format!("the input holds no JSON object or list (it starts: {shown:?})"))
}

aish_plugin_sdk::register_stage!(Json);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &[&str], input: &str) -> Result<String, String> {
        let mut stage = Json::create(path.iter().map(|s| s.to_string()).collect(), "{}".into())?;
        stage.push(input)?;
        stage.finish()
    }

    #[test]
    fn paths_into_objects_and_lists() {
        let doc = r#"{"choices":[{"text":"hi"}],"n":2,"a b":{"c":true}}"#;
        assert_eq!(run(&[".choices[0].text"], doc).unwrap(), "hi");
        assert_eq!(run(&["choices.0.text"], doc).unwrap(), "hi");
        assert_eq!(run(&[".n"], doc).unwrap(), "2");
        assert_eq!(run(&[r#".["a b"].c"#], doc).unwrap(), "true");
        assert_eq!(run(&[".choices"], doc).unwrap(), "[\n  {\n    \"text\": \"hi\"\n  }\n]");
        assert_eq!(run(&[], "[1]").unwrap(), "[\n  1\n]");
    }

    #[test]
    fn json_inside_prose_or_a_fence() {
        assert_eq!(run(&[".x"], "Sure! Here it is:\n```json\n{\"x\": \"y\"}\n```\nAnything else?").unwrap(), "y");
        assert_eq!(run(&[".x"], "The answer is {\"x\": 1} as asked.").unwrap(), "1");
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(run(&[".a.b"], r#"{"a":{"c":1}}"#).unwrap_err(), "no `b` in the object at `.a` (it has: c)");
        assert_eq!(
            run(&[".a[3]"], r#"{"a":[1]}"#).unwrap_err(),
            "index 3 is past the end of the list at `.a` (1 items)"
        );
        assert_eq!(run(&[".a.b"], r#"{"a":5}"#).unwrap_err(), "`.a` is a number, not an object");
        assert!(run(&[".a"], "no json here").unwrap_err().starts_with("the input holds no JSON"));
        assert!(run(&[".a[x]"], "{}").unwrap_err().contains("whole number"));
        assert!(Json::create(vec!["a".into(), "b".into()], "{}".into()).is_err());
    }
}
