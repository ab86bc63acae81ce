//! `install_blog`: creates the blog's runtime-defined collections if they are missing.

use tinybase::collections::{Caller, CollectionSchema, NewCollection};
use tinybase::schemars::JsonSchema;
use tinybase::serde::Serialize;
use tinybase::serde_json::{Value, json};
use tinybase::{Context, Result};

/// What `install_blog` did.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(crate = "tinybase::serde")]
#[schemars(crate = "tinybase::schemars")]
struct Installed {
    /// Collections created by this call.
    created: Vec<String>,
    /// Collections that were already there.
    existing: Vec<String>,
}

fn posts_schema() -> Value {
    json!({"fields": [
        {"name": "title", "type": "string", "required": true, "min_length": 1, "max_length": 200, "searchable": true},
        {"name": "body", "type": "text", "max_length": 100000, "searchable": true},
        {"name": "slug", "type": "string", "unique": true, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        {"name": "tags", "type": "list[string]", "max_length": 10},
        {"name": "published", "type": "boolean", "default": false, "indexed": true},
        {"name": "published_at", "type": "datetime"},
        {"name": "rating", "type": "int", "min": 0, "max": 5}
    ]})
}

fn comments_schema() -> Value {
    json!({"fields": [
        {"name": "post", "type": "relation", "collection": "posts", "required": true, "indexed": true},
        {"name": "body", "type": "text", "required": true, "min_length": 1, "max_length": 5000}
    ]})
}

/// Creates the `posts` and `comments` collections (admins only). Safe to call again.
/// (`digests` is declared in code, `src/collections.rs`, and exists from the start.)
#[tinybase::function(auth = "admin", tags = ["blog"])]
async fn install_blog(ctx: Context) -> Result<Installed> {
    let mut installed = Installed {
        created: Vec::new(),
        existing: Vec::new(),
    };
    let admin = Caller::system();
    // Comments refer to posts, so posts come first.
    for (name, schema, options) in [
        ("posts", posts_schema(), json!({})),
        (
            "comments",
            comments_schema(),
            json!({"create_rule": "auth", "update_rule": "owner", "delete_rule": "owner"}),
        ),
    ] {
        if ctx.collections().loaded(name).is_some() {
            installed.existing.push(name.to_owned());
            continue;
        }
        let new = NewCollection {
            name: name.to_owned(),
            label: None,
            schema: tinybase::serde_json::from_value::<CollectionSchema>(schema)
                .map_err(tinybase::Error::internal)?,
            options: tinybase::serde_json::from_value(options)
                .map_err(tinybase::Error::internal)?,
        };
        ctx.collections().create_collection(&admin, new).await?;
        installed.created.push(name.to_owned());
    }
    Ok(installed)
}
