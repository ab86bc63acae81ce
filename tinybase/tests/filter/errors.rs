//! Rejected filters: type rules, syntax errors, limits and hostile input. Every error must
//! say what is wrong and point at the right character.

use tinybase::ErrorKind;
use tinybase::collections::filter::{MAX_QUERY_CHARS, QueryError};

use crate::support::reject;

/// Asserts the error's position and that its message contains `needle`.
#[track_caller]
fn assert_rejected(filter: &str, position: usize, needle: &str) -> QueryError {
    let err = reject(filter);
    assert_eq!(
        err.position, position,
        "position for {filter:?}: {}",
        err.message
    );
    assert!(
        err.message.contains(needle),
        "message for {filter:?} should contain {needle:?}: {}",
        err.message
    );
    assert!(
        err.message.contains(&format!("at position {position}")),
        "message for {filter:?} should name the position: {}",
        err.message
    );
    err
}

#[test]
fn operators_that_do_not_fit_the_type() {
    let cases = [
        (
            "rating ~ 3",
            "operator `~` does not apply to int field `rating`",
        ),
        (
            "price !~ 3",
            "operator `!~` does not apply to float field `price`",
        ),
        (
            "published > true",
            "operator `>` does not apply to boolean field `published`",
        ),
        (
            "published ~ 'x'",
            "operator `~` does not apply to boolean field `published`",
        ),
        (
            "due ~ '2026'",
            "operator `~` does not apply to datetime field `due`",
        ),
        (
            "created_at !~ '2026'",
            "operator `!~` does not apply to datetime field `created_at`",
        ),
        (
            "day ~ '2026'",
            "operator `~` does not apply to date field `day`",
        ),
        (
            "meta > 1",
            "operator `>` does not apply to json field `meta`",
        ),
        (
            "tags > 'a'",
            "operator `>` does not apply to list[string] field `tags`",
        ),
        (
            "scores <= 1",
            "operator `<=` does not apply to list[int] field `scores`",
        ),
        (
            "scores ~ '1'",
            "operator `~` does not apply to list[int] field `scores`",
        ),
        (
            "weights !~ '1'",
            "operator `!~` does not apply to list[float] field `weights`",
        ),
    ];
    for (filter, message) in cases {
        let op_at = filter.find(' ').unwrap() + 1;
        assert_rejected(filter, op_at, message);
    }
    assert_eq!(
        reject("rating ~ 3").message,
        "operator `~` does not apply to int field `rating` at position 7; \
         use one of = != > >= < <="
    );
}

#[test]
fn literals_that_do_not_fit_the_type() {
    let cases = [
        (
            "title = 3",
            8,
            "string field `title` needs a quoted string, not `3`",
        ),
        ("title = true", 8, "needs a quoted string"),
        ("id = 1", 5, "text field `id` needs a quoted string"),
        ("title ~ 3", 8, "needs a quoted string"),
        (
            "rating = '3'",
            9,
            "int field `rating` needs a number, not `'3'`",
        ),
        ("price > true", 8, "float field `price` needs a number"),
        (
            "published = 1",
            12,
            "boolean field `published` needs true or false",
        ),
        ("published = 'true'", 12, "needs true or false"),
        ("due > 3", 6, "datetime field `due` needs a quoted datetime"),
        ("due > 'yesterday'", 6, "invalid datetime `yesterday`"),
        ("due > '2026-01-31T12:00:00'", 6, "invalid datetime"),
        ("created_at > '2026-02-30'", 13, "invalid datetime"),
        ("day = '2026-02-30'", 6, "invalid date `2026-02-30`"),
        ("day = '2026-01-31T00:00:00Z'", 6, "invalid date"),
        ("day = 20260131", 6, "date field `day` needs a quoted date"),
        ("meta ~ 3", 7, "json field `meta` needs a quoted string"),
        (
            "tags = 1",
            7,
            "list[string] field `tags` needs a quoted string",
        ),
        ("tags ~ true", 7, "needs a quoted string"),
        ("scores = 'a'", 9, "list[int] field `scores` needs a number"),
        (
            "weights = false",
            10,
            "list[float] field `weights` needs a number",
        ),
    ];
    for (filter, position, message) in cases {
        assert_rejected(filter, position, message);
    }
}

#[test]
fn null_only_takes_equality() {
    for (filter, position) in [
        ("title > null", 6),
        ("rating <= null", 7),
        ("title ~ null", 6),
        ("tags !~ null", 5),
    ] {
        assert_rejected(filter, position, "does not apply to null");
    }
}

#[test]
fn syntax_errors_say_what_was_expected() {
    assert_eq!(
        reject("rating >= ").message,
        "expected a value after `>=` at position 10; a value is 'text', a number, true, \
         false or null"
    );
    assert_rejected("rating", 6, "expected an operator after `rating`");
    assert_rejected(
        "rating 3",
        7,
        "expected an operator after `rating`, found `3`",
    );
    assert_rejected("rating = 3 &&", 13, "expected a field name after `&&`");
    assert_rejected("rating = 3 && || title = 'a'", 14, "found `||`");
    assert_rejected(
        "rating = 3 title = 'a'",
        11,
        "expected `&&`, `||` or the end",
    );
    assert_rejected("= 3", 0, "expected a field name, found `=`");
    assert_rejected("'x' = title", 0, "expected a field name, found `'x'`");
    assert_rejected("()", 1, "expected a field name after `(`, found `)`");
    assert_rejected("rating = = 3", 9, "expected a value after `=`, found `=`");
    assert_rejected(
        "rating = TRUE",
        9,
        "expected a value after `=`, found `TRUE`",
    );
}

#[test]
fn unknown_fields_list_the_known_ones() {
    let err = assert_rejected("ratng >= 3", 0, "unknown field `ratng`");
    assert_eq!(
        err.message,
        "unknown field `ratng` at position 0; fields: title, body, rating, price, published, \
         due, day, email, site, status, author, meta, tags, scores, weights, id, owner_id, \
         created_at, updated_at"
    );
    assert_rejected("rating = 1 || Title = 'a'", 14, "unknown field `Title`");
    assert_rejected(
        "collection = 'posts'",
        0,
        "field `collection` cannot be filtered on",
    );
    assert_rejected("data ~ 'x'", 0, "unknown field `data`");
}

#[test]
fn the_error_becomes_a_bad_request_with_the_position() {
    let err: tinybase::Error = reject("rating >= ").into();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(
        err.message().contains("at position 10"),
        "{}",
        err.message()
    );
    assert_eq!(err.details(), Some(&serde_json::json!({"position": 10})));
}

#[test]
fn sql_injection_attempts_are_rejected() {
    let err = assert_rejected("title = 'x' OR 1=1", 12, "expected `&&`, `||` or the end");
    assert!(
        err.message.ends_with("; use `||` for or"),
        "{}",
        err.message
    );
    assert_rejected("title = 'x' AND rating = 1", 12, "use `&&` for and");
    assert_rejected(
        "title = 'x'; DROP TABLE records; --'",
        11,
        "unexpected character `;`",
    );
    assert_rejected("title = x", 8, "expected a value after `=`, found `x`");
    assert_rejected(
        "title = body",
        8,
        "cannot compare field `title` with field `body`",
    );
    assert_rejected("title = 'x' -- comment", 12, "unexpected `-`");
    assert_rejected("title = 'x' /* c */", 12, "unexpected character `/`");
    assert_rejected("title = \"x\" UNION SELECT 1", 12, "found `UNION`");
    assert_rejected("NOT title = 'x'", 0, "use `!=` or `!~` to negate");
    assert_rejected("title IS NULL", 6, "expected an operator");
    assert_rejected(
        "title = 'a' || 1 = 1",
        15,
        "expected a field name after `||`",
    );
    assert_rejected(
        "json_extract(data, '$.x') = 1",
        0,
        "unknown field `json_extract`",
    );
    assert_rejected("title = ?", 8, "unexpected character `?`");
}

#[test]
fn malformed_input() {
    assert_rejected("", 0, "empty filter");
    assert_rejected("   \n\t ", 0, "empty filter");
    assert_rejected("title = 'abc", 8, "unterminated string starting");
    assert_rejected("title = \"abc'", 8, "unterminated string starting");
    assert_rejected(r"title = 'abc\'", 8, "unterminated string starting");
    assert_rejected(r"title = 'a\x'", 10, r"unknown escape `\x`");
    assert_rejected("rating >", 8, "expected a value after `>`");
    assert_rejected("rating = 3 ||", 13, "expected a field name after `||`");
    assert_rejected("&& rating = 3", 0, "expected a field name, found `&&`");
    assert_rejected("(rating = 3", 0, "unclosed `(`");
    assert_rejected("((rating = 3)", 0, "unclosed `(`");
    assert_rejected("rating = 3)", 10, "unmatched `)`");
    assert_rejected("(rating = 3))", 12, "unmatched `)`");
    assert_rejected("(rating = 3 title = 'a')", 12, "expected `&&`, `||` or `)`");
    assert_rejected("rating = 1e999", 9, "out of range");
    assert_rejected("rating = -1e999", 9, "out of range");
    assert_rejected("rating = 99999999999999999999", 9, "out of range");
    assert_rejected("rating = NaN", 9, "expected a value");
    assert_rejected("rating = inf", 9, "expected a value");
    assert_rejected("rating = 1.", 11, "expected digits after the decimal point");
    assert_rejected("rating = .5", 9, "unexpected character `.`");
    assert_rejected("rating == 3", 7, "`==` is not an operator");
    assert_rejected("rating <> 3", 7, "`<>` is not an operator");
    assert_rejected("rating = 3 & title = 'a'", 11, "use `&&`");
}

#[test]
fn unicode_garbage() {
    assert_rejected("tïtle = 'a'", 1, "unexpected character `ï`");
    assert_rejected("title = 'a' ∧ rating = 1", 12, "unexpected character `∧`");
    assert_rejected("title ＝ 'a'", 6, "unexpected character `＝`");
    assert_rejected("🦀", 0, "unexpected character `🦀`");
    assert_rejected("\u{202e}title = 'a'", 0, r"unexpected character `\u{202e}`");
    assert_rejected("title\u{0} = 'a'", 5, r"unexpected character `\0`");
    // Inside quotes anything goes, and positions keep counting characters.
    assert_rejected("title = '🦀🦀' &&", 15, "expected a field name after `&&`");
}

#[test]
fn limits() {
    // Deep nesting: rejected when read, without recursing that deep.
    let deep = "(".repeat(100_000);
    let err = reject(&deep);
    assert_eq!(err.position, MAX_QUERY_CHARS);
    let just_long_enough = "(".repeat(MAX_QUERY_CHARS);
    assert_rejected(&just_long_enough, 32, "parentheses nested deeper than 32");
    let nested_ok = format!("{}id = 'a'{}", "(".repeat(32), ")".repeat(32));
    crate::support::compile(&nested_ok);
    let nested_too_deep = format!("{}id = 'a'{}", "(".repeat(33), ")".repeat(33));
    assert_rejected(&nested_too_deep, 32, "nested deeper than 32");

    // Length counts characters: 4096 multi-byte characters fit, 4097 do not.
    let fits = format!("title = '{}'", "é".repeat(MAX_QUERY_CHARS - 10));
    assert_eq!(fits.chars().count(), MAX_QUERY_CHARS);
    crate::support::compile(&fits);
    let too_long = format!("title = '{}'", "é".repeat(MAX_QUERY_CHARS - 9));
    assert_rejected(
        &too_long,
        MAX_QUERY_CHARS,
        "filter longer than 4096 characters",
    );

    let hundred = vec!["rating = 1"; 100].join(" || ");
    assert_eq!(crate::support::compile(&hundred).params.len(), 100);
    let too_many = vec!["rating = 1"; 101].join(" || ");
    assert_rejected(&too_many, 100 * 14, "more than 100 comparisons");
}
