//! Pipelines with context: what each stage receives (message and context, recorded by real
//! servers), fan-out with `&`, `team-chat`, context built-ins, and failures mid-pipeline.

use serde_json::{Value, json};

use crate::support::server::{Gate, Part, Reply, TestServer};
use crate::support::{aish, connector, home, write_config};

fn answer(tokens: &[&str]) -> Reply {
    let mut pieces: Vec<String> =
        tokens.iter().map(|t| format!("data: {{\"event\":\"token\",\"data\":{{\"token\":\"{t}\"}}}}\n\n")).collect();
    pieces.push("event: done\ndata: {}\n\n".into());
    Reply::sse(pieces)
}

/// Three AIs, each a real server that records what it was sent.
struct Team {
    apollo: TestServer,
    athena: TestServer,
    hermes: TestServer,
    home: tempfile::TempDir,
}

impl Team {
    fn new(apollo: Reply, athena: Reply) -> Team {
        let (apollo, athena) = (TestServer::always(apollo), TestServer::always(athena));
        let hermes = TestServer::always(answer(&["summed up"]));
        let home = home();
        write_config(
            home.path(),
            &format!(
                "[ai.apollo]\nurl = \"{}\"\n[ai.athena]\nurl = \"{}\"\n[ai.hermes]\nurl = \"{}\"\n",
                apollo.url("/"),
                athena.url("/"),
                hermes.url("/")
            ),
        );
        Team { apollo, athena, hermes, home }
    }

    fn run(&self, line: &str) -> crate::support::Run {
        aish(self.home.path(), &["-c", line], None)
    }
}

fn sent(server: &TestServer) -> Vec<Value> {
    server.requests().iter().map(|r| r.json()).collect()
}

#[test]
fn each_stage_gets_the_previous_answer_and_the_context() {
    let team = Team::new(answer(&["An ", "idea."]), answer(&["Weighed."]));
    let run = team.run("echo \"Continue the thought\" | apollo | athena");
    assert_eq!((run.code, run.stdout.as_str()), (0, "Weighed.\n"), "{run:?}");
    let apollo = &sent(&team.apollo)[0];
    assert_eq!(apollo["message"], "Continue the thought");
    let context = &apollo["context"];
    assert_eq!((context["pipeline_position"].clone(), context["previous_ai"].clone()), (json!(1), Value::Null));
    assert_eq!(context["memory_hints"], json!([]));
    let session = context["session_id"].as_str().expect("a session id").to_owned();
    let athena = &sent(&team.athena)[0];
    assert_eq!(athena["message"], "An idea.");
    assert_eq!(athena["context"]["pipeline_position"], 2);
    assert_eq!(athena["context"]["previous_ai"], "apollo");
    assert_eq!(athena["context"]["previous_response"], "An idea.");
    assert_eq!(athena["context"]["session_id"], session.as_str(), "one session id per run");
}

#[test]
fn context_and_memory_hints_set_by_built_ins_reach_every_stage() {
    let team = Team::new(answer(&["a"]), answer(&["b"]));
    let script = team.home.path().join("s.aish");
    std::fs::write(
        &script,
        "context set project tekton\ncontext set budget 3\nmemory add prefers short answers\nsession\necho go | apollo | athena\n",
    )
    .unwrap();
    let run = aish(team.home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    let session = run.stdout.lines().next().unwrap().to_owned();
    for server in [&team.apollo, &team.athena] {
        let context = &sent(server)[0]["context"];
        assert_eq!((context["project"].clone(), context["budget"].clone()), (json!("tekton"), json!(3)));
        assert_eq!(context["memory_hints"], json!(["prefers short answers"]));
        assert_eq!(context["session_id"], session.as_str(), "`session` shows the id stages receive");
    }
}

#[test]
fn fan_out_runs_side_by_side_and_hands_labelled_answers_on() {
    // apollo answers only once athena has been asked: run one after the other, this would hang.
    let athena_asked = Gate::default();
    let apollo = answer(&["From apollo."]);
    let apollo = Reply { parts: [vec![Part::Wait(athena_asked.clone())], apollo.parts].concat(), ..apollo };
    let athena = answer(&["From athena."]);
    let athena = Reply { parts: [vec![Part::Signal(athena_asked)], athena.parts].concat(), ..athena };
    let team = Team::new(apollo, athena);
    let run = team.run("echo same | apollo & athena | hermes");
    assert_eq!((run.code, run.stdout.as_str()), (0, "summed up\n"), "{run:?}");
    assert_eq!(sent(&team.apollo)[0]["message"], "same");
    assert_eq!(sent(&team.athena)[0]["message"], "same");
    let hermes = &sent(&team.hermes)[0];
    assert_eq!(hermes["message"], "[apollo]\nFrom apollo.\n\n[athena]\nFrom athena.");
    assert_eq!(hermes["context"]["previous_ai"], "apollo & athena");

    // As the last stage, the labelled answers are the output.
    let run = team.run("echo same | apollo & athena");
    assert_eq!(run.stdout, "[apollo]\nFrom apollo.\n[athena]\nFrom athena.\n", "{run:?}");
}

#[test]
fn team_chat_asks_every_ai() {
    let team = Team::new(answer(&["A."]), answer(&["B."]));
    let run = team.run("team-chat \"What next?\"");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "[apollo]\nA.\n[athena]\nB.\n[hermes]\nsummed up\n");
    for server in [&team.apollo, &team.athena, &team.hermes] {
        assert_eq!(sent(server)[0]["message"], "What next?");
    }
}

#[test]
fn a_failed_stage_stops_the_pipeline_and_keeps_earlier_answers() {
    let team = Team::new(answer(&["kept"]), Reply::body(500, "application/json", r#"{"error":"model crashed"}"#));
    let run = team.run("echo x | apollo | athena | hermes");
    assert_eq!(run.code, 1);
    let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors, vec!["error: athena: the server answered HTTP 500: model crashed"]);
    assert!(team.hermes.requests().is_empty(), "the pipeline stopped at athena");
    let history = std::fs::read_to_string(team.home.path().join("history.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    assert_eq!(entry["responses"]["apollo"], "kept");
}

#[test]
fn fan_out_mistakes_are_usage_errors() {
    let team = Team::new(answer(&["a"]), answer(&["b"]));
    for (line, expected) in [
        ("echo x | apollo & apollo", "`apollo` stands twice in one `&` stage"),
        ("echo x & apollo", "`echo` can only start a pipeline, on its own"),
        ("team-chat hi & apollo", "`team-chat` already asks every AI"),
    ] {
        let run = team.run(line);
        assert_eq!(run.code, 2, "{line}");
        assert!(run.stderr.contains(expected), "{line}: {}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn execute_command_with_context_returns_every_response() {
    let apollo = TestServer::always(answer(&["one"]));
    let athena = TestServer::always(answer(&["two"]));
    let config = format!("[ai.apollo]\nurl = \"{}\"\n[ai.athena]\nurl = \"{}\"\n", apollo.url("/"), athena.url("/"));
    let mut session = aish::session::Session::new(connector(None, &config), aish::display::Display::stdio(), false);
    let mut context = serde_json::Map::new();
    context.insert("caller".into(), json!("tekton-ui"));
    let outcome = session.execute_command_with_context("echo hi | apollo | athena", context).await.unwrap();
    let responses: Vec<(&str, String)> =
        outcome.stages.iter().map(|s| (s.ai.as_str(), s.response.text().unwrap().into_owned())).collect();
    assert_eq!(responses, [("apollo", "one".to_owned()), ("athena", "two".to_owned())]);
    let athena_context = &athena.requests()[0].json()["context"];
    assert_eq!(athena_context["caller"], "tekton-ui");
    assert_eq!(athena_context["previous_ai"], "apollo");
}
