//! Property tests: no input panics; every filter that compiles has one parameter per
//! placeholder, SQL that does not depend on the literal text, and runs on SQLite; `&&` and
//! `||` mean intersection and union; and a comparison and its negation split the records.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use proptest::prelude::*;
use proptest::sample::select;
use tinybase::collections::filter::{compile_filter, compile_sort};

use crate::support::{run, schema, seeded_db};

/// Every id in the seeded table.
const ALL_IDS: &[&str] = &["r1", "r2", "r3", "r4", "r5", "r6"];

/// A piece of generated filter text: fixed syntax, or a string literal whose content the
/// SQL must not depend on.
#[derive(Debug, Clone)]
enum Piece {
    Raw(String),
    Str { content: String, double: bool },
}

type Filter = Vec<Piece>;

/// The filter's text; with `replacement`, every string literal's content replaced by it.
fn render(filter: &Filter, replacement: Option<&str>) -> String {
    filter
        .iter()
        .map(|piece| match piece {
            Piece::Raw(text) => text.clone(),
            Piece::Str { content, double } => {
                let content = replacement.unwrap_or(content);
                let quote = if *double { '"' } else { '\'' };
                let mut out = String::from(quote);
                for c in content.chars() {
                    if c == '\\' || c == quote {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push(quote);
                out
            }
        })
        .collect()
}

fn raw(text: impl Into<String>) -> Piece {
    Piece::Raw(text.into())
}

fn string_content() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "\\PC{0,8}",
        "['\"\\\\%_;()?$.-]{0,6}",
        Just("'; DROP TABLE records; --".to_owned()),
    ]
}

fn string_literal() -> impl Strategy<Value = Piece> {
    (string_content(), any::<bool>()).prop_map(|(content, double)| Piece::Str { content, double })
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (-1e6..1e6f64).prop_map(|x| format!("{x:?}")),
        select(vec!["0", "-0.0", "1e3", "2.5E-2", "3"]).prop_map(str::to_owned),
    ]
}

fn datetime_literal() -> impl Strategy<Value = String> {
    // Keep a day away from years 0 and 9999, where an offset could leave four digits.
    (
        86_400i64..253_402_214_400,
        0u32..1_000_000_000,
        -1439i32..1440,
        any::<bool>(),
    )
        .prop_map(|(secs, nanos, offset_minutes, date_only)| {
            let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let at = DateTime::from_timestamp(secs, nanos)
                .unwrap()
                .with_timezone(&offset);
            if date_only {
                at.format("%Y-%m-%d").to_string()
            } else {
                at.to_rfc3339()
            }
        })
}

fn date_literal() -> impl Strategy<Value = String> {
    (1i64..2_900_000).prop_map(|days| {
        let at = DateTime::from_timestamp(days * 86_400 - 62_135_596_800, 0).unwrap();
        at.format("%Y-%m-%d").to_string()
    })
}

/// A comparison that fits its field's type.
fn comparison() -> impl Strategy<Value = Filter> {
    let text_fields = select(vec![
        "title", "body", "email", "site", "status", "author", "id", "owner_id",
    ]);
    let all_ops = select(vec!["=", "!=", ">", ">=", "<", "<=", "~", "!~"]);
    let ordered_ops = select(vec!["=", "!=", ">", ">=", "<", "<="]);
    let set_ops = select(vec!["=", "!=", "~", "!~"]);
    let eq_ops = select(vec!["=", "!="]);
    let any_field = select(vec![
        "title",
        "rating",
        "price",
        "published",
        "due",
        "day",
        "meta",
        "tags",
        "scores",
        "weights",
        "id",
        "created_at",
    ]);
    prop_oneof![
        (text_fields, all_ops, string_literal())
            .prop_map(|(f, op, lit)| vec![raw(format!("{f} {op} ")), lit]),
        (
            select(vec!["rating", "price"]),
            ordered_ops.clone(),
            number()
        )
            .prop_map(|(f, op, n)| vec![raw(format!("{f} {op} {n}"))]),
        (eq_ops.clone(), any::<bool>())
            .prop_map(|(op, b)| vec![raw(format!("published {op} {b}"))]),
        (
            select(vec!["due", "created_at", "updated_at"]),
            ordered_ops.clone(),
            datetime_literal()
        )
            .prop_map(|(f, op, at)| vec![raw(format!("{f} {op} '{at}'"))]),
        (ordered_ops, date_literal()).prop_map(|(op, d)| vec![raw(format!("day {op} \"{d}\""))]),
        (set_ops.clone(), string_literal())
            .prop_map(|(op, lit)| vec![raw(format!("meta {op} ")), lit]),
        (
            eq_ops.clone(),
            prop_oneof![number(), Just("true".to_owned())]
        )
            .prop_map(|(op, v)| vec![raw(format!("meta {op} {v}"))]),
        (set_ops, string_literal()).prop_map(|(op, lit)| vec![raw(format!("tags {op} ")), lit]),
        (select(vec!["scores", "weights"]), eq_ops.clone(), number())
            .prop_map(|(f, op, n)| vec![raw(format!("{f} {op} {n}"))]),
        (any_field, eq_ops).prop_map(|(f, op)| vec![raw(format!("{f} {op} null"))]),
    ]
}

/// Comparisons joined with `&&`/`||`, some in parentheses.
fn filter() -> impl Strategy<Value = Filter> {
    comparison().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                select(vec![" && ", " || ", "&&", "||"]),
                inner.clone()
            )
                .prop_map(|(mut a, join, b)| {
                    a.push(raw(join));
                    a.extend(b);
                    a
                }),
            inner.prop_map(|mut a| {
                a.insert(0, raw("( "));
                a.push(raw(")"));
                a
            }),
        ]
    })
}

/// Filter-ish token soup, mostly invalid.
fn token_soup() -> impl Strategy<Value = String> {
    let tokens = select(vec![
        "title",
        "rating",
        "tags",
        "due",
        "day",
        "published",
        "meta",
        "scores",
        "id",
        "created_at",
        "nope",
        "collection",
        "=",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "~",
        "!~",
        "&&",
        "||",
        "(",
        ")",
        "'a'",
        "\"b\"",
        "'%_\\\\'",
        "3",
        "-1.5",
        "1e999",
        "true",
        "false",
        "null",
        "'2026-01-31'",
        ",",
        "-",
        "'",
        "\"",
        "\\",
        "!",
        "&",
        "|",
        "é",
        ";",
    ]);
    (prop::collection::vec(tokens, 0..24), any::<bool>())
        .prop_map(|(tokens, spaced)| tokens.join(if spaced { " " } else { "" }))
}

/// The ids a filter selects, which must compile and run.
fn select_ids(conn: &rusqlite::Connection, text: &str) -> BTreeSet<String> {
    let condition = compile_filter(text, &schema()).unwrap_or_else(|err| panic!("{text:?}: {err}"));
    run(conn, &condition, None)
        .unwrap_or_else(|err| panic!("{text:?} → {}: {err}", condition.sql))
        .into_iter()
        .collect()
}

fn check_error_position(text: &str, position: usize, message: &str) {
    assert!(position <= text.chars().count(), "{text:?}: {message}");
    assert!(
        message.contains(&format!("at position {position}")),
        "{text:?}: {message}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![any::<String>(), "\\PC{0,40}"]) {
        let schema = schema();
        if let Err(err) = compile_filter(&text, &schema) {
            check_error_position(&text, err.position, &err.message);
        }
        if let Err(err) = compile_sort(&text, &schema) {
            check_error_position(&text, err.position, &err.message);
        }
    }

    #[test]
    fn token_soup_never_panics_and_what_compiles_runs(text in token_soup()) {
        match compile_filter(&text, &schema()) {
            Ok(condition) => {
                prop_assert_eq!(condition.sql.matches('?').count(), condition.params.len());
                let result = run(&seeded_db(), &condition, None);
                prop_assert!(result.is_ok(), "{:?} → {}: {:?}", text, condition.sql, result);
            }
            Err(err) => check_error_position(&text, err.position, &err.message),
        }
        if let Err(err) = compile_sort(&text, &schema()) {
            check_error_position(&text, err.position, &err.message);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn generated_filters_compile_to_literal_free_sql_that_runs(filter in filter()) {
        let text = render(&filter, None);
        let condition = compile_filter(&text, &schema())
            .unwrap_or_else(|err| panic!("{text:?}: {err}"));
        prop_assert_eq!(condition.sql.matches('?').count(), condition.params.len());

        // The SQL is the same whatever the strings say: only parameters carry them.
        let neutral = compile_filter(&render(&filter, Some("x")), &schema()).unwrap();
        prop_assert_eq!(&condition.sql, &neutral.sql);
        prop_assert_eq!(condition.params.len(), neutral.params.len());
        for piece in &filter {
            if let Piece::Str { content, .. } = piece
                && content.chars().count() >= 6
            {
                prop_assert!(!condition.sql.contains(content.as_str()), "{:?} in {}", content, condition.sql);
            }
        }

        let result = run(&seeded_db(), &condition, None);
        prop_assert!(result.is_ok(), "{:?} → {}: {:?}", text, condition.sql, result);
    }

    #[test]
    fn and_is_intersection_and_or_is_union(a in filter(), b in filter()) {
        let conn = seeded_db();
        let (a, b) = (render(&a, None), render(&b, None));
        let rows_a = select_ids(&conn, &a);
        let rows_b = select_ids(&conn, &b);
        let both = select_ids(&conn, &format!("({a}) && ({b})"));
        let either = select_ids(&conn, &format!("({a}) || ({b})"));
        prop_assert_eq!(both, rows_a.intersection(&rows_b).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(either, rows_a.union(&rows_b).cloned().collect::<BTreeSet<_>>());
    }

    #[test]
    fn a_comparison_and_its_negation_split_the_records(filter in comparison()) {
        // Every generated comparison starts with the raw text "field op ".
        let Some(Piece::Raw(head)) = filter.first() else { unreachable!() };
        let negated_head = [(" = ", " != "), (" ~ ", " !~ ")]
            .iter()
            .find(|(op, _)| head.contains(op))
            .map(|(op, neg)| head.replacen(op, neg, 1));
        if let Some(negated_head) = negated_head {
            let mut negated = filter.clone();
            negated[0] = raw(negated_head);
            let (text, negated) = (render(&filter, None), render(&negated, None));
            let conn = seeded_db();
            let yes = select_ids(&conn, &text);
            let no = select_ids(&conn, &negated);
            prop_assert!(yes.is_disjoint(&no), "{:?} and {:?} overlap", text, negated);
            let all: BTreeSet<String> = ALL_IDS.iter().map(|id| (*id).to_owned()).collect();
            prop_assert_eq!(yes.union(&no).cloned().collect::<BTreeSet<_>>(), all);
        }
    }

    #[test]
    fn generated_sorts_compile_and_run(
        keys in prop::sample::subsequence(
            vec!["title", "rating", "price", "published", "due", "day", "status", "id",
                 "owner_id", "created_at", "updated_at"],
            1..6,
        ).prop_shuffle(),
        signs in prop::collection::vec(select(vec!["", "-", "+", " "]), 6),
    ) {
        let text = keys
            .iter()
            .zip(&signs)
            .map(|(key, sign)| format!("{sign}{key}"))
            .collect::<Vec<_>>()
            .join(",");
        let order_by = compile_sort(&text, &schema()).unwrap_or_else(|err| panic!("{text:?}: {err}"));
        prop_assert!(order_by.contains("id "), "{}", order_by);
        let everything = compile_filter("id != null", &schema()).unwrap();
        let ids = run(&seeded_db(), &everything, Some(&order_by)).unwrap();
        prop_assert_eq!(ids.len(), ALL_IDS.len());
    }
}
