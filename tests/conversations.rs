//! Conversations and personas, through the real binary against real servers: what each request
//! carries (system prompt, earlier turns, the previous answer exactly once), resuming a session
//! in a new process, trimming, stateless AIs, tool calls shown and recorded, usage shown.

use serde_json::{Value, json};

use crate::support::server::{Reply, TestServer};
use crate::support::{aish, home, write_config};

/// An OpenAI chat-completions stream answering `text` in two chunks, with usage at the end.
fn openai_answer(text: &str) -> Reply {
    let (first, second) = text.split_at(text.len() / 2);
    let chunk = |content: &str| {
        format!(
            "data: {}\n\n",
            json!({"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":content},"finish_reason":null}]})
        )
    };
    Reply::sse([
        chunk(first),
        chunk(second),
        format!(
            "data: {}\n\n",
            json!({"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})
        ),
        format!(
            "data: {}\n\n",
            json!({"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":42,"total_tokens":162}})
        ),
        "data: [DONE]\n\n".to_owned(),
    ])
}

/// An `aish`-dialect stream of `tokens`.
fn aish_answer(tokens: &[&str]) -> Reply {
    let mut pieces: Vec<String> =
        tokens.iter().map(|t| format!("data: {{\"event\":\"token\",\"data\":{{\"token\":\"{t}\"}}}}\n\n")).collect();
    pieces.push("event: done\ndata: {}\n\n".into());
    Reply::sse(pieces)
}

/// The (role, content) pairs of an OpenAI request's `messages`.
fn messages(request: &Value) -> Vec<(String, String)> {
    request["messages"]
        .as_array()
        .expect("a messages array")
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["content"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn gpt_config(server: &TestServer, extra: &str) -> String {
    format!(
        "[ai.gpt]\nurl = \"{}\"\ndialect = \"openai\"\nmodel = \"gpt-4o-mini\"\nsystem = \"You are terse.\"\n{extra}",
        server.url("/v1/chat/completions")
    )
}

#[test]
fn a_script_remembers_and_a_new_process_continues() {
    let server = TestServer::always(openai_answer("Hello Zed."));
    let home = home();
    write_config(home.path(), &gpt_config(&server, ""));
    let run = aish(home.path(), &[], Some("gpt my name is Zed\ngpt what is my name\n"));
    assert_eq!(run.code, 0, "{run:?}");

    let requests = server.requests();
    assert_eq!(
        messages(&requests[0].json()),
        [("system".to_owned(), "You are terse.".to_owned()), ("user".to_owned(), "my name is Zed".to_owned())]
    );
    let second = messages(&requests[1].json());
    let roles: Vec<&str> = second.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"], "{second:?}");
    assert_eq!(second[0].1, "You are terse.");
    assert_eq!(second[1].1, "my name is Zed");
    assert_eq!(second[2].1, "Hello Zed.");
    assert_eq!(second[3].1, "what is my name");

    // A new process, --continue: the earlier run's turns come first.
    let run = aish(home.path(), &["--continue", "-c", "gpt and again?"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let third = messages(&server.requests()[2].json());
    let contents: Vec<&str> = third.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        contents,
        ["You are terse.", "my name is Zed", "Hello Zed.", "what is my name", "Hello Zed.", "and again?"],
        "{third:?}"
    );
    // Without --continue a run starts afresh.
    aish(home.path(), &["-c", "gpt fresh"], None);
    assert_eq!(messages(&server.requests()[3].json()).len(), 2);

    // --session ID resumes a named session; an unknown one is a usage error.
    let history = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    let first: Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    let id = first["session_id"].as_str().expect("entries carry their session").to_owned();
    assert_eq!(first["metadata"]["stages"][0]["message"], "my name is Zed");
    assert_eq!(first["responses"]["gpt"], "Hello Zed.", "the answer is kept once, in `responses`");
    assert!(first["metadata"]["stages"][0].get("answer").is_none());
    let run = aish(home.path(), &["--session", &id, "gpt", "once", "more"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(messages(&server.requests()[4].json()).len(), 8);
    let run = aish(home.path(), &["--session", "nope", "-c", "gpt hi"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no session `nope` in the history"), "{}", run.stderr);
}

#[test]
fn a_pipeline_sends_the_previous_answer_exactly_once() {
    let first = TestServer::always(openai_answer("A distinctive first answer about lighthouses."));
    let second = TestServer::always(openai_answer("Second."));
    let home = home();
    write_config(
        home.path(),
        &format!(
            "[ai.one]\nurl = \"{}\"\ndialect = \"openai\"\n[ai.two]\nurl = \"{}\"\ndialect = \"openai\"\n",
            first.url("/"),
            second.url("/")
        ),
    );
    let run = aish(home.path(), &["-c", "echo lighthouses | one | two"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let body = String::from_utf8(second.requests()[0].body.clone()).unwrap();
    assert_eq!(body.matches("A distinctive first answer about lighthouses.").count(), 1, "{body}");
    assert!(!body.contains("session_id"), "chat dialects are not sent the session id: {body}");
    // The stage learns where it stands, briefly, then gets the answer as its message.
    let sent = messages(&second.requests()[0].json());
    assert_eq!(
        sent[0],
        ("system".to_owned(), "You are stage 2 of a pipeline; your input is the answer of one.".to_owned())
    );
    assert_eq!(sent[1], ("user".to_owned(), "A distinctive first answer about lighthouses.".to_owned()));
    assert_eq!(sent.len(), 2);
}

#[test]
fn a_tiny_limit_trims_the_oldest_turns_with_a_notice() {
    let server = TestServer::always(openai_answer("An answer that takes up a fair amount of room in the context."));
    let home = home();
    write_config(home.path(), &gpt_config(&server, "max_context_tokens = 60\n"));
    let script = "gpt first question here\ngpt second question here\ngpt third question here\n";
    let run = aish(home.path(), &[], Some(script));
    assert_eq!(run.code, 0, "{run:?}");
    let third = messages(&server.requests()[2].json());
    assert_eq!(third.first().map(|(r, _)| r.as_str()), Some("system"), "the system prompt is never dropped");
    assert_eq!(third.last().map(|(_, c)| c.as_str()), Some("third question here"), "nor the new message");
    assert!(third.len() < 6, "older turns were dropped: {third:?}");
    assert!(!third.iter().any(|(_, c)| c == "first question here"), "the oldest goes first: {third:?}");
    assert!(run.stderr.contains("earlier turns left out to fit max_context_tokens = 60"), "{}", run.stderr);
}

#[test]
fn a_stateless_ai_keeps_no_conversation() {
    let server = TestServer::always(openai_answer("Fine."));
    let home = home();
    write_config(home.path(), &gpt_config(&server, "stateless = true\n"));
    let run = aish(home.path(), &[], Some("gpt one\ngpt two\n"));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(messages(&server.requests()[1].json()).len(), 2, "system prompt and the message only");
}

#[test]
fn conversation_builtins_show_clear_and_renew() {
    let server = TestServer::always(aish_answer(&["noted"]));
    let home = home();
    write_config(home.path(), &format!("[ai.apollo]\nurl = \"{}\"\n", server.url("/")));
    let script = "apollo remember the tides\nconversation apollo\nconversation clear apollo\napollo again\nconversation new\napollo anew\n";
    let run = aish(home.path(), &[], Some(script));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("apollo (2 turns)\n  1: you: remember the tides\n  2: apollo: noted\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("apollo's conversation cleared"), "{}", run.stdout);
    let requests = server.requests();
    assert_eq!(requests[0].json()["history"], json!([]));
    assert_eq!(requests[1].json()["history"], json!([]), "cleared");
    let renewed = requests[2].json();
    assert_ne!(renewed["context"]["session_id"], requests[1].json()["context"]["session_id"], "a new session id");

    // A clear is kept in the history, so resuming does not bring the cleared turns back.
    let home = crate::support::home();
    write_config(home.path(), &format!("[ai.apollo]\nurl = \"{}\"\n", server.url("/")));
    aish(home.path(), &[], Some("apollo secret plans\nconversation clear\napollo public plans\n"));
    aish(home.path(), &["-C", "-c", "apollo next"], None);
    let last = server.requests().last().unwrap().json();
    let history = last["history"].to_string();
    assert!(history.contains("public plans") && !history.contains("secret plans"), "{history}");
}

#[test]
fn a_streamed_tool_call_is_shown_recorded_and_not_an_error() {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":delta,"finish_reason":finish}]})
        )
    };
    let server = TestServer::always(Reply::sse([
        chunk(
            json!({"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}),
            Value::Null,
        ),
        chunk(json!({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}), Value::Null),
        chunk(json!({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        "data: [DONE]\n\n".to_owned(),
    ]));
    let home = home();
    write_config(home.path(), &gpt_config(&server, ""));
    let run = aish(home.path(), &["-c", "gpt weather in Paris?"], None);
    assert_eq!(run.code, 0, "a tool call is an answer: {run:?}");
    assert!(run.stdout.contains("[tool call] get_weather {\"city\":\"Paris\"}"), "{}", run.stdout);
    let history = std::fs::read_to_string(home.path().join("history.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(
        entry["metadata"]["stages"][0]["tool_calls"],
        json!([{"id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}])
    );
}

#[test]
fn usage_is_shown_in_and_out() {
    let server = TestServer::always(openai_answer("Counted."));
    let home = home();
    write_config(home.path(), &gpt_config(&server, ""));
    let run = aish(home.path(), &["-c", "gpt count"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("120 in / 42 out]"), "{}", run.stderr);
}

#[test]
fn a_system_file_is_read_relative_to_the_config_and_a_missing_one_is_named() {
    let server = TestServer::always(openai_answer("Aye."));
    let home = home();
    std::fs::create_dir(home.path().join("prompts")).unwrap();
    std::fs::write(home.path().join("prompts/pirate.md"), "You are a pirate.\n").unwrap();
    let config =
        format!("[ai.gpt]\nurl = \"{}\"\ndialect = \"openai\"\nsystem_file = \"prompts/pirate.md\"\n", server.url("/"));
    write_config(home.path(), &config);
    let run = aish(home.path(), &["-c", "gpt ahoy"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(messages(&server.requests()[0].json())[0], ("system".to_owned(), "You are a pirate.".to_owned()));
    let listed = aish(home.path(), &["-c", "list-ais"], None);
    assert!(listed.stdout.contains("[persona: You are a pirate.]"), "{}", listed.stdout);

    write_config(home.path(), &config.replace("pirate.md", "missing.md"));
    let run = aish(home.path(), &["-c", "gpt ahoy"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("at `ai.gpt.system_file`: cannot read"), "{}", run.stderr);
    assert!(run.stderr.contains("missing.md"), "{}", run.stderr);
}

#[test]
fn the_demo_ais_remember_the_conversation() {
    let home = home();
    let run = aish(home.path(), &[], Some("apollo rooftop gardens\napollo and bees\n"));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("you first told me about “rooftop gardens”"), "{}", run.stdout);
}
