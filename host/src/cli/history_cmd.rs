//! `aish history [--json] [--since DATE] [--until DATE]`.

use std::io::Write;

use super::{App, EXIT_FAILED, EXIT_OK, EXIT_USAGE, for_stderr, for_stdout};
use aish::history::{parse_date, text_block};

/// Prints the history (text blocks, or JSON Lines with `json`) between two dates.
pub fn run(app: &App, json: bool, since: Option<&str>, until: Option<&str>) -> u8 {
    let bound = |date: Option<&str>, end: bool| -> Result<Option<f64>, String> {
        date.map(|d| parse_date(d).map(|(start, stop)| if end { stop } else { start })).transpose()
    };
    let (since, until) = match (bound(since, false), bound(until, true)) {
        (Ok(since), Ok(until)) => (since, until),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let loaded = match app.history().load() {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: cannot read the history: {}", for_stderr(&e.to_string()));
            return EXIT_FAILED;
        }
    };
    if let Some(warning) = &loaded.warning {
        eprintln!("warning: {}", for_stderr(warning));
    }
    let mut out = std::io::stdout().lock();
    for entry in &loaded.entries {
        let in_range = since.is_none_or(|s| entry.timestamp >= s) && until.is_none_or(|u| entry.timestamp < u);
        if !in_range {
            continue;
        }
        let responses = entry.answers();
        let written = if json {
            serde_json::to_string(entry)
                .map_err(std::io::Error::from)
                .and_then(|line| out.write_all(for_stdout(&line).as_bytes()))
                .and_then(|_| out.write_all(b"\n"))
        } else {
            out.write_all(for_stdout(&text_block(entry.number, &entry.command, &responses, &entry.metadata)).as_bytes())
        };
        if written.is_err() {
            break;
        }
    }
    EXIT_OK
}
