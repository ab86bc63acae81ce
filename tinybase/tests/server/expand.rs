//! `expand` and `fields` over real HTTP: related records under `"expand"` (forward
//! relations, `<collection>_via_<field>` back-relations, paths up to 3 deep), the
//! targets' view rules applied for the caller, and answers trimmed by `fields`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{query_string, record_path, records_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// teams ← authors.team ← posts.author ← comments.post; comments have `approved`.
async fn blog(server: &TestServer, admin: &str, comment_view_rule: &str) {
    let options = json!({"create_rule": "auth", "update_rule": "auth", "delete_rule": "auth"});
    for (name, fields) in [
        ("teams", json!([{"name": "name", "type": "string"}])),
        (
            "authors",
            json!([{"name": "name", "type": "string"},
                   {"name": "team", "type": "relation", "collection": "teams"}]),
        ),
        (
            "posts",
            json!([{"name": "title", "type": "string"},
                   {"name": "author", "type": "relation", "collection": "authors"}]),
        ),
    ] {
        server
            .create_collection(
                admin,
                json!({"name": name, "schema": {"fields": fields}, "options": options}),
            )
            .await;
    }
    let mut comment_options = options.clone();
    comment_options["view_rule"] = json!(comment_view_rule);
    server
        .create_collection(
            admin,
            json!({"name": "comments", "options": comment_options, "schema": {"fields": [
                {"name": "text", "type": "string"},
                {"name": "approved", "type": "boolean"},
                {"name": "post", "type": "relation", "collection": "posts"},
            ]}}),
        )
        .await;
}

fn id(record: &Value) -> &str {
    record["id"].as_str().unwrap()
}

async fn get(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    query: &[(&str, &str)],
) -> Value {
    let (status, body) = server
        .get(&format!("{path}{}", query_string(query)), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{path} {query:?}: {body}");
    body
}

fn ids(records: &Value) -> Vec<&str> {
    records
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {records}"))
        .iter()
        .map(id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expand_follows_relations_both_ways_up_to_three_levels() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    blog(&server, &admin, "public").await;
    let team = server
        .create_record("teams", Some(&admin), json!({"name": "core"}))
        .await;
    let ann = server
        .create_record(
            "authors",
            Some(&admin),
            json!({"name": "Ann", "team": id(&team)}),
        )
        .await;
    let bob = server
        .create_record("authors", Some(&admin), json!({"name": "Bob"}))
        .await;
    let first = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "one", "author": id(&ann)}),
        )
        .await;
    let second = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "two", "author": id(&bob)}),
        )
        .await;
    server
        .create_record("posts", Some(&admin), json!({"title": "three"}))
        .await;
    let mut comments = Vec::new();
    for (text, post) in [("a", &first), ("b", &second), ("c", &first)] {
        comments.push(
            server
                .create_record(
                    "comments",
                    Some(&admin),
                    json!({"text": text, "approved": true, "post": id(post)}),
                )
                .await,
        );
    }

    // Without expand the records are as always: no `expand` member.
    let plain = server.list_ok("posts", None, &[]).await;
    assert!(plain["items"][0].get("expand").is_none(), "{plain}");

    let page = server
        .list_ok(
            "posts",
            None,
            &[
                ("expand", "author,comments_via_post,author.team"),
                ("sort", "title"),
            ],
        )
        .await;
    assert_eq!(page["total_items"], 3, "{page}");
    let items = page["items"].as_array().unwrap();
    // "one": Ann with her team, two comments oldest first.
    let expand = &items[0]["expand"];
    assert_eq!(expand["author"]["id"], id(&ann), "{expand}");
    assert_eq!(expand["author"]["collection"], "authors");
    assert_eq!(expand["author"]["data"]["name"], "Ann");
    assert_eq!(expand["author"]["expand"]["team"]["data"]["name"], "core");
    // Nothing was asked of the team: it has no `expand` member.
    assert!(
        expand["author"]["expand"]["team"].get("expand").is_none(),
        "{expand}"
    );
    assert_eq!(
        ids(&expand["comments_via_post"]),
        [id(&comments[0]), id(&comments[2])]
    );
    assert_eq!(expand["comments_via_post"][0]["collection"], "comments");
    // "two": Bob has no team, one comment.
    let expand = &items[2]["expand"];
    assert_eq!(expand["author"]["id"], id(&bob), "{expand}");
    assert_eq!(expand["author"]["expand"], json!({}));
    assert_eq!(ids(&expand["comments_via_post"]), [id(&comments[1])]);
    // "three": nothing to expand, an empty object.
    assert_eq!(items[1]["data"]["title"], "three");
    assert_eq!(items[1]["expand"], json!({}), "{page}");

    // One record, and three levels from a comment up to the team.
    let one = get(
        &server,
        &record_path("posts", id(&first)),
        None,
        &[("expand", "author.team")],
    )
    .await;
    assert_eq!(one["id"], id(&first));
    assert_eq!(one["expand"]["author"]["expand"]["team"]["id"], id(&team));
    let deep = get(
        &server,
        &record_path("comments", id(&comments[0])),
        None,
        &[("expand", "post.author.team")],
    )
    .await;
    assert_eq!(
        deep["expand"]["post"]["expand"]["author"]["expand"]["team"]["data"]["name"], "core",
        "{deep}"
    );
    // Back, then forward again: a team's authors and their posts.
    let team_page = get(
        &server,
        &records_path("teams"),
        None,
        &[("expand", "authors_via_team.posts_via_author")],
    )
    .await;
    let authors = &team_page["items"][0]["expand"]["authors_via_team"];
    assert_eq!(ids(authors), [id(&ann)]);
    assert_eq!(ids(&authors[0]["expand"]["posts_via_author"]), [id(&first)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_expand_and_fields_are_refused_with_400() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    blog(&server, &admin, "public").await;
    let post = server
        .create_record("posts", Some(&admin), json!({"title": "one"}))
        .await;
    for expand in [
        "nope",
        "title",
        "author.nope",
        "comments_via_text",
        "posts_via_author",
        "nothing_via_post",
        "post.author.team.authors_via_team",
        "author,author.team.x.y",
    ] {
        let answer = server
            .list_records("posts", None, &[("expand", expand)])
            .await;
        let error = assert_status_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(error["details"]["parameter"], "expand", "{expand}: {error}");
    }
    let deep = server
        .list_records(
            "comments",
            None,
            &[("expand", "post.author.team.authors_via_team")],
        )
        .await;
    let error = assert_status_error(&deep, StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        error["message"].as_str().unwrap().contains("at most 3"),
        "{error}"
    );
    let one = server
        .get(
            &format!("{}?expand=nope", record_path("posts", id(&post))),
            None,
        )
        .await;
    assert_status_error(&one, StatusCode::BAD_REQUEST, "bad_request");
    for fields in ["title", "data..title", "items"] {
        let answer = server
            .list_records("posts", None, &[("fields", fields)])
            .await;
        let error = assert_status_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(error["details"]["parameter"], "fields", "{fields}: {error}");
    }
    let one = server
        .get(
            &format!("{}?fields=nope", record_path("posts", id(&post))),
            None,
        )
        .await;
    assert_status_error(&one, StatusCode::BAD_REQUEST, "bad_request");
    // An empty expand or fields is no expand or fields.
    let page = server
        .list_ok("posts", None, &[("expand", " , "), ("fields", "")])
        .await;
    assert!(page["items"][0].get("expand").is_none(), "{page}");
    assert_eq!(page["items"][0]["data"]["title"], "one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expand_shows_only_what_the_target_view_rule_lets_the_caller_see() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    // Comments are visible when approved, or to whoever wrote them.
    blog(
        &server,
        &admin,
        "approved = true || owner_id = @request.auth.id",
    )
    .await;
    // Authors are visible to signed-in callers only.
    server
        .patch_collection(&admin, "authors", json!({"options": {"view_rule": "auth"}}))
        .await;
    let (writer, _) = server.register("writer@example.com", "password-1").await;
    let (reader, _) = server.register("reader@example.com", "password-2").await;
    let ann = server
        .create_record("authors", Some(&admin), json!({"name": "Ann"}))
        .await;
    let post = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "one", "author": id(&ann)}),
        )
        .await;
    let approved = server
        .create_record(
            "comments",
            Some(&writer),
            json!({"text": "fine", "approved": true, "post": id(&post)}),
        )
        .await;
    let pending = server
        .create_record(
            "comments",
            Some(&writer),
            json!({"text": "secret draft", "approved": false, "post": id(&post)}),
        )
        .await;

    let expand = [("expand", "author,comments_via_post")];
    // Anonymous: no author at all, only the approved comment.
    let anonymous = server.list_ok("posts", None, &expand).await;
    let seen = &anonymous["items"][0]["expand"];
    assert!(seen.get("author").is_none(), "{anonymous}");
    assert_eq!(ids(&seen["comments_via_post"]), [id(&approved)]);
    assert!(
        !anonymous.to_string().contains("secret draft"),
        "{anonymous}"
    );
    assert!(!anonymous.to_string().contains("Ann"), "{anonymous}");
    // Another user: the author, still only the approved comment.
    let other = get(
        &server,
        &record_path("posts", id(&post)),
        Some(&reader),
        &expand,
    )
    .await;
    assert_eq!(other["expand"]["author"]["id"], id(&ann));
    assert_eq!(ids(&other["expand"]["comments_via_post"]), [id(&approved)]);
    assert!(!other.to_string().contains("secret draft"), "{other}");
    // The comments' writer sees both, and an admin too.
    for token in [&writer, &admin] {
        let own = server.list_ok("posts", Some(token), &expand).await;
        assert_eq!(
            ids(&own["items"][0]["expand"]["comments_via_post"]),
            [id(&approved), id(&pending)]
        );
    }
    // A hidden record stays hidden through deeper paths as well (the comments' list rule
    // is public; the filter keeps the approved one).
    let through = server
        .list_ok(
            "comments",
            None,
            &[("expand", "post.author"), ("filter", "approved = true")],
        )
        .await;
    assert_eq!(ids(&through["items"]), [id(&approved)]);
    assert_eq!(through["items"][0]["expand"]["post"]["id"], id(&post));
    assert!(
        through["items"][0]["expand"]["post"]["expand"]
            .get("author")
            .is_none(),
        "{through}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_trims_lists_and_single_records() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    blog(&server, &admin, "public").await;
    let ann = server
        .create_record("authors", Some(&admin), json!({"name": "Ann"}))
        .await;
    let post = server
        .create_record(
            "posts",
            Some(&admin),
            json!({"title": "one", "author": id(&ann)}),
        )
        .await;
    server
        .create_record(
            "comments",
            Some(&admin),
            json!({"text": "hi", "approved": true, "post": id(&post)}),
        )
        .await;

    let page = server
        .list_ok(
            "posts",
            None,
            &[
                ("expand", "author,comments_via_post"),
                (
                    "fields",
                    "id,data.title,expand.author,expand.comments_via_post.data.text",
                ),
            ],
        )
        .await;
    assert_eq!(page["total_items"], 1, "page members stay: {page}");
    assert_eq!(page["page"], 1);
    let item = &page["items"][0];
    assert_eq!(
        item,
        &json!({
            "id": id(&post),
            "data": {"title": "one"},
            "expand": {
                "author": ann.clone(),
                "comments_via_post": [{"data": {"text": "hi"}}],
            },
        }),
    );
    let one = get(
        &server,
        &record_path("posts", id(&post)),
        None,
        &[("fields", "id,created_at")],
    )
    .await;
    assert_eq!(
        one,
        json!({"id": id(&post), "created_at": post["created_at"].clone()})
    );
}
