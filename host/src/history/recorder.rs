//! Turning what a line produced (the pipeline's [`Outcome`], or why it could not run) into the
//! history record that keeps it: the answers, and the figures per stage and overall.

use std::time::Duration;

use super::{Metadata, Record, StageFigures};
use crate::pipeline::{Outcome, RunError};

/// The record of `line`, which ran in session `session_id` for `elapsed` and ended in `result`.
pub fn record<'a>(
    session_id: &'a str,
    line: &'a str,
    result: &'a Result<Outcome, RunError>,
    elapsed: Duration,
) -> Record<'a> {
    let mut metadata = Metadata { duration: elapsed.as_secs_f64(), ..Metadata::default() };
    let mut responses = Vec::new();
    match result {
        Ok(outcome) => {
            for stage in &outcome.stages {
                responses.push((stage.ai.as_str(), &stage.response));
                metadata.streamed |= stage.streamed;
                metadata.tokens += stage.tokens;
                metadata.interrupted |= stage.interrupted;
                if let Some(why) = &stage.degraded {
                    metadata.degraded = true;
                    metadata.degraded_reason.get_or_insert_with(|| why.clone());
                }
                if metadata.error.is_none() {
                    metadata.error.clone_from(&stage.error);
                }
                metadata.stages.push(StageFigures {
                    ai: stage.ai.clone(),
                    transport: stage.transport.clone(),
                    streamed: stage.streamed,
                    duration: stage.elapsed.as_secs_f64(),
                    tokens: stage.tokens,
                    first_token: stage.first_token.map(|d| d.as_secs_f64()),
                    interrupted: stage.interrupted,
                    error: stage.error.clone(),
                    // Stage plugins are sent no message; AI stages keep theirs for conversations,
                    // with the answer kept once, in `responses`.
                    message: (!stage.message.is_empty()).then(|| stage.message.clone()),
                    answer: None,
                    tool_calls: stage.tool_calls.clone(),
                });
            }
            let first = outcome.stages.first();
            metadata.first_token = first.and_then(|s| s.first_token).map(|d| d.as_secs_f64());
            metadata.transport = first.map(|s| s.transport.clone());
        }
        Err(e) => metadata.error = Some(e.to_string()),
    }
    Record { session_id, command: line, responses, metadata }
}
