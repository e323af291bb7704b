//! Property tests for the host's parsers of untrusted or hand-written input: the pipeline lexer
//! and parser, the config loader and the history loader. Each takes arbitrary input and must
//! never panic, and keeps the invariants that hold (see each property).

use proptest::prelude::*;

use crate::config::Config;
use crate::history::History;
use crate::pipeline::{Token, parse, tokenize};

/// Pipeline text: mostly the characters the language gives meaning to.
fn pipeline_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("|".to_owned()),
        Just("&".to_owned()),
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just(">>".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("#".to_owned()),
        Just(" ".to_owned()),
        Just("echo".to_owned()),
        Just("team-chat".to_owned()),
        "[a-z]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any line lexes and parses or gives an error whose column lies within the line.
    #[test]
    fn any_line_parses_or_names_a_column_inside_it(line in pipeline_text()) {
        let width = line.chars().count() + 1;
        match tokenize(&line) {
            Ok(tokens) => {
                for (_, span) in &tokens {
                    prop_assert!(span.start <= span.end && span.end <= line.len());
                    prop_assert!(line.is_char_boundary(span.start) && line.is_char_boundary(span.end));
                }
            }
            Err(e) => prop_assert!(e.column >= 1 && e.column <= width, "{e:?}"),
        }
        match parse(&line) {
            Ok(Some(pipeline)) => {
                prop_assert!(!pipeline.stages.is_empty());
                prop_assert!(pipeline.stages.iter().all(|s| !s.branches.is_empty()));
            }
            Ok(None) => {}
            Err(e) => {
                prop_assert!(e.column >= 1 && e.column <= width, "{e:?}");
                prop_assert!(e.render().lines().count() >= 3);
            }
        }
    }

    /// Quoting any text makes it one word, whatever it holds.
    #[test]
    fn single_quoted_text_is_one_word(text in "[^']{0,40}") {
        let tokens = tokenize(&format!("'{text}'")).unwrap();
        prop_assert_eq!(tokens.len(), 1);
        prop_assert_eq!(&tokens[0].0, &Token::Word { text, quoted: true });
    }

    /// Any text as config.toml loads or gives a config error naming the file; never a panic.
    #[test]
    fn any_config_text_loads_or_names_the_file(text in config_text()) {
        if let Err(e) = Config::parse(&text, std::path::Path::new("/cfg/config.toml")) {
            prop_assert!(e.to_string().starts_with("config error in /cfg/config.toml"), "{e}");
        }
    }
}

/// Config text: TOML-shaped lines with the keys aish reads, random values and random bytes.
fn config_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("url"),
        Just("transport"),
        Just("dialect"),
        Just("model"),
        Just("api_key_env"),
        Just("fallback"),
        Just("stream"),
        Just("settings"),
        Just("reconnect"),
        Just("heartbeat_ms"),
        Just("system"),
        Just("system_file"),
        Just("max_context_tokens"),
        Just("stateless"),
        Just("max_answer_mb"),
        Just("timeout_s"),
        Just("allow_hosts"),
        Just("memory_limit_mb"),
        Just("time_limit_ms"),
        Just("trusted"),
        Just("ca_file"),
        Just("render"),
        Just("edit_mode"),
        Just("color"),
    ];
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "\"[ -~]{0,20}\"",
        Just("[\"sse\", \"http\"]".to_owned()),
        Just("{ attempts = 3 }".to_owned()),
        "[ -~]{0,12}",
    ];
    let line = prop_oneof![
        prop_oneof![
            Just("[ai.a]"),
            Just("[ai.b-c]"),
            Just("[plugins.sse]"),
            Just("[shell]"),
            Just("[ai]"),
            Just("[x]")
        ]
        .prop_map(str::to_owned),
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        "[ -~]{0,30}",
    ];
    proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A history file of good entries mixed with any bytes: every good entry is read back, in
    /// order, with one warning for the rest; never a panic.
    #[test]
    fn the_history_loader_keeps_every_good_entry_among_garbage(
        garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let good = |n: u64| format!(
            "{{\"number\":{n},\"timestamp\":1.0,\"command\":\"echo {n}\",\"responses\":{{}},\"metadata\":{{\"streamed\":false,\"duration\":0.0,\"tokens\":0}}}}\n"
        );
        let mut bytes = Vec::new();
        for (i, junk) in garbage.iter().enumerate() {
            bytes.extend_from_slice(good(i as u64 + 1).as_bytes());
            let junk: Vec<u8> = junk.iter().map(|&b| if b == b'\n' { b' ' } else { b }).collect();
            bytes.extend_from_slice(&junk);
            bytes.push(b'\n');
        }
        std::fs::write(dir.path().join("history.jsonl"), &bytes).unwrap();
        let loaded = History::new(dir.path(), Vec::new()).load().unwrap();
        let numbers: Vec<u64> = loaded.entries.iter().map(|e| e.number).filter(|&n| n <= garbage.len() as u64).collect();
        let expected: Vec<u64> = (1..=garbage.len() as u64).collect();
        // A junk line that happens to be a whole entry may add one; none of ours is lost.
        prop_assert!(expected.iter().all(|n| numbers.contains(n)), "{numbers:?}");
    }
}
