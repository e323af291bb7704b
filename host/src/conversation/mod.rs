//! Conversations: what each AI was sent and answered during a session, in order, and the part
//! of it that fits the model. Every request to a stateful AI carries its turns after its system
//! prompt; the oldest are left out first when they would outgrow `max_context_tokens`.

use std::collections::BTreeMap;

use crate::transport::{Role, ToolCall, Turn};

/// Every AI's conversation in one session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversations {
    by_ai: BTreeMap<String, Vec<Turn>>,
    /// No line follows: new answers are not kept.
    closed: bool,
}

impl Conversations {
    /// Keeps no more answers: no line follows that could send them (a one-shot run would copy
    /// each answer only to drop it at exit). The turns already kept stay.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Whether new answers are kept.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The turns of `ai`'s conversation, oldest first.
    pub fn turns(&self, ai: &str) -> &[Turn] {
        self.by_ai.get(ai).map_or(&[], Vec::as_slice)
    }

    /// The AIs that have a conversation, by name.
    pub fn ais(&self) -> impl Iterator<Item = &str> {
        self.by_ai.iter().filter(|(_, turns)| !turns.is_empty()).map(|(ai, _)| ai.as_str())
    }

    /// Adds one exchange: what `ai` was sent and what it answered.
    pub fn record(&mut self, ai: &str, message: &str, answer: String) {
        if self.closed {
            return;
        }
        let turns = self.by_ai.entry(ai.to_owned()).or_default();
        turns.push(Turn { role: Role::User, content: message.to_owned() });
        // Taken, not copied: a long answer is already a copy of the spool.
        turns.push(Turn { role: Role::Assistant, content: answer });
    }

    /// Forgets `ai`'s conversation.
    pub fn clear(&mut self, ai: &str) {
        self.by_ai.remove(ai);
    }

    /// Forgets every conversation.
    pub fn clear_all(&mut self) {
        self.by_ai.clear();
    }
}

/// An answer as a conversation keeps it: its text, then a line per tool call it asked for.
pub fn answer_turn(text: &str, tool_calls: &[ToolCall]) -> String {
    let mut turn = text.to_owned();
    for call in tool_calls {
        if !turn.is_empty() && !turn.ends_with('\n') {
            turn.push('\n');
        }
        turn.push_str(&format!("[tool call] {} {}", call.name, call.arguments));
    }
    turn
}

/// A cheap token estimate: one token per four characters, rounded up, plus a few for the turn's
/// framing. Real tokenizers average 3.5 to 4.5 characters a token on English text, so this is
/// close for prose and cautious for code; it only has to keep requests under the model's window.
pub fn estimate_tokens(text: &str) -> u64 {
    tokens_for_chars(text.chars().count() as u64)
}

/// [`estimate_tokens`] for a text of `chars` characters.
pub fn tokens_for_chars(chars: u64) -> u64 {
    chars.div_ceil(4)
}

/// Tokens a turn costs beyond its text (role markers and separators in every chat format).
const TURN_OVERHEAD: u64 = 4;

/// The most recent of `turns` that fit in `limit` tokens beside the system prompt and the new
/// message, which are always sent, and how many earlier turns were left out. Turns are dropped
/// in exchanges (a user turn with its answer), so the history never opens with an answer.
pub fn fit(turns: &[Turn], system: Option<&str>, message: &str, limit: u64) -> (Vec<Turn>, usize) {
    let fixed = system.map_or(0, |s| estimate_tokens(s) + TURN_OVERHEAD) + estimate_tokens(message) + TURN_OVERHEAD;
    let mut budget = limit.saturating_sub(fixed);
    let mut start = turns.len();
    // Walk back one exchange at a time while the whole exchange fits.
    while start > 0 {
        let exchange_start = if start >= 2 && turns[start - 2].role == Role::User { start - 2 } else { start - 1 };
        let cost: u64 = turns[exchange_start..start].iter().map(|t| estimate_tokens(&t.content) + TURN_OVERHEAD).sum();
        if cost > budget {
            break;
        }
        budget -= cost;
        start = exchange_start;
    }
    (turns[start..].to_vec(), start)
}

/// The `max_context_tokens` an AI gets when its config sets none: what its dialect's usual
/// models accept, less room for the answer.
pub fn default_limit(dialect: &str) -> u64 {
    match dialect {
        // Hosted GPT models take 128k and more; 16k keeps the resent history cheap and suits
        // most local OpenAI-compatible servers.
        "openai" => 16_000,
        // Responses, Claude and Gemini are spoken only by large hosted models (128k to 1M);
        // 32k caps what every turn costs to send again.
        "responses" | "anthropic" | "gemini" => 32_000,
        // Ollama's default window (2k to 4k) silently drops the front of a longer prompt.
        "ollama" => 3_000,
        _ => 8_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(n: usize) -> Conversations {
        let mut c = Conversations::default();
        for i in 0..n {
            c.record("apollo", &format!("question {i} {}", "x".repeat(36)), format!("answer {i} {}", "y".repeat(36)));
        }
        c
    }

    #[test]
    fn a_closed_conversation_keeps_its_turns_and_takes_no_more() {
        let mut c = exchange(1);
        c.close();
        c.record("apollo", "again", "answer".into());
        assert_eq!(c.turns("apollo").len(), 2, "the exchange before closing stays, none is added");
    }

    #[test]
    fn everything_fits_under_a_large_limit() {
        let c = exchange(3);
        let (kept, dropped) = fit(c.turns("apollo"), Some("be brief"), "next", 10_000);
        assert_eq!((kept.len(), dropped), (6, 0));
    }

    #[test]
    fn the_oldest_exchanges_go_first_and_never_half() {
        let c = exchange(5);
        // Each turn costs about 15 tokens; the fixed part about 10: room for two exchanges.
        let (kept, dropped) = fit(c.turns("apollo"), Some("be brief"), "next", 75);
        assert_eq!(dropped, 6);
        assert_eq!(kept.len(), 4);
        assert_eq!(kept[0].role, Role::User);
        assert!(kept[0].content.starts_with("question 3"));
    }

    #[test]
    fn the_system_prompt_and_message_are_kept_even_past_the_limit() {
        let c = exchange(2);
        let (kept, dropped) = fit(c.turns("apollo"), Some(&"s".repeat(400)), "next", 10);
        assert_eq!((kept.len(), dropped), (0, 4));
    }

    #[test]
    fn clearing_forgets() {
        let mut c = exchange(1);
        c.clear("apollo");
        assert!(c.turns("apollo").is_empty());
        assert_eq!(c.ais().count(), 0);
    }
}
