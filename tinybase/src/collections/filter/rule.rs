//! What an access rule may name beyond a filter's fields: the request (`@request.auth.*`,
//! `@request.body.*`), fields of related records (`author.email`) and records of other
//! collections (`@collection.<name>.<field>`).
//!
//! Rules are filters: the same parser reads them and the same compiler turns them into
//! SQL. The request's values are known before the SQL is written, so they enter it as
//! bound parameters exactly like literals (`owner_id = @request.auth.id` compiles to
//! `owner_id = ?`), and a comparison about the request alone (`@request.auth.is_admin =
//! true`) is decided while parsing and written as the constant `1` or `0`. A rule's SQL
//! therefore differs between callers only in its parameters and constants, which is what
//! keys cached counts (see `db/count_cache.rs`): one caller's total never answers another.
//!
//! When a rule is saved there is no request: it is checked with a typed stand-in for each
//! request value, so a rule that compares an int field with `@request.auth.id` is refused
//! then, not at the first request. At request time a comparison whose request value does
//! not fit (a null compared with `>`, say) is false, in SQL and in memory alike.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::check::check;
use super::error::{QueryError, quote};
use super::eval;
use super::fields::{self, CollectionId, Field, Hop, Kind, ListOf, Path, Source};
use super::lexer::Token;
use super::parser::{self, Comparison, Expr, Literal};
use super::{SqlCondition, compile};
use crate::collections::schema::{CollectionSchema, FieldType};

/// The most relation fields one path may follow (`a.b.c.field` follows three).
pub const MAX_RELATION_HOPS: usize = 3;

/// Finds a collection by name: its id and schema.
pub type CollectionLookup<'a> = dyn Fn(&str) -> Option<(String, CollectionSchema)> + 'a;

/// What a rule is checked or compiled against.
pub struct RuleEnv<'a> {
    /// Other collections, for relation paths and `@collection`.
    pub collections: &'a CollectionLookup<'a>,
    /// The request; `None` while checking a rule as it is saved.
    pub request: Option<RequestValues<'a>>,
    /// Whether `@request.body.*` may be used (create and update rules).
    pub body_allowed: bool,
}

/// The request a rule is applied to.
#[derive(Debug, Clone, Copy)]
pub struct RequestValues<'a> {
    /// The caller's user id; empty for anonymous callers (so `@request.auth.id != ''`
    /// means "signed in", as in PocketBase).
    pub auth_id: &'a str,
    /// The caller's email; empty for anonymous callers.
    pub auth_email: &'a str,
    /// Whether the caller has verified that email; `false` for anonymous callers.
    pub auth_email_verified: bool,
    /// Whether the caller is an admin.
    pub is_admin: bool,
    /// The record fields the request sends (create and update).
    pub body: Option<&'a Map<String, Value>>,
}

/// A rule compiled for one request.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The SQL condition over the `records` row, with its parameters.
    pub condition: SqlCondition,
    /// Whether the rule reads other records (relation paths, `@collection`), so it can
    /// only be decided with the database, not by [`super::RecordFilter`] alone.
    pub reads_other_records: bool,
    /// The parsed rule, for evaluation in memory when it reads no other record.
    pub(crate) expr: Expr,
}

/// Checks `text` as a rule of a collection with `schema`, or compiles it for a request.
///
/// # Errors
/// A [`QueryError`] for text that is not a valid rule here: a filter error, an unknown
/// `@` name, collection or relation, `@request.body` outside create and update rules.
pub fn compile_rule(
    text: &str,
    schema: &CollectionSchema,
    env: &RuleEnv<'_>,
) -> Result<CompiledRule, QueryError> {
    let expr = parser::parse_in(
        text,
        &Env {
            schema,
            rule: Some(env),
        },
    )?;
    Ok(CompiledRule {
        condition: compile::compile(&expr)?,
        reads_other_records: reads_other_records(&expr),
        expr,
    })
}

/// Whether a comparison anywhere in `expr` reads a record other than the filtered one.
fn reads_other_records(expr: &Expr) -> bool {
    match expr {
        Expr::Compare(c) => c.field.path != Path::Own,
        Expr::And(terms) | Expr::Or(terms) => terms.iter().any(reads_other_records),
        Expr::Const(_) => false,
    }
}

/// The names a parse may resolve: the collection's schema, and for rules the rule's world.
pub(crate) struct Env<'a> {
    /// The collection's schema.
    pub(crate) schema: &'a CollectionSchema,
    /// Present for rules.
    pub(crate) rule: Option<&'a RuleEnv<'a>>,
}

/// One side of a comparison.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    /// A field of this or another record.
    Field(Field),
    /// A value of the request.
    Request(Request),
    /// A literal.
    Literal(Literal),
}

/// A request value a rule names.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// As written, e.g. `@request.auth.id`.
    pub(crate) name: String,
    /// How it compares.
    kind: Kind,
    /// Its type's name, for messages.
    type_name: &'static str,
    /// The value; `None` while a rule is checked on save.
    value: Option<Value>,
}

impl Request {
    /// The value as a literal the other side is compared with. On save, a stand-in of the
    /// value's type, so the comparison is type-checked.
    pub(crate) fn as_literal(&self) -> Literal {
        match &self.value {
            Some(value) => literal_of(value),
            None => stand_in(self.kind),
        }
    }

    /// A field standing for the value, so `check` can test the comparison's types.
    pub(crate) fn pseudo_field(&self) -> Field {
        Field {
            name: self.name.clone(),
            kind: self.kind,
            type_name: self.type_name,
            source: Source::Data,
            path: Path::Own,
        }
    }
}

/// The literal a request value is compared as: what `json_extract` would yield for it.
fn literal_of(value: &Value) -> Literal {
    match value {
        Value::Null => Literal::Null,
        Value::Bool(b) => Literal::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Literal::Int(i),
            None => Literal::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => Literal::Text(text.clone()),
        Value::Array(_) | Value::Object(_) => Literal::Text(value.to_string()),
    }
}

/// A literal of `kind`, for type-checking a rule on save.
fn stand_in(kind: Kind) -> Literal {
    match kind {
        Kind::Int | Kind::Float | Kind::List(ListOf::Int | ListOf::Float) => Literal::Int(0),
        Kind::Boolean => Literal::Bool(false),
        Kind::Datetime => Literal::Text("2026-01-01T00:00:00Z".to_owned()),
        Kind::Date => Literal::Text("2026-01-01".to_owned()),
        Kind::Text | Kind::Json | Kind::List(ListOf::Text) => Literal::Text(String::new()),
    }
}

impl Env<'_> {
    /// A comparison of a field with a value. When the value came from the request and
    /// does not fit the field, the comparison is false at request time (it was checked
    /// with a stand-in of the right type on save).
    pub(crate) fn decide(
        &self,
        comparison: Comparison,
        substituted: bool,
    ) -> Result<Expr, QueryError> {
        let at_request = self.rule.is_some_and(|rule| rule.request.is_some());
        match check(&comparison) {
            Ok(_) => Ok(Expr::Compare(comparison)),
            Err(_) if substituted && at_request => Ok(Expr::Const(false)),
            Err(err) => Err(err),
        }
    }

    /// A comparison of a request value with a value, decided now. On save it is only
    /// type-checked.
    pub(crate) fn constant(
        &self,
        comparison: &Comparison,
        request: &Request,
    ) -> Result<Expr, QueryError> {
        let Some(value) = &request.value else {
            check(comparison)?;
            return Ok(Expr::Const(false));
        };
        match eval::constant(comparison, value) {
            Ok(holds) => Ok(Expr::Const(holds)),
            // A body value of the wrong type, or a null compared with `>`: no match.
            Err(_) => Ok(Expr::Const(false)),
        }
    }

    /// What a name on the left of a comparison (or a request value on the right) is.
    pub(crate) fn operand(&self, token: &Token) -> Result<Operand, QueryError> {
        let name = token.text.as_str();
        if !name.starts_with('@') && !name.contains('.') {
            return fields::resolve(name, self.schema)
                .map(Operand::Field)
                .ok_or_else(|| parser::unknown_field(token, self.schema));
        }
        let Some(rule) = self.rule else {
            return Err(QueryError::at(
                token.pos,
                format!("{} cannot be used in a filter", quote(name)),
            )
            .hint("`@request`, `@collection` and relation paths are for access rules"));
        };
        if let Some(rest) = name.strip_prefix("@request.") {
            return request(rest, token, self.schema, rule).map(Operand::Request);
        }
        if let Some(rest) = name.strip_prefix("@collection.") {
            return any_of(rest, token, rule).map(Operand::Field);
        }
        if name.starts_with('@') {
            return Err(unknown_name(token));
        }
        relation_path(name, token, self.schema, rule).map(Operand::Field)
    }
}

fn unknown_name(token: &Token) -> QueryError {
    QueryError::at(token.pos, format!("unknown name {}", quote(&token.text))).hint(
        "rules may use @request.auth.id, @request.auth.email, @request.auth.email_verified, \
         @request.auth.is_admin, @request.body.<field> and @collection.<collection>.<field>",
    )
}

/// `@request.<rest>`.
fn request(
    rest: &str,
    token: &Token,
    schema: &CollectionSchema,
    rule: &RuleEnv<'_>,
) -> Result<Request, QueryError> {
    let values = rule.request.as_ref();
    let (kind, type_name, value) = match rest {
        "auth.id" => (
            Kind::Text,
            "text",
            values.map(|v| Value::String(v.auth_id.to_owned())),
        ),
        "auth.email" => (
            Kind::Text,
            "text",
            values.map(|v| Value::String(v.auth_email.to_owned())),
        ),
        "auth.is_admin" => (
            Kind::Boolean,
            "boolean",
            values.map(|v| Value::Bool(v.is_admin)),
        ),
        "auth.email_verified" => (
            Kind::Boolean,
            "boolean",
            values.map(|v| Value::Bool(v.auth_email_verified)),
        ),
        _ => {
            let Some(field) = rest.strip_prefix("body.") else {
                return Err(unknown_name(token));
            };
            if !rule.body_allowed {
                return Err(QueryError::at(
                    token.pos,
                    format!(
                        "{} is only available in create_rule and update_rule",
                        quote(&token.text)
                    ),
                ));
            }
            let Some(spec) = schema
                .field(field)
                .filter(|s| fields::is_safe_name(&s.name))
            else {
                return Err(QueryError::at(
                    token.pos,
                    format!("unknown field {} in {}", quote(field), quote(&token.text)),
                ));
            };
            (
                fields::kind_of(spec.field_type),
                spec.field_type.as_str(),
                values.map(|v| {
                    v.body
                        .and_then(|body| body.get(field))
                        .cloned()
                        .unwrap_or(Value::Null)
                }),
            )
        }
    };
    Ok(Request {
        name: token.text.clone(),
        kind,
        type_name,
        value,
    })
}

/// `@collection.<name>.<field>`.
fn any_of(rest: &str, token: &Token, rule: &RuleEnv<'_>) -> Result<Field, QueryError> {
    let Some((name, field)) = rest.split_once('.') else {
        return Err(
            QueryError::at(token.pos, format!("{} names no field", quote(&token.text)))
                .hint("write @collection.<collection>.<field>"),
        );
    };
    if field.contains('.') {
        return Err(QueryError::at(
            token.pos,
            format!(
                "{}: relation paths inside @collection are not supported",
                quote(&token.text)
            ),
        ));
    }
    let (id, schema) = target(name, token, rule)?;
    let Some(mut resolved) = fields::resolve(field, &schema) else {
        return Err(QueryError::at(
            token.pos,
            format!("unknown field {} in collection `{name}`", quote(field)),
        ));
    };
    resolved.name = field.to_owned();
    resolved.path = Path::AnyOf(id);
    Ok(resolved)
}

/// The id and schema of the collection called `name`.
fn target(
    name: &str,
    token: &Token,
    rule: &RuleEnv<'_>,
) -> Result<(CollectionId, CollectionSchema), QueryError> {
    let unknown = || QueryError::at(token.pos, format!("unknown collection {}", quote(name)));
    let (id, schema) = (rule.collections)(name).ok_or_else(unknown)?;
    let id = CollectionId::parse(&id).ok_or_else(unknown)?;
    Ok((id, schema))
}

/// `relation.field`, `relation.relation.field`, … of the record's own relation fields.
fn relation_path(
    name: &str,
    token: &Token,
    schema: &CollectionSchema,
    rule: &RuleEnv<'_>,
) -> Result<Field, QueryError> {
    let parts: Vec<&str> = name.split('.').collect();
    let Some((last, relations)) = parts.split_last() else {
        return Err(unknown_name(token));
    };
    if relations.len() > MAX_RELATION_HOPS {
        return Err(QueryError::at(
            token.pos,
            format!(
                "{} follows more than {MAX_RELATION_HOPS} relations",
                quote(name)
            ),
        ));
    }
    let mut here: Cow<'_, CollectionSchema> = Cow::Borrowed(schema);
    let mut hops = Vec::with_capacity(relations.len());
    for part in relations {
        let spec = here.field(part).filter(|s| fields::is_safe_name(&s.name));
        if spec.is_some_and(|s| s.field_type == FieldType::ListRelation) {
            // Following a list would make the path many-valued; "any of them" or "all of
            // them" would have to be spelled out, so it is refused rather than guessed.
            return Err(QueryError::at(
                token.pos,
                format!(
                    "{} in {} is a list[relation] field: relation paths through a list are \
                     not supported",
                    quote(part),
                    quote(name)
                ),
            )
            .hint(format!(
                "test membership with {part} = '<record id>', or compare the related records \
                 with @collection.<collection>.<field>"
            )));
        }
        let Some(target_name) = spec
            .filter(|s| s.field_type == FieldType::Relation)
            .and_then(|s| s.collection.clone())
        else {
            return Err(QueryError::at(
                token.pos,
                format!("{} in {} is not a relation field", quote(part), quote(name)),
            )
            .hint("a path such as author.email follows a relation field to its record"));
        };
        let (id, target_schema) = target(&target_name, token, rule)?;
        hops.push(Hop {
            field: (*part).to_owned(),
            target: id,
        });
        here = Cow::Owned(target_schema);
    }
    let Some(mut field) = fields::resolve(last, &here) else {
        return Err(QueryError::at(
            token.pos,
            format!(
                "unknown field {} at the end of {}",
                quote(last),
                quote(name)
            ),
        ));
    };
    field.path = Path::Related(hops);
    Ok(field)
}
