//! Property test: the in-memory evaluator agrees with SQLite running the compiled SQL.
//!
//! Each case is a generated filter over a schema with a field of every type and a few
//! generated records whose values are right, absent, null or of another JSON type. Every
//! record is stored in a real (in-memory) `records` table and the compiled filter run
//! against it; [`RecordFilter::matches`] must give the same answer, and
//! [`RecordFilter::parse`] the same error when the filter is rejected.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Map, Number, Value, json};

use super::{RecordFilter, RecordView, SqlCondition, SqlParam, compile_filter};
use crate::collections::schema::CollectionSchema;

/// A field of every type (and the name filters use for it).
pub(super) fn test_schema() -> CollectionSchema {
    let fields = json!({"fields": [
        {"name": "s", "type": "string"},
        {"name": "t", "type": "text"},
        {"name": "i", "type": "int"},
        {"name": "f", "type": "float"},
        {"name": "b", "type": "boolean"},
        {"name": "dt", "type": "datetime"},
        {"name": "d", "type": "date"},
        {"name": "e", "type": "email"},
        {"name": "u", "type": "url"},
        {"name": "sel", "type": "select", "values": ["draft", "published"]},
        {"name": "r", "type": "relation", "collection": "people"},
        {"name": "j", "type": "json"},
        {"name": "ls", "type": "list[string]"},
        {"name": "li", "type": "list[int]"},
        {"name": "lf", "type": "list[float]"},
    ]});
    serde_json::from_value(fields).expect("the test schema is valid")
}

/// A `records` table in memory, typed like the real one, that answers by running SQL.
pub(super) struct Oracle {
    conn: Connection,
}

impl Oracle {
    pub(super) fn new() -> Self {
        let conn = Connection::open_in_memory().expect("in-memory database");
        // Column types as in the initial migration (they decide affinity); the foreign
        // keys are left out, as there are no users or collections here.
        conn.execute_batch(
            "CREATE TABLE records (
                id             TEXT PRIMARY KEY,
                collection_id  TEXT NOT NULL,
                owner_id       TEXT,
                data           TEXT NOT NULL CHECK (json_valid(data)),
                created_at     TEXT NOT NULL,
                updated_at     TEXT NOT NULL
            );",
        )
        .expect("create records");
        Self { conn }
    }

    /// Whether SQLite selects `record` with `filter` (which must compile).
    pub(super) fn matches(
        &self,
        filter: &str,
        schema: &CollectionSchema,
        record: &RecordView<'_>,
    ) -> bool {
        let condition = compile_filter(filter, schema).expect("filter compiles");
        self.selects(&condition, record)
    }

    /// Stores `record` as the only row, as the service stores it, and runs
    /// `SELECT 1 FROM records WHERE id = ? AND (<condition>)`.
    pub(super) fn selects(&self, condition: &SqlCondition, record: &RecordView<'_>) -> bool {
        self.conn
            .execute("DELETE FROM records", [])
            .expect("clear records");
        self.conn
            .execute(
                "INSERT INTO records (id, collection_id, owner_id, data, created_at, updated_at)
                 VALUES (?1, 'c1', ?2, ?3, ?4, ?5)",
                params![
                    record.id,
                    record.owner_id,
                    serde_json::to_string(record.data).expect("data serialises"),
                    record.created_at,
                    record.updated_at,
                ],
            )
            .expect("insert record");
        let sql = format!("SELECT 1 FROM records WHERE id = ? AND ({})", condition.sql);
        let params = std::iter::once(SqlParam::Text(record.id.to_owned()))
            .chain(condition.params.iter().cloned());
        self.conn
            .query_row(&sql, params_from_iter(params), |_| Ok(()))
            .optional()
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .is_some()
    }
}

/// Texts that sit near each other for `=`, `<` and `~`: case, wildcards, escapes,
/// non-ASCII, NUL, U+FFFE, numbers and dates as text, JSON as text.
const TEXTS: &[&str] = &[
    "",
    "a",
    "abc",
    "ABC",
    "aBc",
    "abcd",
    "b",
    "a%b",
    "a_b",
    "axb",
    "a\\b",
    "50%",
    "%",
    "_",
    "\\",
    "é",
    "É",
    "café",
    "CAFÉ",
    "日本語",
    "x\u{0}y",
    "\u{FFFE}",
    "\u{FFFD}",
    "1",
    "1.5",
    "2.0",
    "17",
    "true",
    "null",
    "draft",
    "published",
    "ann@example.com",
    "Ann@Example.com",
    "https://example.com/x",
    "2026-01-31",
    "2026-01-31T12:00:00.000000Z",
    "[1]",
    "{\"a\":1}",
    "1.0e+300",
    "e+3",
    "u1",
    "r1",
];

/// Short texts for `~` and `!~`, which look for them inside values: pieces of how SQLite
/// writes numbers (`1.0e+300`, `2.0`), wildcards, escapes, case, and NULs, which end a
/// `LIKE` pattern early.
const NEEDLES: &[&str] = &[
    "", "a", "B", "%", "_", "\\", "é", "É", "e+", "e-0", ".0", "00", "1.", "5", "\"", ":",
    "a\u{0}", "x\u{0}y", "\u{0}", "\u{FFFE}", "\u{FFFF}", "u1", "y",
];

/// Integers, including the edges of `i64` and neighbours of 2^53.
const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    3,
    17,
    300,
    i64::MAX,
    i64::MIN,
    9_007_199_254_740_992,
    9_007_199_254_740_993,
];

/// Floats, including integral ones, ones SQLite writes in exponent form or with 17
/// digits, and the extremes.
const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    0.5,
    1.5,
    2.0,
    -2.5,
    0.1,
    0.300_000_000_000_000_04,
    1e300,
    -1e300,
    1e16,
    1e17,
    1e-5,
    1e-7,
    123_456_789.125,
    9_007_199_254_740_992.0,
    5e-324,
    f64::MAX,
    3.0,
    17.0,
];

/// Stored datetimes (the fixed-width UTC form).
const STORED_DATETIMES: &[&str] = &[
    "2026-01-31T12:00:00.000000Z",
    "2026-01-31T10:00:00.000000Z",
    "2026-01-31T00:00:00.000000Z",
    "2026-02-01T00:00:00.000000Z",
    "2025-12-31T23:59:59.999999Z",
    "2026-01-31T12:00:00.123456Z",
];

/// Datetime literals in the forms filters accept, most of them equal to a stored value.
const DATETIME_LITERALS: &[&str] = &[
    "2026-01-31T12:00:00Z",
    "2026-01-31T14:00:00+02:00",
    "2026-01-31T11:00:00-01:00",
    "2026-01-31",
    "2026-02-01",
    "2026-01-31T12:00:00.000000Z",
    "2026-01-31T12:00:00.123456789Z",
    "2025-12-31T23:59:59.999999Z",
    "2026-01-31T10:00:00Z",
];

/// Dates, stored and in literals.
const DATES: &[&str] = &["2026-01-31", "2026-02-01", "2024-02-29", "2026-01-30"];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(TEXTS).prop_map(str::to_owned),
        1 => "[aAbB%_\\\\é]{0,4}",
        1 => "\\PC{0,4}",
    ]
}

/// Integers and floats that a comparison by converting to `f64` gets wrong: 2^53 + 1 is no
/// double, and 2^63 is no `i64`.
const EDGE_INTS: &[i64] = &[
    9_007_199_254_740_992,
    9_007_199_254_740_993,
    i64::MAX,
    i64::MIN,
    -9_007_199_254_740_993,
];
const EDGE_FLOATS: &[f64] = &[
    9_007_199_254_740_992.0,
    9_223_372_036_854_775_808.0,
    -9_223_372_036_854_775_808.0,
    -9_007_199_254_740_992.0,
];

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![4 => select(INTS), 2 => select(EDGE_INTS), 1 => any::<i64>(), 2 => -3i64..20]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => select(FLOATS),
        2 => select(EDGE_FLOATS),
        1 => any::<f64>().prop_filter("finite", |x| x.is_finite()),
        1 => (-100i32..100).prop_map(|n| f64::from(n) / 4.0),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => int().prop_map(Value::from),
        3 => float().prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
        1 => select(vec![u64::MAX, 1 << 63, 10_000_000_000_000_000_001]).prop_map(Value::from),
    ]
}

/// Any JSON value, leaning on the pools above, nested at most two levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        4 => number(),
        3 => text().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value of the field's own type.
fn typed_value(field: &str) -> BoxedStrategy<Value> {
    let list = |element: BoxedStrategy<Value>| {
        prop::collection::vec(element, 0..4)
            .prop_map(Value::Array)
            .boxed()
    };
    match field {
        "i" => int().prop_map(Value::from).boxed(),
        "f" => number().boxed(),
        "b" => any::<bool>().prop_map(Value::Bool).boxed(),
        "dt" => select(STORED_DATETIMES)
            .prop_map(|s| Value::String(s.to_owned()))
            .boxed(),
        "d" => select(DATES)
            .prop_map(|s| Value::String(s.to_owned()))
            .boxed(),
        "j" => any_json().boxed(),
        "ls" => list(prop_oneof![6 => text().prop_map(Value::String), 1 => any_json()].boxed()),
        "li" => list(prop_oneof![6 => int().prop_map(Value::from), 1 => any_json()].boxed()),
        "lf" => list(prop_oneof![6 => number(), 1 => any_json()].boxed()),
        _ => text().prop_map(Value::String).boxed(),
    }
}

const FIELDS: &[&str] = &[
    "s", "t", "i", "f", "b", "dt", "d", "e", "u", "sel", "r", "j", "ls", "li", "lf",
];

/// Record data: each field absent, null, of its type, or any JSON at all.
fn data() -> impl Strategy<Value = Map<String, Value>> {
    let per_field: Vec<BoxedStrategy<Option<Value>>> = FIELDS
        .iter()
        .map(|field| {
            prop_oneof![
                2 => Just(None),
                1 => Just(Some(Value::Null)),
                8 => typed_value(field).prop_map(Some),
                2 => any_json().prop_map(Some),
            ]
            .boxed()
        })
        .collect();
    per_field.prop_map(|values| {
        FIELDS
            .iter()
            .zip(values)
            .filter_map(|(name, value)| Some(((*name).to_owned(), value?)))
            .collect()
    })
}

/// A record's parts, owned.
#[derive(Debug, Clone)]
struct Record {
    id: String,
    owner_id: Option<String>,
    created_at: String,
    updated_at: String,
    data: Map<String, Value>,
}

impl Record {
    fn view(&self) -> RecordView<'_> {
        RecordView {
            id: &self.id,
            owner_id: self.owner_id.as_deref(),
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            data: &self.data,
        }
    }
}

fn record() -> impl Strategy<Value = Record> {
    (
        select(vec!["r1", "abc", "ABC", "a%b", "é"]),
        select(vec![None, Some("u1"), Some("U1"), Some("abc")]),
        select(STORED_DATETIMES),
        select(STORED_DATETIMES),
        data(),
    )
        .prop_map(|(id, owner, created, updated, data)| Record {
            id: id.to_owned(),
            owner_id: owner.map(str::to_owned),
            created_at: created.to_owned(),
            updated_at: updated.to_owned(),
            data,
        })
}

/// A string literal in either quote style, escaped.
fn quoted() -> impl Strategy<Value = String> {
    quote(text())
}

/// A string literal for `~` and `!~`.
fn needle() -> impl Strategy<Value = String> {
    quote(prop_oneof![
        1 => text(),
        1 => select(NEEDLES).prop_map(str::to_owned),
    ])
}

/// `content` as a string literal in either quote style, escaped.
fn quote(content: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (content, any::<bool>()).prop_map(|(content, double)| {
        let quote = if double { '"' } else { '\'' };
        let mut out = String::from(quote);
        for c in content.chars() {
            if c == '\\' || c == quote {
                out.push('\\');
            }
            out.push(c);
        }
        out.push(quote);
        out
    })
}

/// A number literal as a user writes it.
fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        int().prop_map(|n| n.to_string()),
        float().prop_map(|x| format!("{x:?}")),
        select(vec![
            "1e3",
            "2.5E-2",
            "-0",
            "1.50",
            "1e300",
            "9007199254740993"
        ])
        .prop_map(str::to_owned),
    ]
}

fn quoted_from(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    select(pool).prop_map(|s| format!("'{s}'"))
}

/// Any literal at all, for filters that may not type-check.
fn any_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        quoted(),
        number_literal(),
        select(vec!["true", "false", "null"]).prop_map(str::to_owned),
        quoted_from(DATETIME_LITERALS),
        Just("'not a date'".to_owned()),
    ]
}

/// `op literal` that type-checks for `field`.
fn typed_rhs(field: &str) -> BoxedStrategy<String> {
    let ops = |ops: &'static [&'static str]| select(ops).prop_map(str::to_owned);
    const TEXT_OPS: &[&str] = &["=", "!=", ">", ">=", "<", "<=", "~", "!~"];
    const ORDER_OPS: &[&str] = &["=", "!=", ">", ">=", "<", "<="];
    const EQ_OPS: &[&str] = &["=", "!="];
    const CONTAINS_OPS: &[&str] = &["~", "!~"];
    let pair = |ops: BoxedStrategy<String>, literal: BoxedStrategy<String>| {
        (ops, literal)
            .prop_map(|(op, literal)| format!("{op} {literal}"))
            .boxed()
    };
    let typed = match field {
        "i" | "f" => pair(ops(ORDER_OPS).boxed(), number_literal().boxed()),
        "b" => pair(
            ops(EQ_OPS).boxed(),
            select(vec!["true", "false"])
                .prop_map(str::to_owned)
                .boxed(),
        ),
        "dt" | "created_at" | "updated_at" => pair(
            ops(ORDER_OPS).boxed(),
            quoted_from(DATETIME_LITERALS).boxed(),
        ),
        "d" => pair(ops(ORDER_OPS).boxed(), quoted_from(DATES).boxed()),
        "j" => prop_oneof![
            pair(ops(EQ_OPS).boxed(), quoted().boxed()),
            pair(ops(CONTAINS_OPS).boxed(), needle().boxed()),
            pair(ops(EQ_OPS).boxed(), number_literal().boxed()),
            pair(
                ops(EQ_OPS).boxed(),
                select(vec!["true", "false"])
                    .prop_map(str::to_owned)
                    .boxed()
            ),
        ]
        .boxed(),
        "ls" => prop_oneof![
            pair(ops(EQ_OPS).boxed(), quoted().boxed()),
            pair(ops(CONTAINS_OPS).boxed(), needle().boxed()),
        ]
        .boxed(),
        "li" | "lf" => pair(ops(EQ_OPS).boxed(), number_literal().boxed()),
        _ => prop_oneof![
            pair(ops(ORDER_OPS).boxed(), quoted().boxed()),
            pair(ops(CONTAINS_OPS).boxed(), needle().boxed()),
        ]
        .boxed(),
    };
    prop_oneof![
        12 => typed,
        2 => ops(EQ_OPS).prop_map(|op| format!("{op} null")).boxed(),
        // Anything at all: the two must reject it alike, or accept it alike.
        1 => pair(ops(TEXT_OPS).boxed(), any_literal().boxed()),
    ]
    .boxed()
}

/// One comparison on any field, system fields included.
fn comparison() -> impl Strategy<Value = String> {
    // `j` and `ls` hold values of every JSON type, so they get more than their share.
    let names: Vec<&'static str> = FIELDS
        .iter()
        .copied()
        .chain(["id", "owner_id", "created_at", "updated_at", "j", "j", "ls"])
        .collect();
    select(names)
        .prop_flat_map(|field| typed_rhs(field).prop_map(move |rhs| format!("{field} {rhs}")))
}

/// A filter of up to eight comparisons joined by `&&` and `||`, each side parenthesised
/// or not (so precedence is exercised too).
fn filter() -> impl Strategy<Value = String> {
    comparison().prop_recursive(3, 8, 2, |inner| {
        (
            inner.clone(),
            inner,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(a, b, and, wrap_a, wrap_b)| {
                let side = |s: String, wrap: bool| if wrap { format!("({s})") } else { s };
                let joiner = if and { "&&" } else { "||" };
                format!("{} {joiner} {}", side(a, wrap_a), side(b, wrap_b))
            })
    })
}

/// How the generated cases came out, so the test cannot pass vacuously.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    cases: usize,
    rejected: usize,
    matched: usize,
    unmatched: usize,
}

const CASES: u32 = 2000;

#[test]
fn the_evaluator_agrees_with_sqlite() {
    let schema = test_schema();
    let oracle = Oracle::new();
    let tally = Cell::new(Tally::default());
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (filter(), prop::collection::vec(record(), 1..5));
    let result = runner.run(&strategy, |(text, records)| {
        let mut t = tally.get();
        t.cases += 1;
        let compiled = compile_filter(&text, &schema);
        let parsed = RecordFilter::parse(&text, &schema);
        let (condition, filter) = match (compiled, parsed) {
            (Ok(condition), Ok(filter)) => (condition, filter),
            (Err(theirs), Err(ours)) => {
                prop_assert_eq!(ours, theirs, "errors differ for {}", text);
                t.rejected += 1;
                tally.set(t);
                return Ok(());
            }
            (compiled, parsed) => {
                return Err(TestCaseError::fail(format!(
                    "{text:?}: compile_filter gave {compiled:?}, RecordFilter::parse {parsed:?}"
                )));
            }
        };
        for record in &records {
            let view = record.view();
            let sql = oracle.selects(&condition, &view);
            prop_assert_eq!(
                filter.matches(&view),
                sql,
                "filter {}\nSQL {}\nparams {:?}\nrecord {:?}\ndata {}",
                text,
                condition.sql,
                condition.params,
                record,
                serde_json::to_string(&record.data).unwrap_or_default()
            );
            if sql {
                t.matched += 1;
            } else {
                t.unmatched += 1;
            }
        }
        tally.set(t);
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    let t = tally.get();
    println!("{t:?}");
    let pairs = t.matched + t.unmatched;
    assert!(t.cases >= CASES as usize, "{t:?}");
    assert!(
        t.matched * 5 >= pairs,
        "too few matches to be convincing: {t:?}"
    );
    assert!(
        t.unmatched * 5 >= pairs,
        "too few non-matches to be convincing: {t:?}"
    );
    assert!(
        t.rejected * 50 >= t.cases,
        "rejection never exercised: {t:?}"
    );
    assert!(
        t.rejected * 4 <= t.cases,
        "too many rejected filters: {t:?}"
    );
}

/// A comparison that names the request, on either side, for rules.
fn request_comparison() -> impl Strategy<Value = String> {
    select(vec![
        "owner_id = @request.auth.id",
        "owner_id != @request.auth.id",
        "@request.auth.id = owner_id",
        "@request.auth.id != ''",
        "@request.auth.id = ''",
        "@request.auth.is_admin = true",
        "@request.auth.is_admin != true",
        "@request.auth.email_verified = true",
        "b = @request.auth.email_verified",
        "s = @request.auth.email",
        "e ~ @request.auth.email",
        "@request.auth.email ~ 'a'",
        "@request.auth.email = null",
        "id > @request.auth.id",
        "@request.auth.id < id",
        "i > @request.body.i",
        "@request.body.i >= 3",
        "@request.body.i = null",
        "@request.body.s = 'a'",
        "@request.body.s ~ 'b'",
        "s = @request.body.s",
        "s !~ @request.body.s",
        "ls = @request.body.s",
        "j = @request.body.j",
        "dt < @request.body.dt",
        "@request.body.b = true",
        "f <= @request.body.f",
        "@request.body.r = @request.auth.id",
        "@request.body.ls = 'a'",
        "li = @request.body.i",
    ])
    .prop_map(str::to_owned)
}

/// A rule: filter comparisons and request comparisons joined by `&&` and `||`.
fn rule_text() -> impl Strategy<Value = String> {
    prop_oneof![2 => request_comparison(), 1 => comparison()].prop_recursive(3, 8, 2, |inner| {
        (inner.clone(), inner, any::<bool>(), any::<bool>()).prop_map(|(a, b, and, wrap)| {
            let joiner = if and { "&&" } else { "||" };
            if wrap {
                format!("({a}) {joiner} {b}")
            } else {
                format!("{a} {joiner} {b}")
            }
        })
    })
}

/// Rules over the request agree in memory and in SQL, for any caller and body: the
/// request's values reach SQL as parameters or decided constants, never as SQL text.
#[test]
fn rules_agree_in_memory_and_in_sqlite() {
    use super::rule::{RequestValues, RuleEnv, compile_rule};

    let schema = test_schema();
    let oracle = Oracle::new();
    let tally = Cell::new(Tally::default());
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        rule_text(),
        prop::collection::vec(record(), 1..4),
        select(vec!["", "u1", "U1", "abc"]),
        text(),
        any::<bool>(),
        any::<bool>(),
        data(),
    );
    let result = runner.run(
        &strategy,
        |(text, records, id, email, is_admin, verified, body)| {
            let mut t = tally.get();
            t.cases += 1;
            let lookup = |_: &str| None;
            let env = RuleEnv {
                collections: &lookup,
                request: Some(RequestValues {
                    auth_id: id,
                    auth_email: &email,
                    auth_email_verified: verified,
                    is_admin,
                    body: Some(&body),
                }),
                body_allowed: true,
            };
            let rule = match compile_rule(&text, &schema, &env) {
                Ok(rule) => rule,
                Err(_) => {
                    // Must also be refused on save: a request never makes a good rule bad.
                    let on_save = RuleEnv {
                        collections: &lookup,
                        request: None,
                        body_allowed: true,
                    };
                    prop_assert!(compile_rule(&text, &schema, &on_save).is_err(), "{}", text);
                    t.rejected += 1;
                    tally.set(t);
                    return Ok(());
                }
            };
            prop_assert!(!rule.condition.sql.contains('@'), "{}", rule.condition.sql);
            let filter =
                RecordFilter::from_rule(&rule).map_err(|e| TestCaseError::fail(e.message))?;
            for record in &records {
                let view = record.view();
                let sql = oracle.selects(&rule.condition, &view);
                prop_assert_eq!(
                    filter.matches(&view),
                    sql,
                    "rule {}\nSQL {}\nparams {:?}\nrecord {:?}\nbody {:?}",
                    text,
                    rule.condition.sql,
                    rule.condition.params,
                    record,
                    body
                );
                if sql {
                    t.matched += 1;
                } else {
                    t.unmatched += 1;
                }
            }
            tally.set(t);
            Ok(())
        },
    );
    if let Err(err) = result {
        panic!("{err}");
    }
    let t = tally.get();
    println!("{t:?}");
    let pairs = t.matched + t.unmatched;
    assert!(t.rejected * 2 <= t.cases, "too many rejected rules: {t:?}");
    assert!(t.matched * 10 >= pairs, "too few matches: {t:?}");
    assert!(t.unmatched * 10 >= pairs, "too few non-matches: {t:?}");
}
