//! `conversation [AI]`, `conversation clear [AI]`, `conversation new`: what each AI remembers
//! of this session, and forgetting it.

use std::time::Duration;

use super::Flow;
use super::args::Args;
use crate::history::preview;
use crate::pipeline::Outcome;
use crate::session::{CLEAR, Session};
use crate::transport::Role;

/// Shows, clears or renews the conversations.
pub(super) fn conversation(session: &mut Session, args: &Args<'_>) -> Option<Flow> {
    super::args::words!(args => words);
    let known = |session: &Session, ai: &str| session.connector().config().ai.contains_key(ai);
    match words.as_slice() {
        [] => show(session, None),
        ["new"] => {
            session.renew();
            let shown = format!("new session {}; every conversation starts afresh", session.id());
            session.display().print(&shown);
        }
        ["clear"] => {
            clear(session, None);
            session.display().print("every conversation cleared");
        }
        ["clear", ai] if known(session, ai) => {
            clear(session, Some(ai));
            session.display().print(&format!("{ai}'s conversation cleared"));
        }
        [ai] if known(session, ai) => show(session, Some(ai)),
        ["clear", ai] | [ai] => return Some(Flow::Usage(format!("no AI named `{ai}`; `list-ais` shows them"))),
        _ => return Some(Flow::Usage("usage: conversation [AI] | conversation clear [AI] | conversation new".into())),
    }
    Some(Flow::Continue)
}

/// Forgets one AI's conversation (or all), and records that in the history so a resumed
/// session forgets it too.
fn clear(session: &mut Session, ai: Option<&str>) {
    let line = match ai {
        Some(ai) => {
            session.conversations_mut().clear(ai);
            format!("{CLEAR} {ai}")
        }
        None => {
            session.conversations_mut().clear_all();
            CLEAR.to_owned()
        }
    };
    session.record(&line, &Ok(Outcome::default()), Duration::ZERO);
}

fn show(session: &mut Session, only: Option<&str>) {
    let conversations = session.conversations().clone();
    let ais: Vec<&str> = match only {
        Some(ai) => vec![ai],
        None => conversations.ais().collect(),
    };
    let mut text = String::new();
    for ai in ais {
        let turns = conversations.turns(ai);
        text.push_str(&format!("{ai} ({} turns)\n", turns.len()));
        for (i, turn) in turns.iter().enumerate() {
            let who = match turn.role {
                Role::User => "you",
                Role::Assistant => ai,
            };
            text.push_str(&format!("  {}: {who}: {}\n", i + 1, preview(&turn.content)));
        }
    }
    if text.is_empty() {
        text = "no conversation yet in this session".to_owned();
    }
    session.display().print(&text);
}
