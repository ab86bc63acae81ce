//! The `sort` parameter.

use tinybase::collections::filter::{QueryError, compile_sort};

use crate::support::schema;

#[track_caller]
fn sort(text: &str) -> String {
    compile_sort(text, &schema()).unwrap_or_else(|err| panic!("{text:?}: {err}"))
}

#[track_caller]
fn reject(text: &str, position: usize, needle: &str) -> QueryError {
    let err = compile_sort(text, &schema()).expect_err(text);
    assert_eq!(
        err.position, position,
        "position for {text:?}: {}",
        err.message
    );
    assert!(err.message.contains(needle), "{text:?}: {}", err.message);
    assert!(
        err.message.contains(&format!("at position {position}")),
        "{}",
        err.message
    );
    err
}

#[test]
fn keys_and_directions() {
    assert_eq!(
        sort("-rating,created_at"),
        "json_extract(data, '$.rating') DESC, created_at ASC, id ASC"
    );
    assert_eq!(sort("-created_at"), "created_at DESC, id DESC");
    assert_eq!(sort("+title"), "json_extract(data, '$.title') ASC, id ASC");
    assert_eq!(
        sort("title,-updated_at"),
        "json_extract(data, '$.title') ASC, updated_at DESC, id DESC"
    );
    assert_eq!(sort("owner_id"), "owner_id ASC, id ASC");
}

#[test]
fn id_is_not_repeated_as_tiebreak() {
    assert_eq!(sort("-id"), "id DESC");
    assert_eq!(
        sort("id,title"),
        "id ASC, json_extract(data, '$.title') ASC"
    );
    assert_eq!(
        sort("rating,-id"),
        "json_extract(data, '$.rating') ASC, id DESC"
    );
}

#[test]
fn whitespace_around_items_is_ignored() {
    // `+title` in a query string arrives as " title".
    assert_eq!(sort(" title"), "json_extract(data, '$.title') ASC, id ASC");
    assert_eq!(
        sort(" -rating , day "),
        "json_extract(data, '$.rating') DESC, json_extract(data, '$.day') ASC, id ASC"
    );
}

#[test]
fn every_scalar_type_sorts() {
    for field in [
        "title",
        "body",
        "rating",
        "price",
        "published",
        "due",
        "day",
        "email",
        "site",
        "status",
        "author",
    ] {
        assert_eq!(
            sort(&format!("-{field}")),
            format!("json_extract(data, '$.{field}') DESC, id DESC")
        );
    }
}

#[test]
fn rejected_sorts() {
    reject("", 0, "empty sort");
    reject("  ", 0, "empty sort");
    reject("title,", 6, "empty sort item");
    reject("title,,rating", 6, "empty sort item");
    reject(",title", 0, "empty sort item");
    reject("title, ,rating", 7, "empty sort item");
    reject("-", 1, "unknown sort field ``");
    let err = reject("-ratng", 1, "unknown sort field `ratng`");
    assert_eq!(
        err.message,
        "unknown sort field `ratng` at position 1; sortable fields: title, body, rating, \
         price, published, due, day, email, site, status, author, id, owner_id, created_at, \
         updated_at"
    );
    reject("title, -Rating", 8, "unknown sort field `Rating`");
    reject("--rating", 1, "unknown sort field `-rating`");
    reject("tags", 0, "cannot sort by list[string] field `tags`");
    reject("-scores", 1, "cannot sort by list[int] field `scores`");
    reject("weights", 0, "cannot sort by list[float] field `weights`");
    reject("meta", 0, "cannot sort by json field `meta`");
    reject("collection", 0, "cannot sort by `collection`");
    reject("title,-title", 7, "field `title` appears twice");
    reject("id,id", 3, "field `id` appears twice");
    reject("title desc", 0, "unknown sort field `title desc`");
    reject("title;DROP TABLE records", 0, "unknown sort field");
    reject("json_extract(data, '$.x')", 0, "unknown sort field");
    reject("rating, 🦀", 8, "unknown sort field `🦀`");
    reject(&"a,".repeat(3000), 4096, "sort longer than 4096 characters");
}
