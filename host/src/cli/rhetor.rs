//! The Tekton habit `-r URL` / `TEKTON_RHETOR_PORT`: the AIs a Rhetor lists join the configured
//! ones, each reached through the `sse` plugin in the `rhetor` dialect.

use std::time::Duration;

use serde_json::Value;

use aish::config::AiConfig;

/// The AIs the Rhetor at `url` lists (`GET /api/ai/specialists`), as (name, config); an error
/// is one line for the user.
pub async fn discover(url: &str) -> Result<Vec<(String, AiConfig)>, String> {
    let base = url.trim_end_matches('/');
    let list_url = format!("{base}/api/ai/specialists");
    let fail = |why: String| format!("cannot list the AIs of Rhetor at {base}: {why}; going on without them");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| fail(e.to_string()))?;
    let response = client.get(&list_url).send().await.map_err(|e| fail(innermost(&e)))?;
    if !response.status().is_success() {
        return Err(fail(format!("it answered HTTP {}", response.status().as_u16())));
    }
    let bytes = response.bytes().await.map_err(|e| fail(innermost(&e)))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| fail(format!("the list is not JSON ({e})")))?;
    let specialists =
        body.get("specialists").unwrap_or(&body).as_array().ok_or_else(|| fail("no list of specialists".into()))?;
    Ok(specialists
        .iter()
        .filter_map(|s| s.as_str().or_else(|| s.get("id").and_then(Value::as_str)))
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(|id| {
            let ai = AiConfig::new(format!("{base}/api/ai/specialists/{id}/message"), "sse", "rhetor");
            (id.to_owned(), ai)
        })
        .collect())
}

fn innermost(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
