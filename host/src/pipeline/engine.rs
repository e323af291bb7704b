//! Running a planned pipeline: each AI stage gets the previous output and the pipeline context,
//! asks its AI through the transport layer, and reports what happens as [`StageEvent`]s; stage
//! plugins transform the text between AIs. The engine keeps no state between lines: what a run
//! needs from its session comes in [`RunSettings`].

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::events::{EventSink, StageEvent, StageInfo};
use super::interrupt::ctrl_c;
use super::plan::{Step, plan};
use super::{Context, Outcome, Pipeline, RunError, StageResult, redirect, stages};
use crate::conversation::{self, Conversations};
use crate::spool::{SPOOL_AFTER, Spool};
use crate::transport::{Answer, Connector, Outgoing, Piece};

/// What one run takes from the session it belongs to.
#[derive(Debug)]
pub struct RunSettings<'a> {
    /// The id every AI stage receives as `session_id`.
    pub session_id: &'a str,
    /// Hints sent to every AI stage as `memory_hints`.
    pub memory_hints: &'a [String],
    /// Transports chosen at run time, by AI, over the configured ones.
    pub transports: &'a BTreeMap<String, String>,
    /// Ask every AI for a whole answer instead of a stream.
    pub no_stream: bool,
    /// Each AI's conversation: sent with every request to it, and added to as it answers.
    pub conversations: &'a mut Conversations,
    /// Where answers larger than [`SPOOL_AFTER`] spill (the temp directory when `None`).
    pub spool_dir: Option<&'a Path>,
}

/// Runs a parsed pipeline, reporting to `sink` as it goes. `stdin` is input for a first stage
/// that has no other.
pub async fn run(
    connector: &Connector,
    settings: RunSettings<'_>,
    pipeline: &Pipeline,
    stdin: Option<String>,
    sink: &mut dyn EventSink,
) -> Result<Outcome, RunError> {
    let plan = plan(pipeline, connector.config(), connector.registry())?;
    let mut text = pipeline.input.as_ref().map(redirect::read_input).transpose()?;
    let mut created = pipeline.output.as_ref().map(redirect::check_output).transpose()?;
    let mut outcome = Outcome::default();
    let ai_count: usize = plan.iter().map(|s| if let Step::Ais(b) = s { b.len() } else { 0 }).sum();
    let mut previous: Option<(String, String)> = None;
    let mut position = 0;
    // Fused: once it has fired it is never polled to completion again, whatever path an answer
    // took after it.
    let mut interrupt = std::pin::pin!(futures::FutureExt::fuse(ctrl_c()));
    for (index, step) in plan.iter().enumerate() {
        let last = index + 1 == plan.len();
        if let Step::Echo(words) = step {
            text = Some(words.clone());
            continue;
        }
        position += 1;
        let input = text.take().or_else(|| if index == 0 { stdin.clone() } else { None }).unwrap_or_default();
        let branches = match step {
            Step::Echo(_) => continue,
            Step::Plugin(command) => {
                let context = stage_context(&settings, &command.context, position, previous.as_ref());
                let result = stages::run_plugin(connector, command, &Value::Object(context), &input).await;
                let failed = result.error.is_some();
                if let Some(error) = &result.error {
                    sink.event(StageEvent::Failed { error });
                } else if last && pipeline.output.is_none() {
                    sink.event(StageEvent::Output(&result.response.text()?));
                }
                text = Some(result.response.text()?.into_owned());
                outcome.stages.push(result);
                if failed {
                    break;
                }
                continue;
            }
            Step::Ais(branches) => branches,
        };
        let mut answers = Vec::new();
        // For each answer joining its AI's conversation, how much of it the AI can take.
        let mut remembered: Vec<Option<u64>> = Vec::new();
        for branch in branches {
            let message = with_args(&branch.args, &input);
            if message.trim().is_empty() {
                return Err(RunError::Usage(format!(
                    "{0} has no input: write `echo \"text\" | {0}`, `{0} text` or `{0} < file`",
                    branch.name
                )));
            }
            let mut context = stage_context(&settings, &branch.context, position, previous.as_ref());
            context.insert("previous_response".into(), json!(previous.as_ref().map(|p| &p.1)));
            context.insert("memory_hints".into(), json!(settings.memory_hints));
            let mut ai = connector.config().ai[&branch.name].clone();
            if let Some(transport) = settings.transports.get(&branch.name) {
                ai.transport.clone_from(transport);
            }
            let stream = !settings.no_stream && ai.stream != Some(false);
            let limit = (!ai.stateless).then(|| ai.context_limit());
            let history = match limit {
                None => Vec::new(),
                Some(limit) => {
                    let turns = settings.conversations.turns(&branch.name);
                    let (kept, left_out) = conversation::fit(turns, ai.system.as_deref(), &message, limit);
                    if left_out > 0 {
                        sink.event(StageEvent::Trimmed { ai: &branch.name, turns: left_out, limit });
                    }
                    kept
                }
            };
            let message =
                Outgoing { message, context: Value::Object(context), stream, system: ai.system.clone(), history };
            remembered.push(limit);
            answers.push(Answer::start(connector, &branch.name, &ai, message));
        }
        let fan_out = answers.len() > 1;
        let spool = Spool::new(settings.spool_dir, SPOOL_AFTER);
        let mut results = Vec::new();
        let mut stopped = false;
        for i in 0..answers.len() {
            let info = StageInfo {
                ai: answers[i].ai.clone(),
                streamed: answers[i].streamed,
                labelled: ai_count > 1,
                fan_out,
                last,
                redirected: pipeline.output.is_some(),
            };
            let result = show(&mut answers[i], &info, spool.sibling(), sink, &mut interrupt, stopped).await;
            if futures::future::FusedFuture::is_terminated(&*interrupt) && !stopped {
                // Ctrl-C stops every answer of the stage, keeping what each got.
                stopped = true;
                answers.iter().for_each(Answer::stop);
            }
            results.push(result);
        }
        for (result, limit) in results.iter().zip(remembered) {
            let Some(limit) = limit.filter(|_| !settings.conversations.is_closed()) else { continue };
            // An exchange bigger than the AI's whole window could never be sent again.
            let fits = conversation::estimate_tokens(&result.message)
                + conversation::tokens_for_chars(result.response.chars())
                <= limit;
            if fits && result.complete() {
                settings.conversations.record(&result.ai, &result.message, result.as_turn()?);
            }
        }
        let failed = results.iter().any(|r| !r.complete());
        if last {
            // The last answer is the output as it is: a spooled one is not read back.
            // A single last answer is the output as it is, not a copy.
            match fan_out {
                true => outcome.output = Spool::from(joined(&results)?),
                false => outcome.output_is_last_answer = true,
            }
        } else {
            // The next stage needs the answer whole: read back once.
            let input = if fan_out { joined(&results)? } else { results[0].response.text()?.into_owned() };
            let names = results.iter().map(|r| r.ai.as_str()).collect::<Vec<_>>().join(" & ");
            previous = Some((names, input.clone()));
            text = Some(input);
        }
        outcome.stages.extend(results);
        if failed {
            break;
        }
    }
    if let Some(text) = text {
        // A pipeline that ends in `echo` or a stage plugin.
        outcome.output = Spool::from(text);
    }
    let only_echo = outcome.stages.is_empty();
    match &pipeline.output {
        Some(file) if outcome.success() => {
            redirect::write_output(file, outcome.output())?;
            if let Some(created) = &mut created {
                created.keep();
            }
        }
        None if only_echo => sink.event(StageEvent::Output(&outcome.output().text()?)),
        _ => {}
    }
    Ok(outcome)
}

/// The answers of a `&` stage as one text, each under its AI's name.
fn joined(results: &[StageResult]) -> Result<String, RunError> {
    let mut parts = Vec::with_capacity(results.len());
    for r in results {
        parts.push(format!("[{}]\n{}", r.ai, r.response.text()?.trim_end()));
    }
    Ok(parts.join("\n\n"))
}

/// The caller's context with what every stage learns of the pipeline: its position, the
/// previous AI, and the session.
fn stage_context(
    settings: &RunSettings<'_>,
    base: &Context,
    position: usize,
    previous: Option<&(String, String)>,
) -> Context {
    let mut context = base.clone();
    context.insert("pipeline_position".into(), json!(position));
    context.insert("previous_ai".into(), json!(previous.map(|p| &p.0)));
    context.insert("session_id".into(), json!(settings.session_id));
    context
}

/// Follows one answer as its pieces arrive, reporting each, and returns what became of it.
/// `stopped`: Ctrl-C stopped the answer before its turn to be shown (a side-by-side answer after
/// the one on screen); what it got is shown and kept all the same, finished or stopped.
async fn show(
    answer: &mut Answer,
    info: &StageInfo,
    spool: Spool,
    sink: &mut dyn EventSink,
    interrupt: &mut std::pin::Pin<&mut impl futures::future::FusedFuture<Output = ()>>,
    stopped: bool,
) -> StageResult {
    let mut result = StageResult::empty(&answer.ai, &answer.transport, answer.streamed);
    result.message.clone_from(&answer.message);
    result.response = spool;
    let name = answer.ai.clone();
    let mut started = false;
    sink.event(StageEvent::Stage(info));
    // When what the sink holds back is due, counted from when it began to hold: a steady stream
    // of pieces (a token every 50 ms) must not put it off piece after piece.
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        due = sink.idle_after().map(|hold| due.unwrap_or_else(|| tokio::time::Instant::now() + hold));
        let piece = tokio::select! {
            piece = answer.pieces.recv() => piece,
            _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                sink.event(StageEvent::Idle);
                due = None;
                continue;
            }
            _ = interrupt.as_mut(), if !stopped => {
                result.interrupted = true;
                answer.stop();
                // What had already arrived is kept.
                keep_arrived(answer, &mut result);
                break;
            }
        };
        match piece {
            Some(Piece::Degraded { why, transport }) => {
                sink.event(StageEvent::Degraded { why: &why, transport: &transport });
                result.transport = transport;
                result.degraded = Some(why);
            }
            Some(Piece::Started) => {
                started = true;
                sink.event(StageEvent::Answering);
            }
            Some(Piece::Token(text, at)) => {
                result.first_token.get_or_insert(at);
                sink.event(StageEvent::Token(&text));
                if answer.pieces.is_empty() {
                    sink.flush();
                }
                if let Err(e) = result.response.push_str(&text) {
                    // Shown but not kept: the stage fails here, keeping what was kept so far.
                    answer.stop();
                    result.interrupted = true;
                    let hint = if e.is_full() { "; free some space there" } else { "" };
                    result.error = Some(format!("{name}: cannot keep the answer: {e}{hint}"));
                    break;
                }
            }
            Some(Piece::ToolCall(call, at)) => {
                result.first_token.get_or_insert(at);
                sink.event(StageEvent::ToolCall(&call));
                result.tool_calls.push(call);
            }
            Some(Piece::Done(usage, at)) => {
                result.usage = usage;
                result.elapsed = at;
                break;
            }
            Some(Piece::Failed { message, interrupted, at }) => {
                result.interrupted = interrupted;
                result.error = Some(format!("{name}: {message}"));
                result.elapsed = at;
                break;
            }
            None if stopped => {
                result.interrupted = true;
                if !started {
                    // Its label comes with its start: an answer that never started shows it too.
                    sink.event(StageEvent::Answering);
                }
                break;
            }
            None => {
                result.error = Some(format!("{name}: the answer stopped unexpectedly"));
                break;
            }
        }
    }
    // A reported count wins, unless it says 0 for text that plainly arrived.
    let reported = result.usage.and_then(|u| u.output_tokens).filter(|&n| n > 0 || result.response.is_empty());
    result.tokens = reported.unwrap_or_else(|| conversation::tokens_for_chars(result.response.chars()));
    if result.interrupted && result.error.is_none() {
        sink.event(StageEvent::Interrupted { why: "stopped by Ctrl-C" });
    } else if let Some(error) = &result.error {
        if started && !result.response.is_empty() {
            sink.event(StageEvent::Interrupted { why: "the answer did not finish" });
        }
        sink.event(StageEvent::Failed { error });
    } else {
        let input_tokens = result.usage.and_then(|u| u.input_tokens);
        sink.event(StageEvent::Completed { elapsed: result.elapsed, tokens: result.tokens, input_tokens });
    }
    result
}

/// Adds the tokens already waiting on `answer` to the result.
fn keep_arrived(answer: &mut Answer, result: &mut StageResult) {
    while let Ok(piece) = answer.pieces.try_recv() {
        if let Piece::Token(text, _) = piece
            && let Err(e) = result.response.push_str(&text)
        {
            result.error = Some(format!("{}: cannot keep the answer: {e}", result.ai));
            break;
        }
    }
}

/// A stage's input with its own words before it (`athena 'critique this'`).
fn with_args(args: &[String], input: &str) -> String {
    if args.is_empty() {
        return input.to_owned();
    }
    let words = args.join(" ");
    if input.is_empty() { words } else { format!("{words}\n\n{input}") }
}
