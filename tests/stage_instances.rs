//! A stage plugin whose manifest says `[instance] reuse = true` (as the `stage-tally` test
//! plugin's and the built-in stages' do) has its instance kept after a run that ended cleanly,
//! to serve the next run of the same stage; one that trapped, returned an error or grew large
//! is not reused, nor any when the user says no. Through the binary: a script's lines and a
//! pipeline's stages run one after another in one process.

use crate::support::{aish, aish_with_env, home, test_plugin};

/// An `AISH_HOME` with the `stage-tally` test plugin installed, under `config`.
fn home_with_stage_tally(config: &str) -> tempfile::TempDir {
    let home = home();
    let add = aish(home.path(), &["plugin", "add", test_plugin("stage_tally").to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    std::fs::write(home.path().join("config.toml"), config).unwrap();
    home
}

/// Runs `lines` as a script; its standard output and error.
fn script(home: &tempfile::TempDir, lines: &str) -> (String, String) {
    let path = home.path().join("lines.aish");
    std::fs::write(&path, lines).unwrap();
    let run = aish(home.path(), &[path.to_str().unwrap()], None);
    (run.stdout, run.stderr)
}

#[test]
fn a_stage_runs_in_the_instance_its_last_clean_run_left() {
    let home = home_with_stage_tally("");
    let (out, err) = script(&home, "echo a | stage-tally\necho b | stage-tally\necho c | stage-tally\n");
    assert_eq!(out, "run 1\nrun 2\nrun 3\n", "{err}");
    // Two stages of one pipeline: the second finds the first's instance back.
    let run = aish(home.path(), &["-c", "echo a | stage-tally | stage-tally | stage-tally"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "run 3\n"), "{run:?}");
}

#[test]
fn the_user_can_turn_stage_reuse_off() {
    let home = home_with_stage_tally("[plugins.stage-tally]\nreuse_instance = false\n");
    let (out, err) = script(&home, "echo a | stage-tally\necho b | stage-tally\n");
    assert_eq!(out, "run 1\nrun 1\n", "{err}");
}

#[test]
fn a_stage_instance_that_trapped_or_refused_is_not_reused() {
    let home = home_with_stage_tally("");
    let (out, err) = script(
        &home,
        "echo a | stage-tally\necho b | stage-tally panic\necho c | stage-tally\necho d | stage-tally refuse\necho e | stage-tally\n",
    );
    // The panicking run took the kept instance (its second run) and lost it; the refusing run
    // took the next one (its second run too) and returned an error: not kept either.
    assert_eq!(out, "run 1\nrun 1\nrun 1\n", "{err}");
    assert!(err.contains("stage-tally: refused run 2"), "{err}");
    assert!(err.contains("plugin `stage-tally` crashed"), "{err}");
}

#[test]
fn a_stage_instance_stopped_at_its_time_limit_is_not_reused() {
    let home = home_with_stage_tally("[plugins.stage-tally]\ntime_limit_ms = 200\n");
    let (out, err) = script(&home, "echo a | stage-tally\necho b | stage-tally spin\necho c | stage-tally\n");
    assert_eq!(out, "run 1\nrun 1\n", "{err}");
    assert!(err.contains("plugin `stage-tally` was stopped: it ran for more than 200 ms"), "{err}");
}

#[test]
fn a_stage_instance_whose_memory_grew_large_is_let_go() {
    let home = home_with_stage_tally("[plugins.stage-tally]\nmemory_limit_mb = 256\n");
    let (out, err) = script(&home, "echo a | stage-tally grow 150\necho b | stage-tally\n");
    assert_eq!(out, "run 1\nrun 1\n", "{err}");
    let run = aish_with_env(home.path(), &["-c", "echo a | stage-tally grow 150"], None, &[("AISH_LOG", "1")]);
    assert!(run.stderr.contains("[plugin stage-tally] debug: instance not kept: its memory grew to"), "{run:?}");
    let run = aish_with_env(home.path(), &["-c", "echo a | stage-tally"], None, &[("AISH_LOG", "1")]);
    assert!(run.stderr.contains("[plugin stage-tally] debug: instance kept for the next run"), "{run:?}");
}
