//! What the demo AIs say: small deterministic text generators, so a new user sees streaming
//! and pipelines work end to end with no API key. They are demos, and say so in `list-ais`.

use serde_json::Value;

/// A demo AI.
pub struct Persona {
    /// Its name in pipelines.
    pub name: &'static str,
    /// One line about it.
    pub about: &'static str,
    answer: fn(&str, &[String]) -> String,
}

/// The demo AIs.
pub const PERSONAS: &[Persona] = &[
    Persona { name: "apollo", about: "demo: expands an idea into directions", answer: apollo },
    Persona { name: "athena", about: "demo: weighs an idea, strengths against risks", answer: athena },
    Persona { name: "hermes", about: "demo: sums a text up in one line", answer: hermes },
];

impl Persona {
    /// Finds a persona by name.
    pub fn find(name: &str) -> Option<&'static Persona> {
        PERSONAS.iter().find(|p| p.name == name)
    }

    /// The answer to `message` with the pipeline `context` and the conversation so far
    /// (`history`: the `{role, content}` turns the `aish` dialect sends).
    pub fn answer(&self, message: &str, context: &Value, history: &[Value]) -> String {
        let words = keywords(message);
        let mut body = (self.answer)(message, &words);
        // The demo remembers too: it refers back to the first thing it was told this session.
        let told: Vec<&str> = history
            .iter()
            .filter(|t| t.get("role").and_then(Value::as_str) == Some("user"))
            .filter_map(|t| t.get("content").and_then(Value::as_str))
            .collect();
        if let Some(first) = told.first() {
            let times = if told.len() == 1 { "once".to_owned() } else { format!("{} times", told.len()) };
            body.push_str(&format!(" (We have talked {times} before; you first told me about “{}”.)", topic(first)));
        }
        match context.get("previous_ai").and_then(Value::as_str) {
            Some(previous) => format!("Building on {previous}: {body}"),
            None => body,
        }
    }
}

const STOP: &[&str] = &[
    "about",
    "after",
    "also",
    "been",
    "being",
    "could",
    "does",
    "from",
    "have",
    "into",
    "just",
    "like",
    "make",
    "more",
    "most",
    "much",
    "need",
    "only",
    "other",
    "over",
    "should",
    "some",
    "such",
    "than",
    "that",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "very",
    "want",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "will",
    "with",
    "would",
    "your",
    "building",
    "tell",
    "explain",
    "describe",
    "please",
    "think",
    "something",
    "thing",
    "things",
    "here",
    "seed",
    "further",
    "worth",
    "going",
];

/// The message's most telling words: long, not common, first seen first.
fn keywords(message: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in message.split(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'') {
        let word = word.trim_matches(|c: char| c == '-' || c == '\'').to_lowercase();
        if word.chars().count() >= 4 && !STOP.contains(&word.as_str()) && !found.contains(&word) {
            found.push(word);
        }
    }
    let mut ranked = found.clone();
    ranked.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    ranked.truncate(3);
    found.retain(|w| ranked.contains(w));
    while found.len() < 3 {
        found.push(["the idea", "the people it serves", "the first step"][found.len()].to_owned());
    }
    found
}

fn topic(message: &str) -> String {
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut topic: String = one_line.chars().take(60).collect();
    if topic.len() < one_line.len() {
        topic.push('…');
    }
    topic
}

fn apollo(message: &str, k: &[String]) -> String {
    format!(
        "Apollo on “{}”. The seed here is {}. Push it further and {} becomes a way to rethink {}; \
         pair it with {} and you have something new. Three directions worth exploring: \
         first, make {} simpler; second, bring {} to the people who need it; third, try {} small before going big.",
        topic(message),
        k[0],
        k[0],
        k[1],
        k[2],
        k[0],
        k[1],
        k[2]
    )
}

fn athena(message: &str, k: &[String]) -> String {
    format!(
        "Athena weighs “{}”. Strength: {} gives it a clear centre. Risk: {} may cost more than it seems. \
         Next step: decide what success with {} looks like, then measure it within a week.",
        topic(message),
        k[0],
        k[1],
        k[2]
    )
}

fn hermes(message: &str, _k: &[String]) -> String {
    let first = message.split(['.', '!', '?', '\n']).map(str::trim).find(|s| !s.is_empty()).unwrap_or("nothing");
    let words: Vec<&str> = first.split_whitespace().collect();
    let mut line = words.iter().take(20).copied().collect::<Vec<_>>().join(" ");
    if words.len() > 20 {
        line.push('…');
    }
    format!("In one line: {line}.")
}

/// Splits an answer into tokens the way a model streams them: each word with its leading space.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_whitespace() && !current.trim().is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_use_the_message_and_the_context() {
        let apollo = Persona::find("apollo").unwrap();
        let answer = apollo.answer("Gardens on every rooftop in the city", &json!({}), &[]);
        assert!(answer.contains("gardens") && answer.contains("rooftop"), "{answer}");
        assert!(!answer.contains("talked"), "{answer}");
        let next = Persona::find("athena").unwrap().answer(&answer, &json!({"previous_ai": "apollo"}), &[]);
        assert!(next.starts_with("Building on apollo:"), "{next}");
    }

    #[test]
    fn answers_refer_back_to_the_conversation() {
        let history =
            [json!({"role": "user", "content": "rooftop gardens"}), json!({"role": "assistant", "content": "…"})];
        let answer = Persona::find("apollo").unwrap().answer("and bees?", &json!({}), &history);
        assert!(answer.contains("We have talked once before; you first told me about “rooftop gardens”"), "{answer}");
    }

    #[test]
    fn tokens_rejoin_to_the_text() {
        let text = "Hello  there, world.\nNext line";
        assert_eq!(tokens(text).concat(), text);
        assert_eq!(tokens(text).len(), 5);
    }
}
