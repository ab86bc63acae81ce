//! Hostile input: random collection schemas never panic the schema checker, random sort
//! parameters never panic the compiler, and deeply nested bodies, filters and sorts are
//! refused with 400 rather than exhausting the stack.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::TestServer;
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tinybase::collections::CollectionSchema;
use tinybase::collections::filter::compile_sort;
use tinybase::collections::validate::CompiledSchema;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z_\\[\\]0-9]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("string"),
            Just("int"),
            Just("float"),
            Just("select"),
            Just("relation"),
            Just("list[int]"),
            Just("datetime"),
            Just("json"),
            Just("email"),
            Just("url")
        ]
        .prop_map(|t| Value::String(t.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name"),
                    Just("type"),
                    Just("required"),
                    Just("default"),
                    Just("min"),
                    Just("max"),
                    Just("min_length"),
                    Just("max_length"),
                    Just("pattern"),
                    Just("unique"),
                    Just("indexed"),
                    Just("values"),
                    Just("collection"),
                    Just("fields"),
                    Just("bogus")
                ]
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn schema_json() -> impl Strategy<Value = Value> {
    prop::collection::vec(json_value(), 0..6).prop_map(|fields| json!({ "fields": fields }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_schemas_are_accepted_or_refused_without_panicking(value in schema_json()) {
        if let Ok(schema) = serde_json::from_value::<CollectionSchema>(value) {
            match CompiledSchema::compile(&schema, &|name| name == "posts") {
                Ok(compiled) => {
                    // A schema that passed compiles its own defaults into valid records.
                    let _ = compiled.validate_new(&serde_json::Map::new());
                }
                Err(err) => prop_assert_eq!(err.kind(), tinybase::ErrorKind::Validation),
            }
        }
    }

    #[test]
    fn random_sort_parameters_never_panic(text in "[-+a-z_, ]{0,40}|\\PC{0,40}") {
        let schema: CollectionSchema = serde_json::from_value(json!({"fields": [
            {"name": "title", "type": "string"}, {"name": "rating", "type": "int"},
            {"name": "tags", "type": "list[string]"},
        ]})).unwrap();
        if let Err(err) = compile_sort(&text, &schema) {
            prop_assert!(err.position <= text.chars().count());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_input_is_a_400_not_a_crash() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (status, _) = server
        .post(
            "/api/collections",
            Some(&admin),
            json!({"name": "deep", "schema": {"fields": [
            {"name": "doc", "type": "json"}, {"name": "title", "type": "string"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // A body nested 100,000 levels deep.
    let body = format!(
        "{{\"doc\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let response = server
        .request(
            reqwest::Method::POST,
            "/api/collections/deep/records",
            Some(&admin),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "bad_request", "{error}");

    // A filter nested 1,000 parentheses deep (past the limit of 32), and an absurd sort.
    let filter = format!("{}title = 'x'{}", "(".repeat(1_000), ")".repeat(1_000));
    let response = server
        .request(
            reqwest::Method::GET,
            "/api/collections/deep/records",
            Some(&admin),
        )
        .query(&[("filter", filter.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // 5,000 deep no longer even reaches the parser: its URI is over the 16 KiB limit.
    let filter = format!("{}title = 'x'{}", "(".repeat(5_000), ")".repeat(5_000));
    let response = server
        .request(
            reqwest::Method::GET,
            "/api/collections/deep/records",
            Some(&admin),
        )
        .query(&[("filter", filter.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
    let sort = "title,".repeat(2_000);
    let response = server
        .request(
            reqwest::Method::GET,
            "/api/collections/deep/records",
            Some(&admin),
        )
        .query(&[("sort", sort.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The server is still fine.
    let (status, _) = server.get("/api/health", None).await;
    assert_eq!(status, StatusCode::OK);
}
