//! Compiled filters and sorts run against a real SQLite `records` table.

use tinybase::collections::filter::compile_sort;

use crate::support::{compile, run, schema, seeded_db};

#[track_caller]
fn assert_matches(filter: &str, expected: &[&str]) {
    let conn = seeded_db();
    let ids = run(&conn, &compile(filter), None).unwrap_or_else(|err| panic!("{filter:?}: {err}"));
    assert_eq!(ids, expected, "records matching {filter:?}");
}

#[test]
fn comparisons_select_the_right_records() {
    let cases: &[(&str, &[&str])] = &[
        ("rating >= 3", &["r1", "r2", "r6"]),
        ("rating < 3", &["r3"]),
        ("rating = 1 || rating = 5", &["r1", "r3"]),
        ("price > 10", &["r1"]),
        ("price = 10", &["r2"]),
        ("price <= 2.25", &["r6"]),
        ("published = true", &["r1", "r3"]),
        ("published = false", &["r2", "r6"]),
        ("title = 'Go basics'", &["r4"]),
        ("title > 'S'", &["r3"]),
        ("status = 'live'", &["r1"]),
        ("email ~ '@EXAMPLE.com'", &["r1"]),
        ("id = 'r1' || id = 'r6'", &["r1", "r6"]),
        ("owner_id = 'u1'", &["r1", "r3"]),
        ("meta = 'plain'", &["r2"]),
        ("meta = true", &["r6"]),
        ("meta ~ '\"a\":1'", &["r1"]),
    ];
    for (filter, expected) in cases {
        assert_matches(filter, expected);
    }
}

#[test]
fn contains_is_case_insensitive_and_literal() {
    assert_matches("title ~ 'rust'", &["r1", "r2", "r6"]);
    assert_matches("title ~ 'RUST IN'", &["r1"]);
    assert_matches("title ~ '%'", &["r2"]);
    assert_matches("title ~ '0% R'", &["r2"]);
    assert_matches("title ~ '_'", &["r3"]);
    assert_matches("title ~ 'e_c'", &["r3"]);
    // `e_c` as a LIKE pattern would also match "e c", "e-c", …
    assert_matches("title ~ 'n_A'", &[]);
    assert_matches(r"title ~ '\\'", &["r6"]);
    assert_matches(r"title ~ 'C:\\temp\\'", &["r6"]);
    assert_matches("title ~ ''", &["r1", "r2", "r3", "r4", "r6"]);
}

#[test]
fn negations_include_records_without_a_value() {
    assert_matches("rating != 3", &["r1", "r3", "r4", "r5", "r6"]);
    assert_matches("title !~ 'rust'", &["r3", "r4", "r5"]);
    assert_matches("published != true", &["r2", "r4", "r5", "r6"]);
    assert_matches("owner_id != 'u1'", &["r2", "r4", "r5", "r6"]);
    assert_matches("status != 'live'", &["r2", "r3", "r4", "r5", "r6"]);
    assert_matches(
        "due != '2026-02-01T10:00:00Z'",
        &["r2", "r3", "r4", "r5", "r6"],
    );
}

#[test]
fn null_matches_absent_and_null_values() {
    assert_matches("rating = null", &["r4", "r5"]);
    assert_matches("rating != null", &["r1", "r2", "r3", "r6"]);
    assert_matches("title = null", &["r5"]);
    assert_matches("owner_id = null", &["r5"]);
    assert_matches("meta = null", &["r3", "r4", "r5"]);
    // An empty list is a value; only absent and null lists are null.
    assert_matches("tags = null", &["r4", "r5"]);
    assert_matches("tags != null", &["r1", "r2", "r3", "r6"]);
}

#[test]
fn lists_match_on_elements() {
    assert_matches("tags = 'rust'", &["r1"]);
    assert_matches("tags ~ 'rust'", &["r1", "r6"]);
    assert_matches("tags ~ '%'", &["r2"]);
    assert_matches("tags != 'rust'", &["r2", "r3", "r4", "r5", "r6"]);
    assert_matches("tags !~ 'rust'", &["r2", "r3", "r4", "r5"]);
    assert_matches("scores = 2", &["r1"]);
    assert_matches("scores = 10", &["r2"]);
    assert_matches("scores != 10", &["r1", "r3", "r4", "r5", "r6"]);
    assert_matches("weights = 2.5", &["r6"]);
    assert_matches("weights = 0.5 || scores = 10", &["r1", "r2"]);
}

#[test]
fn datetimes_and_dates() {
    assert_matches("due >= '2026-01-01'", &["r1"]);
    assert_matches("due < '2026-01-01T00:30:00+01:00'", &["r6"]);
    assert_matches("due = '2026-02-01T11:00:00+01:00'", &["r1"]);
    assert_matches("due = '2026-02-01T10:00:00.000Z'", &["r1"]);
    assert_matches("created_at > '2026-01-04'", &["r5", "r6"]);
    assert_matches(
        "created_at >= '2026-01-04' && created_at < '2026-01-05'",
        &["r4"],
    );
    assert_matches("updated_at <= '2026-01-02T00:00:00Z'", &["r1", "r2"]);
    assert_matches("day = '2026-02-01'", &["r1"]);
    assert_matches("day < '2026-01-01'", &["r6"]);
}

#[test]
fn precedence_and_grouping() {
    assert_matches("rating = 1 || rating = 5 && published = false", &["r3"]);
    assert_matches(
        "(rating = 1 || rating = 5) && published = true",
        &["r1", "r3"],
    );
    assert_matches(
        "rating >= 3 && (title ~ 'rust' || published = true)",
        &["r1", "r2", "r6"],
    );
    assert_matches(
        "rating >= 3 && title ~ 'rust' || published = true",
        &["r1", "r2", "r3", "r6"],
    );
}

#[test]
fn sorts_order_the_records() {
    let conn = seeded_db();
    let all = compile("id != null");
    let order =
        |sort: &str| run(&conn, &all, Some(&compile_sort(sort, &schema()).unwrap())).unwrap();
    assert_eq!(order("-created_at"), ["r6", "r5", "r4", "r3", "r2", "r1"]);
    // Nulls first ascending; ties broken by id.
    assert_eq!(order("rating"), ["r4", "r5", "r3", "r2", "r6", "r1"]);
    assert_eq!(order("-rating"), ["r1", "r6", "r2", "r3", "r5", "r4"]);
    assert_eq!(
        order("published,-title"),
        ["r4", "r5", "r6", "r2", "r3", "r1"]
    );
    assert_eq!(order("owner_id,-id"), ["r5", "r3", "r1", "r4", "r2", "r6"]);
}
