//! What the property tests of every stream parser share (the `testing` feature, for the
//! transports' tests, and this crate's own): a proptest config that writes no regression files
//! into the source tree, and an input cut into reads at arbitrary places.

use proptest::sample::Index;
use proptest::test_runner::Config;

/// A config with `cases` cases and no regression files written into the source tree.
pub fn config(cases: u32) -> Config {
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// `input` cut at the given places (sorted; empty reads kept: a transport may hand one over).
pub fn cut<'a>(input: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
    at.sort_unstable();
    let mut from = 0;
    let mut chunks: Vec<&[u8]> = at
        .into_iter()
        .map(|to| {
            let chunk = &input[from..to];
            from = to;
            chunk
        })
        .collect();
    chunks.push(&input[from..]);
    chunks
}
