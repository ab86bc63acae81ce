//! Record hooks: a post without a `slug` gets one made from its title.

use tinybase::hooks::BeforeWrite;
use tinybase::serde_json::Value;
use tinybase::{Error, Result};

/// Fills `slug` from `title` before a post is created, unless the client sent one. A slug
/// another post already has gets a number (`hello-world-2`), found by reading the posts
/// through the write's own transaction, so two posts created at once never collide.
#[tinybase::hook(collection = "posts", event = "before_create")]
fn fill_post_slug(hook: &mut BeforeWrite<'_>) -> Result<()> {
    if hook.data().get("slug").is_some_and(|slug| !slug.is_null()) {
        return Ok(());
    }
    let Some(title) = hook.data().get("title").and_then(Value::as_str) else {
        // Validation reports the missing title.
        return Ok(());
    };
    let base = slugify(title);
    if base.is_empty() {
        // Nothing to make a slug from (e.g. a title without ASCII letters): the post
        // simply has none.
        return Ok(());
    }
    let mut stmt = hook
        .conn()
        .prepare_cached(
            "SELECT 1 FROM records
             WHERE collection_id = (SELECT id FROM collections WHERE name = ?1)
               AND json_extract(data, '$.slug') = ?2",
        )
        .map_err(Error::internal)?;
    let mut candidate = base.clone();
    let mut n = 1;
    while stmt
        .exists(tinybase::db::rusqlite::params![
            hook.collection(),
            candidate
        ])
        .map_err(Error::internal)?
    {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    drop(stmt);
    hook.set("slug", candidate);
    Ok(())
}

/// `"Hello, World!"` → `"hello-world"`: lowercase ASCII letters and digits joined by
/// single dashes, at most 80 characters.
fn slugify(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut slug = String::new();
    for word in words {
        if slug.len() + word.len() + 1 > 80 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("  Rust 2024 -- edition "), "rust-2024-edition");
        assert_eq!(slugify("日本語"), "");
        assert!(slugify(&"word ".repeat(100)).len() <= 80);
    }
}
