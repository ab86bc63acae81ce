//! Hostile input: random collection schemas are judged as the field grammar says, random sort
//! parameters never panic the compiler, and deeply nested bodies, filters and sorts are
//! refused with 400 rather than exhausting the stack.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;
mod schema_grammar;

use std::cell::RefCell;
use std::collections::BTreeSet;

use common::TestServer;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use reqwest::StatusCode;
use schema_grammar::{EXISTING_COLLECTION, Expected, SchemaPlan, schema_plan};
use serde_json::{Map, Value, json};
use tinybase::ErrorKind;
use tinybase::collections::CollectionSchema;
use tinybase::collections::filter::compile_sort;
use tinybase::collections::validate::CompiledSchema;

/// How the generated schemas fared, so the test can tell that it exercised every path.
#[derive(Debug, Default)]
struct Tally {
    cases: usize,
    unparsable: usize,
    reached_compile: usize,
    compiled: usize,
    refused: usize,
    bad_values_refused: usize,
}

/// The detail keys of a validation error.
fn detail_keys(err: &tinybase::Error) -> BTreeSet<String> {
    err.details()
        .and_then(|d| d["fields"].as_object())
        .map(|fields| fields.keys().cloned().collect())
        .unwrap_or_default()
}

/// Checks the records side of a schema that compiled: records built to satisfy it are
/// stored as predicted, and a record breaking one field is refused naming that field only.
fn check_records(plan: &SchemaPlan, compiled: &CompiledSchema, tally: &mut Tally) {
    let full = plan.full_record();
    let stored = compiled
        .validate_new(&full)
        .unwrap_or_else(|err| panic!("a record built to fit was refused: {err:?}\n{full:?}"));
    assert_eq!(stored, plan.full_stored(), "stored form of {full:?}");
    // Stored data validates again unchanged, on create and on an empty patch.
    assert_eq!(compiled.validate_new(&stored).ok(), Some(stored.clone()));
    assert_eq!(
        compiled.validate_patch(&stored, &Map::new()).ok(),
        Some(stored.clone())
    );

    let minimal = plan.minimal_record();
    let kept = compiled
        .validate_new(&minimal)
        .unwrap_or_else(|err| panic!("the required fields alone were refused: {err:?}"));
    assert_eq!(
        kept,
        plan.minimal_stored(),
        "defaults applied to {minimal:?}"
    );

    let refused_naming = |data: &Map<String, Value>, field: &str, what: &str| {
        let err = compiled
            .validate_new(data)
            .expect_err(&format!("{what} was accepted: {data:?}"));
        assert_eq!(err.kind(), ErrorKind::Validation, "{what}: {err:?}");
        assert_eq!(
            detail_keys(&err),
            BTreeSet::from([field.to_owned()]),
            "{what}: {err:?}"
        );
    };
    for field in &plan.fields {
        for bad in &field.bad_values {
            let mut data = full.clone();
            data.insert(field.name.clone(), bad.clone());
            let what = format!("{} ({}) = {bad}", field.name, field.field_type);
            refused_naming(&data, &field.name, &what);
            // The same value is refused in a patch of a stored record.
            let patch: Map<String, Value> =
                [(field.name.clone(), bad.clone())].into_iter().collect();
            let err = compiled
                .validate_patch(&stored, &patch)
                .expect_err(&format!("patch {what} was accepted"));
            assert_eq!(detail_keys(&err), BTreeSet::from([field.name.clone()]));
            tally.bad_values_refused += 1;
        }
        if field.required && field.default.is_none() {
            let mut data = full.clone();
            data.remove(&field.name);
            refused_naming(&data, &field.name, &format!("leaving out {}", field.name));
            let mut data = full.clone();
            data.insert(field.name.clone(), Value::Null);
            refused_naming(&data, &field.name, &format!("{} = null", field.name));
        }
    }
    let mut data = full;
    data.insert("zz_unknown".to_owned(), json!(1));
    refused_naming(&data, "zz_unknown", "an unknown key");
}

/// Schemas drawn from the field grammar, valid and near-valid: the valid ones compile and
/// validate records as predicted, each mistake is refused where expected and named, and
/// nothing panics. The tally proves that most schemas got as far as the compiler.
#[test]
fn random_schemas_are_accepted_or_refused_as_the_grammar_says() {
    let config = ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let tally = RefCell::new(Tally::default());
    let result = TestRunner::new(config).run(&schema_plan(), |plan| {
        let tally = &mut *tally.borrow_mut();
        tally.cases += 1;
        let expected = plan.expected();
        let schema = match serde_json::from_value::<CollectionSchema>(plan.json()) {
            Ok(schema) => schema,
            Err(err) => {
                prop_assert_eq!(&expected, &Expected::Unparsable, "{}", err);
                tally.unparsable += 1;
                return Ok(());
            }
        };
        prop_assert_ne!(&expected, &Expected::Unparsable, "a shape mistake parsed");
        tally.reached_compile += 1;
        match CompiledSchema::compile(&schema, &|name| name == EXISTING_COLLECTION) {
            Ok(compiled) => {
                prop_assert_eq!(&expected, &Expected::Compiles, "a mistake compiled");
                check_records(&plan, &compiled, tally);
                tally.compiled += 1;
            }
            Err(err) => {
                prop_assert_eq!(err.kind(), tinybase::ErrorKind::Validation, "{:?}", err);
                prop_assert_eq!(err.message(), "the schema is not valid");
                prop_assert_eq!(&Expected::Refused(detail_keys(&err)), &expected);
                tally.refused += 1;
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let tally = tally.into_inner();
    // Loose bounds on what the generator produces (about 60% valid, 25% refused by the
    // checker, 15% malformed), tight enough that a generator whose schemas mostly fail to
    // parse, or never compile, fails here.
    let share = |n: usize| n * 100 / tally.cases;
    assert!(share(tally.reached_compile) >= 70, "{tally:?}");
    assert!(share(tally.compiled) >= 40, "{tally:?}");
    assert!(share(tally.refused) >= 10, "{tally:?}");
    assert!(tally.unparsable >= 10, "{tally:?}");
    assert!(tally.bad_values_refused >= 5 * tally.compiled, "{tally:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

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
