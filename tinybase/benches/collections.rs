//! Micro-benchmarks of the per-request collection work: validating a record against its
//! schema, parsing and compiling a filter to SQL, and serialising records to JSON.
//!
//! `cargo bench -p tinybase --bench collections` measures; `cargo test -p tinybase
//! --bench collections` runs each benchmark once as a test (what CI does).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{TimeZone, Utc};
use divan::{Bencher, black_box};
use serde_json::{Map, Value, json};
use tinybase::collections::filter::{RequestValues, RuleEnv, compile_filter, compile_rule};
use tinybase::collections::validate::CompiledSchema;
use tinybase::collections::{CollectionSchema, Record};

fn main() {
    divan::main();
}

/// The benchmark's `posts` collection (as in tests/bench) plus a few constrained fields.
fn posts_schema() -> CollectionSchema {
    serde_json::from_value(json!({"fields": [
        {"name": "title", "type": "string", "required": true, "max_length": 200},
        {"name": "published", "type": "boolean", "default": false},
        {"name": "tags", "type": "list[string]", "max_length": 10},
        {"name": "rating", "type": "int", "min": 0, "max": 5, "indexed": true},
        {"name": "slug", "type": "string", "pattern": "^[a-z0-9-]+$"},
        {"name": "score", "type": "float"},
        {"name": "author_email", "type": "email"},
        {"name": "published_at", "type": "datetime"},
    ]}))
    .unwrap()
}

fn compiled() -> CompiledSchema {
    CompiledSchema::compile(&posts_schema(), &|_| true).unwrap()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

fn sample_data(i: usize) -> Map<String, Value> {
    object(json!({
        "title": format!("Post number {i}: notes on rust"),
        "published": i.is_multiple_of(2),
        "tags": ["rust", "sqlite", "web"],
        "rating": (i % 6) as i64,
        "slug": format!("post-number-{i}"),
        "score": 3.25,
        "author_email": "ann@example.com",
        "published_at": "2026-11-26T10:00:00Z",
    }))
}

mod validation {
    use super::*;

    /// Checking a schema when it is saved (field names, types, regexes, defaults).
    #[divan::bench]
    fn compile_schema(bencher: Bencher) {
        let schema = posts_schema();
        bencher.bench(|| CompiledSchema::compile(black_box(&schema), &|_| true).unwrap());
    }

    /// A valid 8-field record, as on every create.
    #[divan::bench]
    fn valid_record(bencher: Bencher) {
        let schema = compiled();
        let data = sample_data(7);
        bencher.bench(|| schema.validate_new(black_box(&data)).unwrap());
    }

    /// The benchmark's 4-field create body.
    #[divan::bench]
    fn small_record(bencher: Bencher) {
        let schema = compiled();
        let data = object(json!({"title": "A new post", "published": true,
                                 "tags": ["bench", "rust"], "rating": 4}));
        bencher.bench(|| schema.validate_new(black_box(&data)).unwrap());
    }

    /// A record with every field wrong: the 422 that lists them all.
    #[divan::bench]
    fn invalid_record(bencher: Bencher) {
        let schema = compiled();
        let data = object(json!({
            "title": "x".repeat(300), "published": "yes", "tags": [1, 2], "rating": 9,
            "slug": "Not A Slug", "score": "high", "author_email": "nobody",
            "published_at": "yesterday", "extra": true,
        }));
        bencher.bench(|| schema.validate_new(black_box(&data)).unwrap_err());
    }

    /// PATCH: merge over a stored record, then validate the result.
    #[divan::bench]
    fn patch_record(bencher: Bencher) {
        let schema = compiled();
        let existing = sample_data(3);
        let patch = object(json!({"rating": 5, "tags": null}));
        bencher.bench(|| {
            schema
                .validate_patch(black_box(&existing), black_box(&patch))
                .unwrap()
        });
    }
}

mod filter {
    use super::*;

    const FILTERS: &[&str] = &[
        "rating > 3",
        "rating >= 3 && (title ~ 'rust' || published = true)",
        "(rating > 1 && rating < 5) || (tags = 'rust' && slug != null) || \
         (score >= 2.5 && author_email ~ '@example.com' && published_at > '2026-01-01T00:00:00Z')",
    ];

    /// Lexing, parsing, type-checking against the schema and emitting SQL.
    #[divan::bench(args = FILTERS)]
    fn parse_and_compile(bencher: Bencher, text: &str) {
        let schema = posts_schema();
        bencher.bench(|| compile_filter(black_box(text), &schema).unwrap());
    }

    /// A filter that fails to type-check (the 400 path).
    #[divan::bench]
    fn rejected(bencher: Bencher) {
        let schema = posts_schema();
        bencher
            .bench(|| compile_filter(black_box("rating > 'x' && title ~ 3"), &schema).unwrap_err());
    }

    /// A rule expression compiled for one caller, as every list under it does.
    #[divan::bench]
    fn rule_for_a_caller(bencher: Bencher) {
        let schema = posts_schema();
        let text = "published = true || author_email = @request.auth.email";
        bencher.bench(|| {
            // Built per run: the environment holds a `dyn Fn`, which is not `Sync`.
            let lookup = |_: &str| None;
            let env = RuleEnv {
                collections: &lookup,
                request: Some(RequestValues {
                    auth_id: "019a0000-0000-7000-8000-000000000001",
                    auth_email: "ann@example.com",
                    auth_email_verified: true,
                    is_admin: false,
                    body: None,
                }),
                body_allowed: false,
            };
            compile_rule(black_box(text), &schema, &env).unwrap()
        });
    }
}

mod serialization {
    use super::*;

    fn record(i: usize) -> Record {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        Record {
            id: format!("019abc12-3456-7def-8abc-{i:012}"),
            collection: "posts".into(),
            owner_id: Some("019abc12-3456-7def-8abc-000000000001".into()),
            created_at: at,
            updated_at: at,
            data: sample_data(i),
        }
    }

    /// One record to a JSON response body.
    #[divan::bench]
    fn record_to_json(bencher: Bencher) {
        let r = record(1);
        bencher.bench(|| serde_json::to_vec(black_box(&r)).unwrap());
    }

    /// A list page of 20 records (the list endpoint's body, without the envelope).
    #[divan::bench]
    fn page_of_20_to_json(bencher: Bencher) {
        let page: Vec<Record> = (0..20).map(record).collect();
        bencher.bench(|| serde_json::to_vec(black_box(&page)).unwrap());
    }

    /// A stored `data` column back into a map (every read does this per record).
    #[divan::bench]
    fn stored_data_from_json(bencher: Bencher) {
        let text = serde_json::to_string(&sample_data(1)).unwrap();
        bencher.bench(|| serde_json::from_str::<Map<String, Value>>(black_box(&text)).unwrap());
    }
}
