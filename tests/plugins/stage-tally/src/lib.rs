//! A stage that counts, in a global, the runs its instance has served, and answers with the
//! count: tests see whether a run ran in a kept instance or a fresh one. Its argument picks a
//! misbehaviour: `panic` panics in `push`; `refuse` returns an error from `push`; `grow N`
//! keeps N MiB in a global; `spin` computes for a second in `push`.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aish_plugin_sdk::Stage;

/// Runs served by this instance.
static RUNS: AtomicU32 = AtomicU32::new(0);
/// Memory kept from one run to the next.
static KEPT: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// The plugin.
pub struct StageTally {
    args: Vec<String>,
}

impl Stage for StageTally {
    fn create(args: Vec<String>, _context: String) -> Result<Self, String> {
        Ok(StageTally { args })
    }

    fn push(&mut self, _chunk: &str) -> Result<String, String> {
        let runs = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
        match self.args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["panic"] => panic!("asked to"),
            ["refuse"] => return Err(format!("refused run {runs}")),
            ["grow", mib] => {
                let mib: usize = mib.parse().map_err(|_| "grow takes a number of MiB".to_owned())?;
                KEPT.lock().unwrap().push(std::hint::black_box(vec![1u8; mib << 20]));
            }
            ["spin"] => {
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(1) {
                    std::hint::spin_loop();
                }
            }
            _ => {}
        }
        Ok(format!("run {runs}"))
    }

    fn finish(&mut self) -> Result<String, String> {
        Ok(String::new())
    }
}

aish_plugin_sdk::register_stage!(StageTally);
