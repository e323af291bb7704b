//! Continuing an earlier session (`--continue`, `--session ID`): its conversations rebuilt from
//! the history, which records every AI stage's message and answer, and every clear.

use super::Session;
use crate::conversation::answer_turn;
use crate::history::Entry;

/// Why a session could not be continued.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The history could not be read.
    #[error("cannot read the history: {0}")]
    History(String),
    /// No entry carries the session id asked for.
    #[error("no session `{0}` in the history; `aish history --json` shows each entry's session_id")]
    UnknownSession(String),
    /// `--continue` with no session in the history.
    #[error("there is no earlier session in the history to continue")]
    NoSession,
}

/// The line a conversation clear is recorded under, so resuming replays it.
pub(crate) const CLEAR: &str = "conversation clear";

impl Session {
    /// Continues session `id` (the most recent one when `None`): takes its id and rebuilds every
    /// AI's conversation from the history. Returns the session id and how many turns came back.
    pub fn resume(&mut self, id: Option<&str>) -> Result<(String, usize), ResumeError> {
        let history = self.history().ok_or_else(|| ResumeError::History("no history is kept".into()))?;
        let loaded = history.load().map_err(|e| ResumeError::History(e.to_string()))?;
        if let Some(warning) = &loaded.warning {
            self.history_warning(warning);
        }
        let id = match id {
            Some(id) if loaded.entries.iter().any(|e| e.session_id == id) => id.to_owned(),
            Some(id) => return Err(ResumeError::UnknownSession(id.to_owned())),
            None => loaded
                .entries
                .iter()
                .rev()
                .find(|e| !e.session_id.is_empty())
                .map(|e| e.session_id.clone())
                .ok_or(ResumeError::NoSession)?,
        };
        self.conversations.clear_all();
        for entry in loaded.entries.iter().filter(|e| e.session_id == id) {
            self.replay(entry);
        }
        let turns = self.conversations.ais().map(|ai| self.conversations.turns(ai).len()).sum();
        self.id.clone_from(&id);
        Ok((id, turns))
    }

    /// Applies one history entry to the conversations, as it changed them when it ran.
    fn replay(&mut self, entry: &Entry) {
        if let Some(rest) = entry.command.strip_prefix(CLEAR) {
            match rest.trim() {
                "" => self.conversations.clear_all(),
                ai => self.conversations.clear(ai),
            }
            return;
        }
        let config = self.connector.config();
        let answers = entry.answers();
        for (i, stage) in entry.metadata.stages.iter().enumerate() {
            let answer = answers.get(i).map(|(_, text)| *text);
            let (Some(message), Some(answer)) = (&stage.message, answer) else { continue };
            let stateful = config.ai.get(&stage.ai).is_some_and(|ai| !ai.stateless);
            if stateful && stage.error.is_none() && !stage.interrupted {
                self.conversations.record(&stage.ai, message, answer_turn(answer, &stage.tool_calls));
            }
        }
    }
}
