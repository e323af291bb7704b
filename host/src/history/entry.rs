//! One history entry, and its two forms: a JSON Lines record and the numbered text block.

use serde::{Deserialize, Serialize};

/// Figures for one AI stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageFigures {
    /// The AI.
    pub ai: String,
    /// The transport plugin that carried it.
    pub transport: String,
    /// Whether the answer was streamed.
    pub streamed: bool,
    /// Seconds from sending to the end of the answer.
    pub duration: f64,
    /// Tokens reported (or counted).
    pub tokens: u64,
    /// Seconds to the first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token: Option<f64>,
    /// The answer stopped early and is kept as far as it got.
    #[serde(default, skip_serializing_if = "is_false")]
    pub interrupted: bool,
    /// Why the stage failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the AI was sent (AI stages only): with `answer`, what conversations are rebuilt from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the AI answered, when `responses` cannot hold it: an AI that answered more than
    /// once in the line keeps its last answer there, each earlier one here (entries written
    /// before answers were kept once also had it here). See [`Entry::answers`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Tool calls the model asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<crate::transport::ToolCall>,
}

/// What is known about how a command ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Whether any answer was streamed.
    pub streamed: bool,
    /// Seconds the whole command took.
    pub duration: f64,
    /// Tokens over all stages.
    pub tokens: u64,
    /// Seconds to the first token of the first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token: Option<f64>,
    /// The transport of the first AI stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Whether a fallback transport had to be used.
    #[serde(default)]
    pub degraded: bool,
    /// Why it was degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_reason: Option<String>,
    /// Whether an answer stopped early.
    #[serde(default, skip_serializing_if = "is_false")]
    pub interrupted: bool,
    /// Why the command failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Figures per AI stage, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageFigures>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// An entry as read back (and printed by `aish history --json` in the order it was written).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its number.
    pub number: u64,
    /// Unix time in seconds.
    pub timestamp: f64,
    /// The session the command ran in (empty for entries older than sessions).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_id: String,
    /// The command line.
    pub command: String,
    /// Each AI's answer, in pipeline order, a name once (see [`Entry::answers`]).
    #[serde(serialize_with = "ordered_map", deserialize_with = "ordered_pairs")]
    pub responses: Vec<(String, String)>,
    /// How it ran.
    #[serde(default)]
    pub metadata: Metadata,
}

impl Entry {
    /// Each stage's answer, in pipeline order, with the stage's AI (or stage plugin) name:
    /// from `responses`, which holds each name once, and, for an AI that answered more than
    /// once in the line, from its earlier stages' own `answer`. Entries written before that
    /// kept every answer in `responses`, a name as often as it answered.
    pub fn answers(&self) -> Vec<(&str, &str)> {
        let stages = &self.metadata.stages;
        if stages.is_empty() || self.responses.len() == stages.len() {
            return self.responses.iter().map(|(ai, text)| (ai.as_str(), text.as_str())).collect();
        }
        stages
            .iter()
            .filter_map(|stage| {
                let kept = self.responses.iter().rev().find(|(ai, _)| *ai == stage.ai).map(|(_, text)| text);
                stage.answer.as_ref().or(kept).map(|text| (stage.ai.as_str(), text.as_str()))
            })
            .collect()
    }
}

fn ordered_map<S: serde::Serializer>(pairs: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (ai, text) in pairs {
        map.serialize_entry(ai, text)?;
    }
    map.end()
}

fn ordered_pairs<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of AI names to answers")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut pairs = Vec::new();
            while let Some(pair) = map.next_entry::<String, String>()? {
                pairs.push(pair);
            }
            Ok(pairs)
        }
    }
    deserializer.deserialize_map(Pairs)
}

/// How long a response may be in the text history before it is cut.
const TEXT_LIMIT: usize = 100;

/// The numbered text block for an entry (SPEC section 5).
pub fn text_block(number: u64, command: &str, responses: &[(&str, &str)], metadata: &Metadata) -> String {
    let mut block = format!("{number}: {}\n", one_line(command));
    if metadata.streamed {
        // A hand-edited file may hold any number: one past a year is shown as what it is.
        let duration = metadata.duration;
        let mut line = match duration.is_finite() && (0.0..=3.2e7).contains(&duration) {
            true => format!("[Streamed in {duration:.1}s"),
            false => "[Streamed in an unreadable time".to_owned(),
        };
        if metadata.interrupted {
            line.push_str(", interrupted");
        }
        if metadata.degraded {
            line.push_str(", degraded");
        }
        block.push_str(&format!("      # {line}]\n"));
    }
    for (ai, text) in responses {
        block.push_str(&format!("      # {}: {}\n", one_line(ai), preview(text)));
    }
    if let Some(error) = &metadata.error {
        block.push_str(&format!("      # error: {}\n", preview(error)));
    }
    block
}

/// Text as the history shows it: on one line, cut at 100 characters with `...`.
pub fn preview(text: &str) -> String {
    // One character past the cut is enough to know there are more: a long answer is not
    // converted whole for a hundred characters of it.
    cut(&crate::text::one_line(text.trim(), TEXT_LIMIT + 1))
}

/// Text on one line: line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    crate::text::one_line(text.trim(), usize::MAX)
}

/// The first 100 characters and `...` when there are more.
fn cut(text: &str) -> String {
    match text.char_indices().nth(TEXT_LIMIT) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_block_as_the_spec_shows() {
        let long = "x".repeat(150);
        let metadata = Metadata { streamed: true, duration: 1.23, ..Metadata::default() };
        let block = text_block(
            12,
            "echo \"hi\" | apollo | athena",
            &[("apollo", &long), ("athena", "short\nanswer")],
            &metadata,
        );
        assert_eq!(
            block,
            format!(
                "12: echo \"hi\" | apollo | athena\n      # [Streamed in 1.2s]\n      # apollo: {}...\n      # athena: short answer\n",
                "x".repeat(100)
            )
        );
    }

    #[test]
    fn a_hand_edited_entry_cannot_drive_the_terminal_or_flood_the_line() {
        for duration in [1e308, f64::NAN, -3.0] {
            let metadata = Metadata { streamed: true, duration, ..Metadata::default() };
            let block = text_block(1, "apollo hi", &[("apollo\u{1b}[31m", "answer")], &metadata);
            assert!(!block.contains('\u{1b}'), "{block:?}");
            assert!(block.contains("[Streamed in an unreadable time]"), "{block:?}");
        }
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        let text = "é".repeat(101);
        assert_eq!(cut(&text), format!("{}...", "é".repeat(100)));
        assert_eq!(cut(&"é".repeat(100)), "é".repeat(100));
    }
}
