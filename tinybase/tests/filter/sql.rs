//! The exact SQL and parameters each operator produces for each field type.

use tinybase::collections::filter::SqlParam::{self, Float, Int};
use tinybase::collections::filter::field_expression;

use crate::support::{assert_sql, compile, schema, text};

const TITLE: &str = "json_extract(data, '$.title')";

fn tags_exists(test: &str) -> String {
    format!("EXISTS (SELECT 1 FROM json_each(data, '$.tags') WHERE {test})")
}

#[test]
fn text_fields_take_every_operator() {
    let cases: &[(&str, String, &str)] = &[
        ("title = 'a'", format!("{TITLE} = ?"), "a"),
        ("title != 'a'", format!("{TITLE} IS NOT ?"), "a"),
        ("title > 'a'", format!("{TITLE} > ?"), "a"),
        ("title >= 'a'", format!("{TITLE} >= ?"), "a"),
        ("title < 'a'", format!("{TITLE} < ?"), "a"),
        ("title <= 'a'", format!("{TITLE} <= ?"), "a"),
        ("title ~ 'a'", format!("{TITLE} LIKE ? ESCAPE '\\'"), "%a%"),
        (
            "title !~ 'a'",
            format!("COALESCE({TITLE} NOT LIKE ? ESCAPE '\\', 1)"),
            "%a%",
        ),
    ];
    for (filter, sql, param) in cases {
        assert_sql(filter, sql, &[text(param)]);
    }
}

#[test]
fn every_textual_type_compiles_like_string() {
    for field in ["body", "email", "site", "status", "author"] {
        assert_sql(
            &format!("{field} ~ \"x\""),
            &format!("json_extract(data, '$.{field}') LIKE ? ESCAPE '\\'"),
            &[text("%x%")],
        );
        assert_sql(
            &format!("{field} <= 'x'"),
            &format!("json_extract(data, '$.{field}') <= ?"),
            &[text("x")],
        );
    }
    assert_sql("id = 'r1'", "id = ?", &[text("r1")]);
    assert_sql("owner_id != 'u1'", "owner_id IS NOT ?", &[text("u1")]);
    assert_sql(
        "owner_id ~ 'u'",
        "owner_id LIKE ? ESCAPE '\\'",
        &[text("%u%")],
    );
}

#[test]
fn contains_matches_wildcards_and_backslashes_literally() {
    assert_sql(
        "title ~ '100%'",
        &format!("{TITLE} LIKE ? ESCAPE '\\'"),
        &[text("%100\\%%")],
    );
    assert_sql(
        "title ~ 'snake_case'",
        &format!("{TITLE} LIKE ? ESCAPE '\\'"),
        &[text("%snake\\_case%")],
    );
    assert_sql(
        r"title !~ 'C:\\temp'",
        &format!("COALESCE({TITLE} NOT LIKE ? ESCAPE '\\', 1)"),
        &[text(r"%C:\\temp%")],
    );
}

#[test]
fn string_escapes_reach_the_parameter_not_the_sql() {
    assert_sql(r"title = 'it\'s'", &format!("{TITLE} = ?"), &[text("it's")]);
    assert_sql(
        r#"title = "say \"hi\"""#,
        &format!("{TITLE} = ?"),
        &[text(r#"say "hi""#)],
    );
    assert_sql(r"title = 'a\\b'", &format!("{TITLE} = ?"), &[text(r"a\b")]);
    assert_sql(
        r#"title = "it's""#,
        &format!("{TITLE} = ?"),
        &[text("it's")],
    );
    assert_sql("title = ''", &format!("{TITLE} = ?"), &[text("")]);
    assert_sql(
        "title = 'héllo wörld ✓'",
        &format!("{TITLE} = ?"),
        &[text("héllo wörld ✓")],
    );
}

#[test]
fn numbers() {
    let rating = "json_extract(data, '$.rating')";
    let price = "json_extract(data, '$.price')";
    let cases: &[(&str, String, SqlParam)] = &[
        ("rating = 3", format!("{rating} = ?"), Int(3)),
        ("rating != 3", format!("{rating} IS NOT ?"), Int(3)),
        ("rating > -3", format!("{rating} > ?"), Int(-3)),
        ("rating >= 0", format!("{rating} >= ?"), Int(0)),
        ("rating < 2.5", format!("{rating} < ?"), Float(2.5)),
        (
            "rating <= 9223372036854775807",
            format!("{rating} <= ?"),
            Int(i64::MAX),
        ),
        ("price = 10", format!("{price} = ?"), Int(10)),
        ("price > -1.5", format!("{price} > ?"), Float(-1.5)),
        ("price < 1e3", format!("{price} < ?"), Float(1000.0)),
        ("price != 0.25", format!("{price} IS NOT ?"), Float(0.25)),
    ];
    for (filter, sql, param) in cases {
        assert_sql(filter, sql, std::slice::from_ref(param));
    }
}

#[test]
fn booleans_bind_as_one_and_zero() {
    let published = "json_extract(data, '$.published')";
    assert_sql("published = true", &format!("{published} = ?"), &[Int(1)]);
    assert_sql("published = false", &format!("{published} = ?"), &[Int(0)]);
    assert_sql(
        "published != true",
        &format!("{published} IS NOT ?"),
        &[Int(1)],
    );
}

#[test]
fn datetimes_are_normalised_to_the_stored_form() {
    let due = "json_extract(data, '$.due')";
    assert_sql(
        "due >= '2026-01-31'",
        &format!("{due} >= ?"),
        &[text("2026-01-31T00:00:00.000000Z")],
    );
    assert_sql(
        "due < '2026-01-31T12:00:00+02:00'",
        &format!("{due} < ?"),
        &[text("2026-01-31T10:00:00.000000Z")],
    );
    assert_sql(
        "created_at > '2026-01-31T12:00:00.5Z'",
        "created_at > ?",
        &[text("2026-01-31T12:00:00.500000Z")],
    );
    assert_sql(
        "updated_at != \"2026-01-31T23:59:59.999999-00:30\"",
        "updated_at IS NOT ?",
        &[text("2026-02-01T00:29:59.999999Z")],
    );
    assert_sql(
        "created_at = '2026-01-31t12:00:00z'",
        "created_at = ?",
        &[text("2026-01-31T12:00:00.000000Z")],
    );
}

#[test]
fn dates_compare_as_text() {
    let day = "json_extract(data, '$.day')";
    assert_sql(
        "day = '2026-01-31'",
        &format!("{day} = ?"),
        &[text("2026-01-31")],
    );
    assert_sql(
        "day <= '2024-02-29'",
        &format!("{day} <= ?"),
        &[text("2024-02-29")],
    );
    assert_sql(
        "day != '2026-01-31'",
        &format!("{day} IS NOT ?"),
        &[text("2026-01-31")],
    );
}

#[test]
fn json_fields_take_any_literal() {
    let meta = "json_extract(data, '$.meta')";
    assert_sql("meta = 'x'", &format!("{meta} = ?"), &[text("x")]);
    assert_sql("meta = 3", &format!("{meta} = ?"), &[Int(3)]);
    assert_sql("meta = 1.5", &format!("{meta} = ?"), &[Float(1.5)]);
    assert_sql("meta = true", &format!("{meta} = ?"), &[Int(1)]);
    assert_sql("meta != false", &format!("{meta} IS NOT ?"), &[Int(0)]);
    assert_sql(
        "meta ~ 'x'",
        &format!("{meta} LIKE ? ESCAPE '\\'"),
        &[text("%x%")],
    );
    assert_sql(
        "meta !~ 'x'",
        &format!("COALESCE({meta} NOT LIKE ? ESCAPE '\\', 1)"),
        &[text("%x%")],
    );
}

#[test]
fn lists_test_their_elements() {
    assert_sql("tags = 'a'", &tags_exists("value = ?"), &[text("a")]);
    assert_sql(
        "tags != 'a'",
        &format!("NOT {}", tags_exists("value = ?")),
        &[text("a")],
    );
    assert_sql(
        "tags ~ 'a_'",
        &tags_exists("value LIKE ? ESCAPE '\\'"),
        &[text("%a\\_%")],
    );
    assert_sql(
        "tags !~ 'a'",
        &format!("NOT {}", tags_exists("value LIKE ? ESCAPE '\\'")),
        &[text("%a%")],
    );
    assert_sql(
        "scores = 3",
        "EXISTS (SELECT 1 FROM json_each(data, '$.scores') WHERE value = ?)",
        &[Int(3)],
    );
    assert_sql(
        "weights != 0.5",
        "NOT EXISTS (SELECT 1 FROM json_each(data, '$.weights') WHERE value = ?)",
        &[Float(0.5)],
    );
    assert_sql(
        "weights = 2",
        "EXISTS (SELECT 1 FROM json_each(data, '$.weights') WHERE value = ?)",
        &[Int(2)],
    );
}

#[test]
fn null_checks_take_no_parameter() {
    assert_sql("title = null", &format!("{TITLE} IS NULL"), &[]);
    assert_sql("title != null", &format!("{TITLE} IS NOT NULL"), &[]);
    assert_sql(
        "rating = null",
        "json_extract(data, '$.rating') IS NULL",
        &[],
    );
    assert_sql(
        "published != null",
        "json_extract(data, '$.published') IS NOT NULL",
        &[],
    );
    assert_sql("due = null", "json_extract(data, '$.due') IS NULL", &[]);
    assert_sql("meta = null", "json_extract(data, '$.meta') IS NULL", &[]);
    assert_sql("tags = null", "json_extract(data, '$.tags') IS NULL", &[]);
    assert_sql(
        "scores != null",
        "json_extract(data, '$.scores') IS NOT NULL",
        &[],
    );
    assert_sql("owner_id = null", "owner_id IS NULL", &[]);
}

#[test]
fn and_binds_tighter_than_or() {
    assert_sql(
        "rating = 1 || rating = 2 && title = 'x'",
        "json_extract(data, '$.rating') = ? OR (json_extract(data, '$.rating') = ? AND \
         json_extract(data, '$.title') = ?)",
        &[Int(1), Int(2), text("x")],
    );
    assert_sql(
        "rating = 1 && rating = 2 || title = 'x'",
        "(json_extract(data, '$.rating') = ? AND json_extract(data, '$.rating') = ?) OR \
         json_extract(data, '$.title') = ?",
        &[Int(1), Int(2), text("x")],
    );
}

#[test]
fn parentheses_group() {
    assert_sql(
        "(rating = 1 || rating = 2) && title = 'x'",
        "(json_extract(data, '$.rating') = ? OR json_extract(data, '$.rating') = ?) AND \
         json_extract(data, '$.title') = ?",
        &[Int(1), Int(2), text("x")],
    );
    // Redundant parentheses and same-operator groups flatten.
    assert_sql(
        "((id = 'a')) && (id = 'b' && (id = 'c'))",
        "id = ? AND id = ? AND id = ?",
        &[text("a"), text("b"), text("c")],
    );
    assert_sql(
        "id = 'a' || (id = 'b' || id = 'c')",
        "id = ? OR id = ? OR id = ?",
        &[text("a"), text("b"), text("c")],
    );
}

#[test]
fn the_design_example() {
    assert_sql(
        "rating >= 3 && (title ~ 'rust' || published = true)",
        "json_extract(data, '$.rating') >= ? AND (json_extract(data, '$.title') LIKE ? \
         ESCAPE '\\' OR json_extract(data, '$.published') = ?)",
        &[Int(3), text("%rust%"), Int(1)],
    );
}

#[test]
fn whitespace_is_insignificant() {
    let spaced = compile("  rating>=3&&(title~'a'||published=true)\n\t");
    let tight = compile("rating >= 3 && ( title ~ 'a' || published = true )");
    assert_eq!(spaced, tight);
}

#[test]
fn field_expressions() {
    let schema = schema();
    assert_eq!(field_expression("id", &schema).as_deref(), Some("id"));
    assert_eq!(
        field_expression("owner_id", &schema).as_deref(),
        Some("owner_id")
    );
    assert_eq!(
        field_expression("created_at", &schema).as_deref(),
        Some("created_at")
    );
    assert_eq!(
        field_expression("updated_at", &schema).as_deref(),
        Some("updated_at")
    );
    assert_eq!(
        field_expression("tags", &schema).as_deref(),
        Some("json_extract(data, '$.tags')")
    );
    assert_eq!(field_expression("collection", &schema), None);
    assert_eq!(field_expression("data", &schema), None);
    assert_eq!(field_expression("nope", &schema), None);
}
