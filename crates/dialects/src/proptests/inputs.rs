//! What the property tests feed the dialects: the event names, keys and words the dialects look
//! for (so random messages reach their branches often), JSON values built from them, and real
//! streams from the providers' documentation to mutate.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// SSE event names the dialects look for, and a few they do not.
pub(super) const EVENT_NAMES: &[&str] = &[
    "",
    "message",
    "done",
    "error",
    "token",
    "metadata",
    "heartbeat",
    "ping",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_start",
    "message_delta",
    "message_stop",
    "response.output_text.delta",
    "response.completed",
    "unknown",
];

/// Keys the dialects read somewhere in a message.
pub(super) const KEYS: &[&str] = &[
    "type",
    "event",
    "data",
    "token",
    "content",
    "message",
    "error",
    "choices",
    "delta",
    "tool_calls",
    "index",
    "id",
    "function",
    "name",
    "arguments",
    "finish_reason",
    "refusal",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "input_tokens",
    "output_tokens",
    "candidates",
    "parts",
    "text",
    "functionCall",
    "args",
    "thought",
    "finishReason",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "promptFeedback",
    "blockReason",
    "done",
    "prompt_eval_count",
    "eval_count",
    "item",
    "item_id",
    "output_index",
    "call_id",
    "response",
    "incomplete_details",
    "reason",
    "content_block",
    "partial_json",
    "stop_reason",
    "metadata",
    "model",
    "status",
    "code",
    "chunk",
];

/// String values that steer the dialects down their branches.
pub(super) const WORDS: &[&str] = &[
    "token",
    "message",
    "done",
    "error",
    "metadata",
    "heartbeat",
    "ping",
    "chunk",
    "complete",
    "text_delta",
    "input_json_delta",
    "tool_use",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_start",
    "message_delta",
    "message_stop",
    "function_call",
    "response.output_text.delta",
    "response.refusal.delta",
    "response.output_item.added",
    "response.output_item.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.created",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "[DONE]",
    "{",
    "",
    " ",
];

/// A string: one the dialects know, or anything.
pub(super) fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

/// A key: one the dialects read, or anything.
pub(super) fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

/// Any JSON value, its objects keyed mostly with the keys the dialects read.
pub(super) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just(0u64), Just(1), Just(u64::MAX)].prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An SSE event name: one the dialects know, or anything.
pub(super) fn event_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(EVENT_NAMES).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

/// Real streams, one or two per dialect, from the providers' documentation (as in their tests).
pub(super) const FIXTURES: &[&[(&str, &str)]] = &[
    &[
        ("message", r#"{"event":"token","data":{"token":"a"}}"#),
        ("message", r#"{"event":"metadata","data":{"model":"m"}}"#),
        ("message", r#"{"event":"heartbeat"}"#),
        ("message", r#"{"event":"token","data":{"token":"b"}}"#),
        ("done", r#"{"usage":{"input_tokens":7,"output_tokens":3}}"#),
    ],
    &[("message", r#"{"event":"error","data":{"message":"model offline"}}"#)],
    &[
        ("message", r#"{"type":"chunk","content":"Hi"}"#),
        ("message", r#"{"type":"complete","metadata":{"model":"x"}}"#),
        ("message", r#"{"type":"error","error":"no budget"}"#),
    ],
    &[
        (
            "message",
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
        ),
        (
            "message",
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
        ),
        (
            "message",
            r#"{"id":"chatcmpl-2","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","function":{"arguments":"","name":"get_weather"},"type":"function"}]},"finish_reason":null}]}"#,
        ),
        (
            "message",
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":\"Paris, France\"}"}}]},"finish_reason":null}]}"#,
        ),
        (
            "message",
            r#"{"id":"chatcmpl-2","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        ),
        (
            "message",
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
        ),
        ("message", r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#),
        ("message", "[DONE]"),
    ],
    &[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
        ),
        ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Francisco, CA\"}"}}"#,
        ),
        ("content_block_stop", r#"{"type":"content_block_stop","index":1}"#),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
        ),
        ("error", r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ],
    &[
        (
            "",
            r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}"#,
        ),
        (
            "",
            r#"{"model":"llama3.2","created_at":"2024-07-22T20:33:28.123648Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_current_weather","arguments":{"format":"celsius","location":"Paris, FR"}}}]},"done":false}"#,
        ),
        ("", r#"{"error":"model 'x' not found"}"#),
        (
            "",
            r#"{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"total_duration":4883583458,"prompt_eval_count":26,"eval_count":2}"#,
        ),
    ],
    &[
        (
            "response.created",
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"o4-mini-2025-04-16","output":[]}}"#,
        ),
        (
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"The solution is 42."}"#,
        ),
        (
            "response.output_item.added",
            r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"lookup"}}"#,
        ),
        ("", r#"{"type":"response.function_call_arguments.delta","output_index":1,"delta":"{\"q\":\"x\"}"}"#),
        (
            "",
            r#"{"type":"response.function_call_arguments.done","item_id":"fc_1","output_index":1,"arguments":"{\"q\":\"x\"}"}"#,
        ),
        (
            "response.output_item.done",
            r#"{"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"lookup","arguments":"{}","status":"completed"}}"#,
        ),
        ("response.failed", r#"{"type":"response.failed","response":{"error":{"message":"boom"}}}"#),
        (
            "response.incomplete",
            r#"{"type":"response.incomplete","response":{"incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":2,"output_tokens":3}}}"#,
        ),
        (
            "response.completed",
            r#"{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":2,"output_tokens":3,"total_tokens":5}}}"#,
        ),
    ],
    &[
        (
            "message",
            r#"{"candidates": [{"content": {"parts": [{"text": "The"}], "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 1, "totalTokenCount": 9}}"#,
        ),
        (
            "message",
            r#"{"candidates": [{"content": {"parts": [{"text": "pondering", "thought": true}, { "functionCall": { "name": "getTemperature", "args": { "city": "San Jose" } } }]}, "finishReason": "MAX_TOKENS","index": 0}]}"#,
        ),
        ("message", r#"{"candidates": [{"content": {}, "index": 0}], "usageMetadata": {"promptTokenCount": 8}}"#),
        ("message", r#"{"promptFeedback": {"blockReason": "SAFETY"}}"#),
        (
            "message",
            r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
        ),
    ],
];
