//! `aish history [--json] [--since DATE] [--until DATE]`.

use super::{App, EXIT_FAILED, EXIT_OK, EXIT_USAGE, for_stderr, for_stdout, write_out};
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
        let text = if json {
            // An entry read back from JSON always serialises.
            let mut line = serde_json::to_string(entry).unwrap_or_default();
            line.push('\n');
            line
        } else {
            text_block(entry.number, &entry.command, &entry.answers(), &entry.metadata)
        };
        if let Err(code) = write_out(&mut out, &for_stdout(&text)) {
            return code;
        }
    }
    EXIT_OK
}
