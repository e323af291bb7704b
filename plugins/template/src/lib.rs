//! `template TEXT`: wraps the input in TEXT. Placeholders: `{input}`, `{previous_ai}`,
//! `{pipeline_position}`, `{session_id}`, `{context.KEY}`; `{{` and `}}` stand for braces.

use aish_plugin_sdk::Stage;
use serde_json::Value;

/// The plugin.
pub struct Template {
    text: String,
    context: Value,
    input: String,
}

impl Stage for Template {
    fn create(args: Vec<String>, context: String) -> Result<Self, String> {
        if args.is_empty() {
            return Err("needs a TEXT with placeholders, like template 'Summarise: {input}'".into());
        }
        let context = serde_json::from_str(&context).unwrap_or(Value::Null);
        let template = Template { text: args.join(" "), context, input: String::new() };
        // Checked now, so a mistake is reported before any input is read.
        template.render("")?;
        Ok(template)
    }

    fn push(&mut self, chunk: &str) -> Result<String, String> {
        self.input.push_str(chunk);
        Ok(String::new())
    }

    fn finish(&mut self) -> Result<String, String> {
        self.render(&self.input)
    }
}

impl Template {
    fn render(&self, input: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find(['{', '}']) {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("{{") {
                out.push('{');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("}}") {
                out.push('}');
                rest = after;
            } else if rest.starts_with('}') {
                return Err("a lone `}`: write `}}` for a brace".into());
            } else {
                let end = rest.find('}').ok_or("a `{` without its `}`: write `{{` for a brace")?;
                out.push_str(&self.value(&rest[1..end], input)?);
                rest = &rest[end + 1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn value(&self, name: &str, input: &str) -> Result<String, String> {
        let from_context = |key: &str| match self.context.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Ok(other.to_string()),
        };
        match name.trim() {
            "input" => Ok(input.to_owned()),
            key @ ("previous_ai" | "pipeline_position" | "session_id") => from_context(key),
            other => match other.strip_prefix("context.") {
                Some(key) if self.context.get(key).is_some() => from_context(key),
                Some(key) => Err(format!("the context has no `{key}`; set it with `context set {key} VALUE`")),
                None => Err(format!(
                    "unknown placeholder {{{other}}}: use {{input}}, {{previous_ai}}, {{pipeline_position}}, {{session_id}} or {{context.KEY}}"
                )),
            },
        }
    }
}

aish_plugin_sdk::register_stage!(Template);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, context: &str, input: &str) -> Result<String, String> {
        let mut stage = Template::create(vec![text.into()], context.into())?;
        stage.push(input)?;
        stage.finish()
    }

    #[test]
    fn placeholders_and_braces() {
        let context = r#"{"previous_ai":"apollo","pipeline_position":2,"project":"tekton"}"#;
        assert_eq!(
            run("From {previous_ai} ({pipeline_position}) on {context.project}: {input} {{ok}}", context, "hi")
                .unwrap(),
            "From apollo (2) on tekton: hi {ok}"
        );
        assert_eq!(run("Summarise: {input}", "{}", "text").unwrap(), "Summarise: text");
    }

    #[test]
    fn mistakes_are_named() {
        assert!(run("{inptu}", "{}", "").unwrap_err().starts_with("unknown placeholder {inptu}"));
        assert!(run("{context.nope}", "{}", "").unwrap_err().contains("context set nope"));
        assert!(run("open {input", "{}", "").unwrap_err().contains("without its `}`"));
        assert!(run("close }", "{}", "").unwrap_err().contains("lone"));
        assert!(Template::create(vec![], "{}".into()).is_err());
    }
}
