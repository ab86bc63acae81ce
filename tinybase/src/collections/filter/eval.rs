//! Evaluates a filter against one record in memory, with the answer the compiled SQL gives
//! for that record.
//!
//! Realtime delivery tests each changed record against every subscriber's filter; running
//! SQL for that would cost a query per subscriber per change. So this module reproduces
//! what SQLite does with the SQL that `compile.rs` writes:
//!
//! - `json_extract(data, '$.f')` yields SQL values: a JSON string is TEXT, an integer that
//!   fits in 64 bits INTEGER, any other number REAL (as SQLite parses it, see
//!   `sqlite_real.rs`), `true`/`false` INTEGER 1/0, `null` or an absent key NULL, and an
//!   array or object TEXT holding its compact JSON;
//! - comparisons with NULL are never true, except through `IS NOT`, which treats NULL as a
//!   value of its own; `AND`/`OR` only combine comparisons, never negated, so an unknown
//!   result acts as false throughout;
//! - values of different storage classes order NULL < numbers < TEXT, with no conversion:
//!   neither `json_extract` nor a bound parameter has an affinity, and the system columns,
//!   which do (TEXT), are only ever compared with text;
//! - INTEGER and REAL compare by exact numeric value, TEXT by bytes (BINARY collation);
//! - `LIKE '%…%' ESCAPE '\'` is containment ignoring ASCII case only, read on the value's
//!   text (so a number matches through its SQLite text, e.g. `1.0e+300`);
//! - list comparisons run over what `json_each` yields: an array's elements, an object's
//!   member values, a scalar itself, nothing for null or absent.
//!
//! The literal of every comparison is checked and normalised by `check.rs`, the same code
//! the SQL compiler binds its parameters from.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::SqlParam;
use super::check::{Order, TEXT_SET_OPS, Test, check, operator_error};
use super::error::QueryError;
use super::fields::{Column, Kind, Path, Source};
use super::parser::{self, Comparison, Expr};
use super::rule::CompiledRule;
use super::sqlite_real::{parse_real, real_text};
use crate::collections::schema::CollectionSchema;

/// A filter parsed and type-checked once, evaluated in memory against records.
///
/// It matches exactly the records that [`compile_filter`](super::compile_filter)'s SQL
/// selects, so a realtime subscriber with a filter sees the changes its list query would.
///
/// ```
/// use serde_json::json;
/// use tinybase::collections::filter::{RecordFilter, RecordView};
/// use tinybase::collections::schema::CollectionSchema;
///
/// let schema: CollectionSchema =
///     serde_json::from_str(r#"{"fields": [{"name": "title", "type": "string"}]}"#).unwrap();
/// let filter = RecordFilter::parse("title ~ 'RUST'", &schema).unwrap();
/// let data = json!({"title": "Learning Rust"});
/// let record = RecordView {
///     id: "r1",
///     owner_id: None,
///     created_at: "2026-01-31T12:00:00.000000Z",
///     updated_at: "2026-01-31T12:00:00.000000Z",
///     data: data.as_object().unwrap(),
/// };
/// assert!(filter.matches(&record));
/// ```
#[derive(Debug, Clone)]
pub struct RecordFilter {
    /// The parsed filter with each comparison checked and its literal normalised.
    root: Node,
}

/// The parts of a record a filter reads.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// The record's id.
    pub id: &'a str,
    /// The user who created it, if any.
    pub owner_id: Option<&'a str>,
    /// In the stored form: `crate::db::format_timestamp` (UTC, six fractional digits, `Z`).
    pub created_at: &'a str,
    /// In the stored form, like `created_at`.
    pub updated_at: &'a str,
    /// The record's fields: the map whose `serde_json::to_string` is stored as `data`.
    pub data: &'a Map<String, Value>,
}

impl RecordFilter {
    /// Parses and checks `text` against `schema` exactly like
    /// [`compile_filter`](super::compile_filter) (same errors).
    ///
    /// # Errors
    /// The [`QueryError`] `compile_filter` gives for the same text and schema.
    pub fn parse(text: &str, schema: &CollectionSchema) -> Result<Self, QueryError> {
        let expr = parser::parse(text, schema)?;
        Ok(Self {
            root: prepare(&expr)?,
        })
    }

    /// Whether `record` matches, with the SQL's semantics.
    pub fn matches(&self, record: &RecordView<'_>) -> bool {
        self.root.matches(record)
    }

    /// A compiled rule, for evaluation in memory.
    ///
    /// # Errors
    /// When the rule reads other records ([`CompiledRule::reads_other_records`]): only
    /// SQL can decide it.
    pub fn from_rule(rule: &CompiledRule) -> Result<Self, QueryError> {
        Ok(Self {
            root: prepare(&rule.expr)?,
        })
    }
}

/// A prepared filter expression.
#[derive(Debug, Clone)]
enum Node {
    /// A comparison on a field's single value (for a list field, only the null tests).
    Scalar { place: Place, test: ScalarTest },
    /// A comparison over a list field's elements.
    List { key: String, test: ListTest },
    /// All of these.
    All(Vec<Node>),
    /// Any of these.
    Any(Vec<Node>),
    /// Decided while parsing (a rule's comparison about the request alone).
    Const(bool),
}

/// Where a field's value is read from.
#[derive(Debug, Clone)]
enum Place {
    /// A system column.
    Column(Column),
    /// This key of the record's data.
    Data(String),
}

/// A test on one value; see [`Test`] for each variant's meaning.
#[derive(Debug, Clone)]
enum ScalarTest {
    IsNull,
    IsNotNull,
    Equal(SqlParam),
    NotEqual(SqlParam),
    Order(Order, SqlParam),
    Contains(Needle),
    NotContains(Needle),
}

/// A test on a list's elements (`EXISTS` or `NOT EXISTS` over `json_each`).
#[derive(Debug, Clone)]
enum ListTest {
    /// Some element equals the value.
    AnyEqual(SqlParam),
    /// No element equals the value.
    NoneEqual(SqlParam),
    /// Some element contains the text.
    AnyContains(Needle),
    /// No element contains the text.
    NoneContains(Needle),
}

/// Checks every comparison in the order `compile` does, so the first error is the same.
fn prepare(expr: &Expr) -> Result<Node, QueryError> {
    match expr {
        Expr::Compare(c) => prepare_comparison(c),
        Expr::And(terms) => Ok(Node::All(
            terms.iter().map(prepare).collect::<Result<_, _>>()?,
        )),
        Expr::Or(terms) => Ok(Node::Any(
            terms.iter().map(prepare).collect::<Result<_, _>>()?,
        )),
        Expr::Const(holds) => Ok(Node::Const(*holds)),
    }
}

/// Whether a value, standing in a comparison's field (a rule's request value), satisfies
/// the comparison, with the semantics SQL gives a field holding that value.
///
/// # Errors
/// The comparison's type error, if it has one.
pub(crate) fn constant(c: &Comparison, value: &Value) -> Result<bool, QueryError> {
    const KEY: &str = "value";
    let mut standing = c.clone();
    standing.field.name = KEY.to_owned();
    standing.field.source = Source::Data;
    standing.field.path = Path::Own;
    // Checked under the real name first, so an error names what the rule says.
    check(c)?;
    let node = prepare_comparison(&standing)?;
    let mut data = Map::new();
    data.insert(KEY.to_owned(), value.clone());
    Ok(node.matches(&RecordView {
        id: "",
        owner_id: None,
        created_at: "",
        updated_at: "",
        data: &data,
    }))
}

fn prepare_comparison(c: &Comparison) -> Result<Node, QueryError> {
    let test = check(c)?;
    if c.field.path != Path::Own {
        // Only rules read other records, and those are decided with SQL.
        return Err(QueryError::at(
            c.op_pos,
            format!(
                "field `{}` of another record needs the database",
                c.field.name
            ),
        ));
    }
    let place = match c.field.source {
        Source::Column(column) => Place::Column(column),
        Source::Data => Place::Data(c.field.name.clone()),
    };
    let list = matches!(c.field.kind, Kind::List(_));
    let test = match test {
        // `= null` on a list is about the list itself, as on any field.
        Test::IsNull => ScalarTest::IsNull,
        Test::IsNotNull => ScalarTest::IsNotNull,
        Test::Equal(value) if list => return list_node(c, place, ListTest::AnyEqual(value)),
        Test::NotEqual(value) if list => return list_node(c, place, ListTest::NoneEqual(value)),
        Test::Contains(text) if list => {
            return list_node(c, place, ListTest::AnyContains(Needle::new(&text)));
        }
        Test::NotContains(text) if list => {
            return list_node(c, place, ListTest::NoneContains(Needle::new(&text)));
        }
        // check() has already rejected order on lists; kept total rather than trusted,
        // with the error compile gives.
        Test::Order(..) if list => return Err(operator_error(c, TEXT_SET_OPS)),
        Test::Equal(value) => ScalarTest::Equal(value),
        Test::NotEqual(value) => ScalarTest::NotEqual(value),
        Test::Order(order, value) => ScalarTest::Order(order, value),
        Test::Contains(text) => ScalarTest::Contains(Needle::new(&text)),
        Test::NotContains(text) => ScalarTest::NotContains(Needle::new(&text)),
    };
    Ok(Node::Scalar { place, test })
}

/// A comparison over the elements of the list at `place`.
fn list_node(c: &Comparison, place: Place, test: ListTest) -> Result<Node, QueryError> {
    match place {
        Place::Data(key) => Ok(Node::List { key, test }),
        // No system field is a list. Were one ever added, this refuses it rather than
        // guess how `json_each` would read a column.
        Place::Column(column) => Err(QueryError::at(
            c.op_pos,
            format!("field `{}` cannot be filtered as a list", column.name()),
        )),
    }
}

impl Node {
    fn matches(&self, record: &RecordView<'_>) -> bool {
        match self {
            Self::Scalar { place, test } => test.matches(&place.value(record)),
            Self::List { key, test } => test.matches(&elements(record.data.get(key))),
            Self::All(terms) => terms.iter().all(|term| term.matches(record)),
            Self::Any(terms) => terms.iter().any(|term| term.matches(record)),
            Self::Const(holds) => *holds,
        }
    }
}

impl Place {
    /// The field's value as the SQL sees it (`json_extract` for data).
    fn value<'a>(&self, record: &RecordView<'a>) -> SqlValue<'a> {
        let text = |text: &'a str| SqlValue::Text(Cow::Borrowed(text));
        match self {
            Self::Column(Column::Id) => text(record.id),
            Self::Column(Column::OwnerId) => record.owner_id.map_or(SqlValue::Null, text),
            Self::Column(Column::CreatedAt) => text(record.created_at),
            Self::Column(Column::UpdatedAt) => text(record.updated_at),
            Self::Data(key) => record.data.get(key).map_or(SqlValue::Null, json_value),
        }
    }
}

impl ScalarTest {
    fn matches(&self, value: &SqlValue<'_>) -> bool {
        match self {
            Self::IsNull => value.is_null(),
            Self::IsNotNull => !value.is_null(),
            Self::Equal(param) => compare(value, &SqlValue::from(param)) == Some(Ordering::Equal),
            Self::NotEqual(param) => is_not(value, &SqlValue::from(param)),
            Self::Order(order, param) => {
                compare(value, &SqlValue::from(param)).is_some_and(|o| order.holds(o))
            }
            Self::Contains(needle) => needle.found_in(value),
            // `COALESCE(… NOT LIKE …, 1)`: a null contains nothing.
            Self::NotContains(needle) => !needle.found_in(value),
        }
    }
}

impl ListTest {
    fn matches(&self, elements: &[SqlValue<'_>]) -> bool {
        let equal = |param: &SqlParam| {
            let param = SqlValue::from(param);
            elements
                .iter()
                .any(|e| compare(e, &param) == Some(Ordering::Equal))
        };
        let contains = |needle: &Needle| elements.iter().any(|e| needle.found_in(e));
        match self {
            Self::AnyEqual(param) => equal(param),
            Self::NoneEqual(param) => !equal(param),
            Self::AnyContains(needle) => contains(needle),
            Self::NoneContains(needle) => !contains(needle),
        }
    }
}

/// A value as SQLite holds it while evaluating the filter: the storage classes a filter
/// can meet (no BLOBs).
#[derive(Debug, Clone, PartialEq)]
enum SqlValue<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(Cow<'a, str>),
}

impl SqlValue<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The text `LIKE` reads: SQLite's rendering of a number, nothing for NULL.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Null => None,
            Self::Integer(n) => Some(Cow::Owned(n.to_string())),
            Self::Real(x) => Some(Cow::Owned(real_text(*x))),
            Self::Text(text) => Some(Cow::Borrowed(text)),
        }
    }
}

impl<'a> From<&'a SqlParam> for SqlValue<'a> {
    fn from(param: &'a SqlParam) -> Self {
        match param {
            SqlParam::Null => Self::Null,
            SqlParam::Int(n) => Self::Integer(*n),
            SqlParam::Float(x) => Self::Real(*x),
            SqlParam::Text(text) => Self::Text(Cow::Borrowed(text)),
        }
    }
}

/// What `json_extract` (or `json_each`'s `value`) yields for a JSON value.
fn json_value(value: &Value) -> SqlValue<'_> {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => number_value(n),
        Value::String(text) => SqlValue::Text(Cow::Borrowed(text)),
        // Stored data is `serde_json::to_string` of the record, and SQLite hands back a
        // nested value's text exactly as stored, which is the same compact JSON.
        Value::Array(_) | Value::Object(_) => SqlValue::Text(Cow::Owned(value.to_string())),
    }
}

/// An integer that fits in an `i64` is INTEGER; any other number is REAL, parsed by
/// SQLite from the text serde_json stores.
fn number_value(n: &Number) -> SqlValue<'static> {
    match n.as_i64() {
        Some(n) => SqlValue::Integer(n),
        None => SqlValue::Real(parse_real(&n.to_string())),
    }
}

/// The rows `json_each(data, '$.key')` yields, as their `value` column.
fn elements(value: Option<&Value>) -> Vec<SqlValue<'_>> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(json_value).collect(),
        Some(Value::Object(members)) => members.values().map(json_value).collect(),
        Some(scalar) => vec![json_value(scalar)],
    }
}

/// SQLite's comparison of two values without affinity (`sqlite3MemCompare`, BINARY
/// collation); `None` when either is NULL, where `=` and `<` are never true.
fn compare(a: &SqlValue<'_>, b: &SqlValue<'_>) -> Option<Ordering> {
    use SqlValue::{Integer, Null, Real, Text};
    Some(match (a, b) {
        (Null, _) | (_, Null) => return None,
        (Integer(x), Integer(y)) => x.cmp(y),
        // No NaN reaches here; SQLite would call it equal to everything.
        (Real(x), Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Integer(i), Real(r)) => integer_real_cmp(*i, *r),
        (Real(r), Integer(i)) => integer_real_cmp(*i, *r).reverse(),
        (Integer(_) | Real(_), Text(_)) => Ordering::Less,
        (Text(_), Integer(_) | Real(_)) => Ordering::Greater,
        (Text(x), Text(y)) => x.as_bytes().cmp(y.as_bytes()),
    })
}

/// `a IS NOT b`: NULL is a value of its own, equal only to NULL.
fn is_not(a: &SqlValue<'_>, b: &SqlValue<'_>) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => false,
        (true, false) | (false, true) => true,
        (false, false) => compare(a, b) != Some(Ordering::Equal),
    }
}

/// An INTEGER against a REAL by exact value (`sqlite3IntFloatCompare`), not by converting
/// the integer to a double: `9007199254740993 > 9007199254740992.0`.
fn integer_real_cmp(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    // -2^63 and 2^63, exactly representable.
    const MIN: f64 = -9_223_372_036_854_775_808.0;
    if r < MIN {
        return Ordering::Greater;
    }
    if r >= -MIN {
        return Ordering::Less;
    }
    // In range, so the truncation toward zero is exact in the integer part.
    let truncated = r as i64;
    match i.cmp(&truncated) {
        // Equal integer parts: the fraction decides. `i as f64` is exact here, because
        // beyond 2^53 every double is an integer and the parts agree only if r == i.
        Ordering::Equal => (i as f64).partial_cmp(&r).unwrap_or(Ordering::Equal),
        unequal => unequal,
    }
}

/// The text of a `~`/`!~` literal, prepared for SQLite's `LIKE '%text%' ESCAPE '\'`.
#[derive(Debug, Clone)]
struct Needle {
    /// The text, folded like [`like_fold`].
    folded: String,
    /// The literal held a NUL: `LIKE` reads its pattern as a C string, which ends there,
    /// dropping the closing `%`, so the text before the NUL must end the value.
    at_end: bool,
}

impl Needle {
    fn new(text: &str) -> Self {
        match text.split_once('\0') {
            Some((before, _)) => Self {
                folded: like_fold(before),
                at_end: true,
            },
            None => Self {
                folded: like_fold(text),
                at_end: false,
            },
        }
    }

    /// Whether `value LIKE pattern` is true; never for NULL.
    fn found_in(&self, value: &SqlValue<'_>) -> bool {
        let Some(text) = value.text() else {
            return false;
        };
        // The value, too, is read as a C string.
        let text = text.split('\0').next().unwrap_or_default();
        let text = like_fold(text);
        if self.at_end {
            text.ends_with(&self.folded)
        } else {
            text.contains(&self.folded)
        }
    }
}

/// Text as `LIKE` compares it: ASCII letters in lower case (other letters keep their
/// case), and U+FFFE and U+FFFF read as U+FFFD, as SQLite's UTF-8 decoder reads them.
/// Comparing folded texts byte by byte then matches SQLite's character by character.
fn like_fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::collections::filter::eval_proptests::{Oracle, test_schema};

    /// Asserts that `filter` gives `expected` for a record with `data` (and the other
    /// fields below), and that SQLite agrees.
    #[track_caller]
    fn check_case(filter: &str, data: Value, owner: Option<&str>, expected: bool) {
        let schema = test_schema();
        let data = data.as_object().unwrap().clone();
        let record = RecordView {
            id: "r1",
            owner_id: owner,
            created_at: "2026-01-31T12:00:00.000000Z",
            updated_at: "2026-02-01T00:00:00.000000Z",
            data: &data,
        };
        let parsed = RecordFilter::parse(filter, &schema).unwrap();
        assert_eq!(parsed.matches(&record), expected, "evaluator on {filter:?}");
        let oracle = Oracle::new();
        assert_eq!(
            oracle.matches(filter, &schema, &record),
            expected,
            "SQLite on {filter:?}"
        );
    }

    #[test]
    fn null_and_absent_values() {
        for data in [json!({}), json!({"s": null})] {
            check_case("s = null", data.clone(), None, true);
            check_case("s != null", data.clone(), None, false);
            check_case("s = 'a'", data.clone(), None, false);
            check_case("s != 'a'", data.clone(), None, true);
            check_case("s < 'a'", data.clone(), None, false);
            check_case("s >= ''", data.clone(), None, false);
            check_case("s ~ ''", data.clone(), None, false);
            check_case("s !~ 'a'", data.clone(), None, true);
            check_case("j = null", data.clone(), None, true);
            check_case("i != 3", data, None, true);
        }
        check_case("owner_id = null", json!({}), None, true);
        check_case("owner_id != 'u1'", json!({}), None, true);
        check_case("owner_id = 'u1'", json!({}), Some("u1"), true);
        check_case("owner_id != 'u1'", json!({}), Some("u1"), false);
    }

    #[test]
    fn lists_compare_their_elements() {
        let tags = json!({"ls": ["Rust", "sql"]});
        check_case("ls = 'sql'", tags.clone(), None, true);
        check_case("ls = 'SQL'", tags.clone(), None, false);
        check_case("ls != 'sql'", tags.clone(), None, false);
        check_case("ls != 'go'", tags.clone(), None, true);
        check_case("ls ~ 'rus'", tags.clone(), None, true);
        check_case("ls !~ 'rus'", tags, None, false);
        // Absent: no element equals anything; `= null` is about the list itself.
        check_case("ls != 'go'", json!({}), None, true);
        check_case("ls = null", json!({}), None, true);
        check_case("ls = null", json!({"ls": []}), None, false);
        check_case("ls != 'go'", json!({"ls": []}), None, true);
        // A scalar where a list belongs is one element; an object's values are elements.
        check_case("ls = 'x'", json!({"ls": "x"}), None, true);
        check_case("ls = 'v'", json!({"ls": {"k": "v"}}), None, true);
        check_case("li = 2", json!({"li": [1, 2.0]}), None, true);
        check_case("lf = 1.5", json!({"lf": [1.5]}), None, true);
        check_case("li = 1", json!({"li": [true]}), None, true);
    }

    #[test]
    fn contains_escapes_wildcards_and_ignores_ascii_case_only() {
        check_case("s ~ '50%'", json!({"s": "save 50% now"}), None, true);
        check_case("s ~ '50%'", json!({"s": "save 500 now"}), None, false);
        check_case("s ~ 'a_c'", json!({"s": "abc"}), None, false);
        check_case("s ~ 'a_c'", json!({"s": "xA_Cx"}), None, true);
        check_case(r"s ~ 'a\\b'", json!({"s": r"A\B"}), None, true);
        check_case(r"s ~ 'a\\b'", json!({"s": "ab"}), None, false);
        check_case("s ~ 'É'", json!({"s": "é"}), None, false);
        check_case("s ~ 'é'", json!({"s": "café"}), None, true);
        check_case("s ~ ''", json!({"s": ""}), None, true);
        // A NUL ends the pattern, and its closing `%` with it.
        check_case("s ~ 'ab\u{0}zz'", json!({"s": "xab"}), None, true);
        check_case("s ~ 'ab\u{0}zz'", json!({"s": "abx"}), None, false);
        check_case("s ~ '\u{FFFE}'", json!({"s": "\u{FFFF}"}), None, true);
        // The value is read as a C string too, for LIKE; `=` compares every byte.
        check_case("s ~ 'y'", json!({"s": "x\u{0}y"}), None, false);
        check_case("s ~ 'x'", json!({"s": "x\u{0}y"}), None, true);
        check_case("s = 'x\u{0}y'", json!({"s": "x\u{0}y"}), None, true);
        check_case("s = 'x'", json!({"s": "x\u{0}y"}), None, false);
    }

    #[test]
    fn numbers_match_through_sqlites_text() {
        check_case("j ~ '1.5'", json!({"j": 1.5}), None, true);
        check_case("j ~ '2.0'", json!({"j": 2.0}), None, true);
        check_case("j ~ 'e+300'", json!({"j": 1e300}), None, true);
        check_case("j ~ '0.1'", json!({"j": 0.1}), None, true);
        check_case("j ~ '17'", json!({"j": 17}), None, true);
        check_case("s ~ '1'", json!({"s": true}), None, true);
        check_case("j ~ '\"a\":[1'", json!({"j": {"a": [1, null]}}), None, true);
    }

    #[test]
    fn mixed_types_order_numbers_before_text() {
        check_case("i < 5", json!({"i": "3"}), None, false);
        check_case("i > 5", json!({"i": "3"}), None, true);
        check_case("s < 'a'", json!({"s": 99}), None, true);
        check_case("i = 2", json!({"i": 2.0}), None, true);
        check_case(
            "f > 9007199254740992",
            json!({"f": 9_007_199_254_740_993_i64}),
            None,
            true,
        );
        check_case(
            "i = 9007199254740992.0",
            json!({"i": 9_007_199_254_740_993_i64}),
            None,
            false,
        );
        check_case("j = 'a'", json!({"j": ["a"]}), None, false);
        check_case("j = '[\"a\"]'", json!({"j": ["a"]}), None, true);
    }

    #[test]
    fn booleans_are_one_and_zero() {
        check_case("b = true", json!({"b": true}), None, true);
        check_case("b = false", json!({"b": true}), None, false);
        check_case("b != false", json!({"b": true}), None, true);
        check_case("b = true", json!({"b": 1}), None, true);
        check_case("b = true", json!({"b": "true"}), None, false);
        check_case("b != true", json!({}), None, true);
        check_case("j = true", json!({"j": true}), None, true);
        check_case("j = 1", json!({"j": true}), None, true);
    }

    #[test]
    fn datetime_literals_are_normalised() {
        let due = json!({"dt": "2026-01-31T12:00:00.000000Z"});
        check_case("dt = '2026-01-31T14:00:00+02:00'", due.clone(), None, true);
        check_case("dt = '2026-01-31T12:00:00Z'", due.clone(), None, true);
        check_case("dt > '2026-01-31'", due.clone(), None, true);
        check_case("dt < '2026-01-31T12:00:00.000001Z'", due, None, true);
        check_case(
            "created_at = '2026-01-31T13:00:00+01:00'",
            json!({}),
            None,
            true,
        );
        check_case("updated_at >= '2026-02-01'", json!({}), None, true);
        check_case("updated_at > '2026-02-01'", json!({}), None, false);
        check_case("d = '2026-01-31'", json!({"d": "2026-01-31"}), None, true);
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let data = json!({"i": 1, "s": "x"});
        check_case("i = 2 && s = 'x' || i = 1", data.clone(), None, true);
        check_case("i = 2 && (s = 'x' || i = 1)", data.clone(), None, false);
        check_case("(i = 1 || i = 2) && s != 'x'", data, None, false);
    }

    #[test]
    fn errors_are_the_compilers() {
        let schema = test_schema();
        for text in [
            "",
            "i ~ 'x'",
            "i = 'x'",
            "dt = 'yesterday'",
            "d = '2026-02-30'",
            "ls > 'a'",
            "li = 'a'",
            "b < true",
            "s > null",
            "nope = 1",
            "i = 1 && ls >= 'a'",
            "s = 'a' || b = 1",
        ] {
            let ours = RecordFilter::parse(text, &schema).err();
            let theirs = crate::collections::filter::compile_filter(text, &schema).err();
            assert!(ours.is_some(), "{text:?} parsed");
            assert_eq!(ours, theirs, "{text:?}");
        }
    }
}
