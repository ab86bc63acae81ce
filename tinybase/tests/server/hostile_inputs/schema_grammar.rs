//! Collection schemas drawn from the real field grammar (every type with the constraints
//! it takes), each field knowing values it accepts and values it refuses, and now and then
//! one near-valid mistake whose refusal the test can predict: the schema checker must
//! refuse exactly the fields that carry a mistake, naming the attribute, and accept the rest.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Stands for "the first field's name" until the whole schema is drawn.
const DUPLICATE: &str = "<duplicate of the first name>";

/// The one collection a `relation` field may point at.
pub const EXISTING_COLLECTION: &str = "posts";

/// Every field type, in the order `FieldDraw::kind` indexes them.
const TYPES: [&str; 15] = [
    "string",
    "text",
    "int",
    "float",
    "boolean",
    "datetime",
    "date",
    "email",
    "url",
    "select",
    "json",
    "list[string]",
    "list[int]",
    "list[float]",
    "relation",
];

/// Types that may be `unique`.
const UNIQUABLE: [&str; 10] = [
    "string", "text", "int", "float", "datetime", "date", "email", "url", "select", "relation",
];

/// What a schema with a mistake in it must come to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Every field is well formed and sound: it compiles.
    Compiles,
    /// A mistake in the JSON shape (unknown key, unknown type, wrong value type): the
    /// schema does not even deserialise.
    Unparsable,
    /// Well-formed but unsound: compiling refuses it with exactly these detail keys.
    Refused(BTreeSet<String>),
}

/// Random choices for one field; [`FieldPlan::new`] turns them into a field.
#[derive(Debug, Clone)]
pub struct FieldDraw {
    kind: usize,
    knobs: [u8; 8],
    mistake: Option<u8>,
}

/// One field: its JSON spec, a value it accepts (and how that is stored), its stored
/// default, and values it must refuse.
#[derive(Debug, Clone)]
pub struct FieldPlan {
    pub name: String,
    pub field_type: &'static str,
    pub spec: Map<String, Value>,
    pub valid: Value,
    pub stored: Value,
    pub required: bool,
    pub default: Option<Value>,
    pub bad_values: Vec<Value>,
    /// The mistake made in `spec`, if any.
    pub mistake: Option<Mistake>,
}

/// A near-valid mistake and what it must cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mistake {
    /// Breaks the JSON shape: refused when deserialising.
    Shape(&'static str),
    /// Breaks a rule: refused when compiling, under this attribute of the field.
    Rule(&'static str),
}

/// A whole schema: the fields, and what must come of it.
#[derive(Debug, Clone)]
pub struct SchemaPlan {
    pub fields: Vec<FieldPlan>,
}

impl SchemaPlan {
    /// The schema JSON as an admin sends it.
    pub fn json(&self) -> Value {
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|f| Value::Object(f.spec.clone()))
            .collect();
        json!({ "fields": fields })
    }

    /// What the checker must decide.
    pub fn expected(&self) -> Expected {
        let mut keys = BTreeSet::new();
        for (index, field) in self.fields.iter().enumerate() {
            match &field.mistake {
                Some(Mistake::Shape(_)) => return Expected::Unparsable,
                Some(Mistake::Rule(attribute)) => {
                    keys.insert(format!("schema.fields[{index}].{attribute}"));
                }
                None => {}
            }
        }
        if keys.is_empty() {
            Expected::Compiles
        } else {
            Expected::Refused(keys)
        }
    }

    /// Every field with a value it accepts.
    pub fn full_record(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|f| (f.name.clone(), f.valid.clone()))
            .collect()
    }

    /// What storing [`SchemaPlan::full_record`] keeps.
    pub fn full_stored(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|f| (f.name.clone(), f.stored.clone()))
            .collect()
    }

    /// Only the fields a create cannot leave out: required ones without a default.
    pub fn minimal_record(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .filter(|f| f.required && f.default.is_none())
            .map(|f| (f.name.clone(), f.valid.clone()))
            .collect()
    }

    /// What storing [`SchemaPlan::minimal_record`] keeps: those values, plus defaults.
    pub fn minimal_stored(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .filter_map(|f| match (&f.default, f.required) {
                (Some(default), _) => Some((f.name.clone(), default.clone())),
                (None, true) => Some((f.name.clone(), f.stored.clone())),
                (None, false) => None,
            })
            .collect()
    }
}

/// A field's random choices: a type, eight knobs for its constraints, and one time in
/// eight a mistake.
pub fn field_draw() -> impl Strategy<Value = FieldDraw> {
    (
        0..TYPES.len(),
        any::<[u8; 8]>(),
        prop::option::weighted(0.12, any::<u8>()),
    )
        .prop_map(|(kind, knobs, mistake)| FieldDraw {
            kind,
            knobs,
            mistake,
        })
}

/// Zero to seven fields.
pub fn schema_plan() -> impl Strategy<Value = SchemaPlan> {
    prop::collection::vec(field_draw(), 0..8).prop_map(|draws| {
        let mut fields: Vec<FieldPlan> = draws
            .iter()
            .enumerate()
            .map(|(index, draw)| FieldPlan::new(index, draw))
            .collect();
        // A duplicate takes the first field's name, whatever that field's own mistake made
        // of it: then it is either taken or just as malformed, refused either way.
        if let Some(first) = fields.first().map(|f| f.name.clone()) {
            for field in &mut fields[1..] {
                if field.name == DUPLICATE {
                    field.spec.insert("name".into(), json!(first));
                    field.name.clone_from(&first);
                }
            }
        }
        SchemaPlan { fields }
    })
}

fn flag(knob: u8, bit: u8) -> bool {
    knob & (1 << bit) != 0
}

fn repeat(text: &str, n: u64) -> String {
    text.repeat(usize::try_from(n).unwrap())
}

/// Lengths `(min_length, max_length, n)` with `n` inside both, `n >= 1`.
fn lengths(k: &[u8; 8]) -> (Option<u64>, Option<u64>, u64) {
    let min = flag(k[1], 0).then(|| u64::from(k[2] % 4));
    let floor = min.unwrap_or(0).max(1);
    let max = flag(k[1], 1).then(|| floor + u64::from(k[3] % 5));
    let n = (floor + u64::from(k[4] % 3)).min(max.unwrap_or(u64::MAX));
    (min, max, n)
}

/// Integer bounds `(min, max)` and a whole value inside them.
fn int_bounds(k: &[u8; 8]) -> (Option<i64>, Option<i64>, i64) {
    let min = flag(k[1], 2).then(|| -i64::from(k[5] % 10));
    let max = flag(k[1], 3).then(|| i64::from(k[6] % 10));
    let low = min.unwrap_or(-20);
    let high = max.unwrap_or(20);
    let value = low + i64::from(k[7]) % (high - low + 1);
    (min, max, value)
}

/// Float bounds `(min, max)` and a value inside them.
fn float_bounds(k: &[u8; 8]) -> (Option<f64>, Option<f64>, f64) {
    let min = flag(k[1], 2).then(|| -f64::from(k[5] % 10) - 0.5);
    let max = flag(k[1], 3).then(|| f64::from(k[6] % 10) + 0.25);
    let value = match (min, max) {
        (Some(min), Some(max)) => (min + max) / 2.0,
        (Some(min), None) => min + 1.5,
        (None, Some(max)) => max - 1.5,
        (None, None) => f64::from(k[7]) / 4.0,
    };
    (min, max, value)
}

/// Patterns that every string of one or more `a` matches, and a string of the same length
/// that breaks each.
const A_PATTERNS: [&str; 4] = ["^a*$", "a", "^[a-z]+$", "[[:lower:]]"];

impl FieldPlan {
    /// Builds field number `index` from its draw.
    pub fn new(index: usize, draw: &FieldDraw) -> Self {
        let k = &draw.knobs;
        let field_type = TYPES[draw.kind];
        let name = format!("f{index}");
        let mut spec = Map::new();
        spec.insert("name".into(), json!(name));
        spec.insert("type".into(), json!(field_type));
        let mut bad_values = Vec::new();
        let (valid, stored) = match field_type {
            "string" | "text" => {
                let (min, max, n) = lengths(k);
                set(&mut spec, "min_length", min);
                set(&mut spec, "max_length", max);
                bad_values.push(json!(5));
                bad_values.push(json!(["a"]));
                if let Some(max) = max {
                    bad_values.push(json!(repeat("a", max + 1)));
                }
                if min.is_some_and(|m| m >= 2) {
                    bad_values.push(json!("a"));
                }
                if flag(k[1], 4) {
                    spec.insert(
                        "pattern".into(),
                        json!(A_PATTERNS[usize::from(k[0] >> 4) % 4]),
                    );
                    bad_values.push(json!(repeat("B", n)));
                }
                // Characters, not bytes: "é" would be two bytes.
                let text = if flag(k[0], 6) && !spec.contains_key("pattern") {
                    repeat("é", n)
                } else {
                    repeat("a", n)
                };
                (json!(text), json!(text))
            }
            "email" => {
                const ADDRESS: &str = "a@example.com";
                let length = ADDRESS.len() as u64;
                let min = flag(k[1], 0).then(|| u64::from(k[2]) % (length + 1));
                let max = flag(k[1], 1).then(|| length + u64::from(k[3] % 10));
                set(&mut spec, "min_length", min);
                set(&mut spec, "max_length", max);
                bad_values.extend([json!("nope"), json!("a@example"), json!(7)]);
                if let Some(max) = max {
                    bad_values.push(json!(format!("{}@example.com", repeat("a", max - 11))));
                }
                if flag(k[1], 4) {
                    spec.insert("pattern".into(), json!("example\\.com$"));
                    bad_values.push(json!("a@example.org"));
                }
                // Stored trimmed, case kept.
                let given = if flag(k[0], 6) {
                    format!(" {ADDRESS} ")
                } else {
                    ADDRESS.to_owned()
                };
                (json!(given), json!(ADDRESS))
            }
            "url" => {
                const URL: &str = "https://example.com/a";
                let length = URL.len() as u64;
                let min = flag(k[1], 0).then(|| u64::from(k[2]) % (length + 1));
                let max = flag(k[1], 1).then(|| length + u64::from(k[3] % 10));
                set(&mut spec, "min_length", min);
                set(&mut spec, "max_length", max);
                bad_values.extend([
                    json!("example.com"),
                    json!("ftp://example.com"),
                    json!(false),
                ]);
                if let Some(max) = max {
                    bad_values.push(json!(format!(
                        "https://example.com/{}",
                        repeat("a", max + 1 - 20)
                    )));
                }
                if flag(k[1], 4) {
                    spec.insert("pattern".into(), json!("^https://"));
                    bad_values.push(json!("http://example.com/a"));
                }
                (json!(URL), json!(URL))
            }
            "int" => {
                let (min, max, value) = int_bounds(k);
                set(&mut spec, "min", min);
                set(&mut spec, "max", max);
                bad_values.extend([json!("3"), json!(3.5), json!(3.0), json!(true)]);
                if let Some(min) = min {
                    bad_values.push(json!(min - 1));
                }
                if let Some(max) = max {
                    bad_values.push(json!(max + 1));
                }
                (json!(value), json!(value))
            }
            "float" => {
                let (min, max, value) = float_bounds(k);
                set(&mut spec, "min", min);
                set(&mut spec, "max", max);
                bad_values.extend([json!("1.5"), json!(false)]);
                if let Some(min) = min {
                    bad_values.push(json!(min - 0.5));
                }
                if let Some(max) = max {
                    bad_values.push(json!(max + 0.5));
                }
                (json!(value), json!(value))
            }
            "boolean" => {
                bad_values.extend([json!("true"), json!(1)]);
                let value = flag(k[2], 0);
                (json!(value), json!(value))
            }
            "datetime" => {
                bad_values.extend([
                    json!("2026-01-31"),
                    json!("2026-01-31 12:00"),
                    json!(1_767_225_600),
                ]);
                // Stored in UTC, in the fixed-width form system timestamps use.
                (
                    json!("2026-01-31T12:00:00+01:00"),
                    json!("2026-01-31T11:00:00.000000Z"),
                )
            }
            "date" => {
                bad_values.extend([json!("2026-02-30"), json!("28/02/2026"), json!(20_260_228)]);
                (json!("2024-02-29"), json!("2024-02-29"))
            }
            "select" => {
                let all = ["draft", "published", "archived", "spam"];
                let values = &all[..1 + usize::from(k[2] % 4)];
                spec.insert("values".into(), json!(values));
                bad_values.extend([json!("Draft"), json!("nope"), json!(["draft"])]);
                let value = values[usize::from(k[3]) % values.len()];
                (json!(value), json!(value))
            }
            "json" => {
                let value = [
                    json!({"a": [1, null, "x"]}),
                    json!([]),
                    json!("text"),
                    json!(0),
                ][usize::from(k[2] % 4)]
                .clone();
                (value.clone(), value)
            }
            "list[string]" => {
                let (min, max, n) = lengths(k);
                set(&mut spec, "min_length", min);
                set(&mut spec, "max_length", max);
                bad_values.extend([json!("ab"), json!([1])]);
                if let Some(max) = max {
                    bad_values.push(json!(vec!["ab"; usize::try_from(max + 1).unwrap()]));
                }
                if min.is_some_and(|m| m >= 1) {
                    bad_values.push(json!([]));
                }
                if flag(k[1], 4) {
                    spec.insert("pattern".into(), json!("^[a-z]+$"));
                    bad_values.push(json!(vec!["AB"; usize::try_from(n).unwrap()]));
                }
                let value = json!(vec!["ab"; usize::try_from(n).unwrap()]);
                (value.clone(), value)
            }
            "list[int]" | "list[float]" => {
                let (min_length, max_length, n) = lengths(k);
                set(&mut spec, "min_length", min_length);
                set(&mut spec, "max_length", max_length);
                let n = usize::try_from(n).unwrap();
                bad_values.extend([json!(1), json!(["1"])]);
                let value = if field_type == "list[int]" {
                    let (min, max, value) = int_bounds(k);
                    set(&mut spec, "min", min);
                    set(&mut spec, "max", max);
                    bad_values.push(json!([1.5]));
                    if let Some(max) = max {
                        bad_values.push(json!([max + 1]));
                    }
                    if let Some(min) = min {
                        bad_values.push(json!([min - 1]));
                    }
                    json!(vec![value; n])
                } else {
                    let (min, max, value) = float_bounds(k);
                    set(&mut spec, "min", min);
                    set(&mut spec, "max", max);
                    if let Some(max) = max {
                        bad_values.push(json!([max + 0.5]));
                    }
                    json!(vec![value; n])
                };
                if let Some(max) = max_length {
                    let mut long = value.as_array().unwrap().clone();
                    while long.len() <= usize::try_from(max).unwrap() {
                        long.push(long[0].clone());
                    }
                    bad_values.push(Value::Array(long));
                }
                if min_length.is_some_and(|m| m >= 1) {
                    bad_values.push(json!([]));
                }
                (value.clone(), value)
            }
            "relation" => {
                spec.insert("collection".into(), json!(EXISTING_COLLECTION));
                bad_values.extend([json!("post-1"), json!(12)]);
                // Record ids are stored lower-case.
                (
                    json!("0190F1A2-3B4C-7D8E-9F00-112233445566"),
                    json!("0190f1a2-3b4c-7d8e-9f00-112233445566"),
                )
            }
            other => unreachable!("no such type {other}"),
        };

        let required = flag(k[0], 0);
        if required {
            spec.insert("required".into(), json!(true));
        }
        let default = flag(k[0], 1).then(|| {
            spec.insert("default".into(), valid.clone());
            stored.clone()
        });
        if flag(k[0], 2) && UNIQUABLE.contains(&field_type) {
            spec.insert("unique".into(), json!(true));
        }
        if flag(k[0], 3) {
            spec.insert("indexed".into(), json!(true));
        }

        let mut plan = FieldPlan {
            name,
            field_type,
            spec,
            valid,
            stored,
            required,
            default,
            bad_values,
            mistake: None,
        };
        if let Some(choice) = draw.mistake {
            plan.make_mistake(index, choice);
        }
        plan
    }

    /// Makes one near-valid mistake, chosen by `choice` among those that apply.
    fn make_mistake(&mut self, index: usize, choice: u8) {
        type Make = fn(&mut Map<String, Value>);
        let t = self.field_type;
        let numeric = matches!(t, "int" | "float" | "list[int]" | "list[float]");
        let sized = matches!(
            t,
            "string" | "text" | "email" | "url" | "list[string]" | "list[int]" | "list[float]"
        );
        let patterned = matches!(t, "string" | "text" | "email" | "url" | "list[string]");
        let mut options: Vec<(Mistake, Make)> = vec![
            (Mistake::Shape("unknown key"), |s| {
                s.insert("bogus".into(), json!(1));
            }),
            (Mistake::Shape("unknown type"), |s| {
                s.insert("type".into(), json!("strng"));
            }),
            (Mistake::Shape("required is not a bool"), |s| {
                s.insert("required".into(), json!("yes"));
            }),
            (Mistake::Shape("no name"), |s| {
                s.remove("name");
            }),
            (Mistake::Rule("name"), |s| {
                s.insert("name".into(), json!("Title"));
            }),
            (Mistake::Rule("name"), |s| {
                s.insert("name".into(), json!("created_at"));
            }),
            (Mistake::Rule("name"), |s| {
                s.insert("name".into(), json!(""));
            }),
            (Mistake::Rule("name"), |s| {
                s.insert("name".into(), json!(format!("a{}", "b".repeat(63))));
            }),
        ];
        if index > 0 {
            // The first field's name: [`schema_plan`] fills it in.
            options.push((Mistake::Rule("name"), |s| {
                s.insert("name".into(), json!(DUPLICATE));
            }));
        }
        if !numeric {
            options.push((Mistake::Rule("min"), |s| {
                s.insert("min".into(), json!(1));
            }));
        }
        if !sized {
            options.push((Mistake::Rule("max_length"), |s| {
                s.insert("max_length".into(), json!(3));
            }));
        }
        if !patterned {
            options.push((Mistake::Rule("pattern"), |s| {
                s.insert("pattern".into(), json!("x"));
            }));
        }
        if t != "select" {
            options.push((Mistake::Rule("values"), |s| {
                s.insert("values".into(), json!(["x"]));
            }));
        }
        if t != "relation" {
            options.push((Mistake::Rule("collection"), |s| {
                s.insert("collection".into(), json!(EXISTING_COLLECTION));
            }));
        }
        if !UNIQUABLE.contains(&t) {
            options.push((Mistake::Rule("unique"), |s| {
                s.insert("unique".into(), json!(true));
            }));
        }
        if numeric {
            options.push((Mistake::Rule("min"), |s| {
                s.insert("min".into(), json!(10));
                s.insert("max".into(), json!(1));
            }));
            options.push((Mistake::Shape("min is not a number"), |s| {
                s.insert("min".into(), json!("0"));
            }));
        }
        if matches!(t, "int" | "list[int]") {
            options.push((Mistake::Rule("max"), |s| {
                s.remove("min");
                s.insert("max".into(), json!(20.5));
            }));
        }
        if sized {
            options.push((Mistake::Rule("min_length"), |s| {
                s.insert("min_length".into(), json!(5));
                s.insert("max_length".into(), json!(2));
            }));
            options.push((Mistake::Shape("negative length"), |s| {
                s.insert("max_length".into(), json!(-1));
            }));
        }
        if patterned {
            options.push((Mistake::Rule("pattern"), |s| {
                s.insert("pattern".into(), json!("(unclosed"));
            }));
            options.push((Mistake::Rule("pattern"), |s| {
                s.insert("pattern".into(), json!("(\\w{100}){100}"));
            }));
        }
        if t == "select" {
            options.push((Mistake::Rule("values"), |s| {
                s.remove("values");
            }));
            options.push((Mistake::Rule("values"), |s| {
                s.insert("values".into(), json!([]));
            }));
            options.push((Mistake::Rule("values"), |s| {
                s.insert("values".into(), json!(["x", "y", "x"]));
            }));
        }
        if t == "relation" {
            options.push((Mistake::Rule("collection"), |s| {
                s.remove("collection");
            }));
            options.push((Mistake::Rule("collection"), |s| {
                s.insert("collection".into(), json!("ghosts"));
            }));
        }
        if t != "json" {
            // Every type but json refuses an object.
            options.push((Mistake::Rule("default"), |s| {
                s.insert("default".into(), json!({"not": "a value"}));
            }));
        }
        let (mistake, make) = options.swap_remove(usize::from(choice) % options.len());
        make(&mut self.spec);
        if let Some(name) = self.spec.get("name").and_then(Value::as_str) {
            self.name = name.to_owned();
        }
        self.mistake = Some(mistake);
    }
}

fn set<T: Into<Value>>(spec: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(value) = value {
        spec.insert(key.to_owned(), value.into());
    }
}
