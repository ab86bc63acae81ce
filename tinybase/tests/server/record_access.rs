//! Access rules over real HTTP: every rule (public, auth, owner, admin) for every action
//! (list, view, create, update, delete), tried by an anonymous caller, the record's owner,
//! another user and an admin. Refusals change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::collections::HashSet;

use common::records::{assert_page, assert_record_shape, item_ids, record_path, records_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

const RULES: [&str; 4] = ["public", "auth", "owner", "admin"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anon,
    Owner,
    Other,
    Admin,
}

const EVERYONE: [Who; 4] = [Who::Anon, Who::Owner, Who::Other, Who::Admin];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    List,
    View,
    Create,
    Update,
    Delete,
}

impl Action {
    fn option(self) -> &'static str {
        match self {
            Self::List => "list_rule",
            Self::View => "view_rule",
            Self::Create => "create_rule",
            Self::Update => "update_rule",
            Self::Delete => "delete_rule",
        }
    }
}

/// What `who` gets when `action` is governed by `rule`, acting on the owner's record.
fn expected(rule: &str, who: Who, action: Action) -> Result<(), (StatusCode, &'static str)> {
    let unauthorized = Err((StatusCode::UNAUTHORIZED, "unauthorized"));
    let forbidden = Err((StatusCode::FORBIDDEN, "forbidden"));
    match (rule, who) {
        ("public", _) | (_, Who::Admin) => Ok(()),
        (_, Who::Anon) => unauthorized,
        ("auth", _) | ("owner", Who::Owner) => Ok(()),
        // On list, "owner" scopes the list; on create, the caller becomes the owner.
        ("owner", Who::Other) if matches!(action, Action::List | Action::Create) => Ok(()),
        ("owner", Who::Other) => forbidden,
        ("admin", _) => forbidden,
        _ => unreachable!("unknown rule {rule}"),
    }
}

struct World {
    server: TestServer,
    admin: String,
    owner: String,
    other: String,
    admin_id: String,
    owner_id: String,
    other_id: String,
}

impl World {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let admin = server.admin_token().await;
        let (owner, owner_user) = server.register("owner@example.com", "owner-password").await;
        let (other, other_user) = server.register("other@example.com", "other-password").await;
        let (_, me) = server.get("/api/auth/me", Some(&admin)).await;
        Self {
            admin_id: me["id"].as_str().unwrap().to_owned(),
            owner_id: owner_user["id"].as_str().unwrap().to_owned(),
            other_id: other_user["id"].as_str().unwrap().to_owned(),
            server,
            admin,
            owner,
            other,
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anon => None,
            Who::Owner => Some(&self.owner),
            Who::Other => Some(&self.other),
            Who::Admin => Some(&self.admin),
        }
    }

    fn id(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anon => None,
            Who::Owner => Some(&self.owner_id),
            Who::Other => Some(&self.other_id),
            Who::Admin => Some(&self.admin_id),
        }
    }

    /// A collection `<action>_<rule>` where `action` follows `rule`, creating needs a
    /// signed-in user (so the owner can make records) and everything else is admin-only.
    async fn collection(&self, action: Action, rule: &str) -> String {
        let name = format!("{}_{rule}", action.option().trim_end_matches("_rule"));
        let mut options = json!({
            "list_rule": "admin", "view_rule": "admin", "create_rule": "auth",
            "update_rule": "admin", "delete_rule": "admin",
        });
        options[action.option()] = json!(rule);
        self.server
            .create_collection(
                &self.admin,
                json!({"name": name, "options": options, "schema": {"fields": [
                    {"name": "title", "type": "string"},
                ]}}),
            )
            .await;
        name
    }

    async fn seed(&self, collection: &str, who: Who, title: &str) -> Value {
        let record = self
            .server
            .create_record(collection, self.token(who), json!({"title": title}))
            .await;
        assert_record_shape(&record, collection, self.id(who));
        record
    }

    /// The record as an admin sees it (admins pass every rule); `None` when gone.
    async fn admin_read(&self, collection: &str, id: &str) -> Option<Value> {
        let (status, body) = self
            .server
            .get(&record_path(collection, id), Some(&self.admin))
            .await;
        match status {
            StatusCode::OK => Some(body),
            StatusCode::NOT_FOUND => None,
            other => panic!("admin read: {other} {body}"),
        }
    }
}

#[track_caller]
fn check(
    response: &(StatusCode, Value),
    expected: Result<(), (StatusCode, &'static str)>,
    success: StatusCode,
    context: &str,
) -> bool {
    match expected {
        Ok(()) => {
            assert_eq!(response.0, success, "{context}: {}", response.1);
            true
        }
        Err((status, code)) => {
            assert_eq!(response.0, status, "{context}: {}", response.1);
            common::assert_error(&response.1, code);
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_rules() {
    let world = World::new().await;
    for rule in RULES {
        let collection = world.collection(Action::View, rule).await;
        let record = world.seed(&collection, Who::Owner, "mine").await;
        let path = record_path(&collection, record["id"].as_str().unwrap());
        for who in EVERYONE {
            let response = world.server.get(&path, world.token(who)).await;
            let context = format!("view {rule} as {who:?}");
            if check(
                &response,
                expected(rule, who, Action::View),
                StatusCode::OK,
                &context,
            ) {
                assert_eq!(response.1, record, "{context}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_rules() {
    let world = World::new().await;
    for rule in RULES {
        let collection = world.collection(Action::Create, rule).await;
        for who in EVERYONE {
            let before = world.server.all_records_count().await;
            let response = world
                .server
                .post(
                    &records_path(&collection),
                    world.token(who),
                    json!({"title": format!("{who:?}")}),
                )
                .await;
            let context = format!("create {rule} as {who:?}");
            if check(
                &response,
                expected(rule, who, Action::Create),
                StatusCode::CREATED,
                &context,
            ) {
                // The caller becomes the owner (nobody, for an anonymous caller).
                assert_record_shape(&response.1, &collection, world.id(who));
                assert_eq!(world.server.all_records_count().await, before + 1);
            } else {
                assert_eq!(world.server.all_records_count().await, before, "{context}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_rules() {
    let world = World::new().await;
    for rule in RULES {
        let collection = world.collection(Action::Update, rule).await;
        for who in EVERYONE {
            let record = world.seed(&collection, Who::Owner, "original").await;
            let id = record["id"].as_str().unwrap();
            let response = world
                .server
                .patch(
                    &record_path(&collection, id),
                    world.token(who),
                    json!({"title": "changed"}),
                )
                .await;
            let context = format!("update {rule} as {who:?}");
            let stored = world
                .admin_read(&collection, id)
                .await
                .expect("still there");
            if check(
                &response,
                expected(rule, who, Action::Update),
                StatusCode::OK,
                &context,
            ) {
                assert_eq!(response.1["data"], json!({"title": "changed"}), "{context}");
                assert_eq!(response.1["owner_id"], world.owner_id, "{context}");
                assert_eq!(stored, response.1, "{context}");
            } else {
                assert_eq!(stored, record, "{context}: the record changed");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_rules() {
    let world = World::new().await;
    for rule in RULES {
        let collection = world.collection(Action::Delete, rule).await;
        for who in EVERYONE {
            let record = world.seed(&collection, Who::Owner, "doomed").await;
            let id = record["id"].as_str().unwrap();
            let response = world
                .server
                .delete(&record_path(&collection, id), world.token(who))
                .await;
            let context = format!("delete {rule} as {who:?}");
            let stored = world.admin_read(&collection, id).await;
            if check(
                &response,
                expected(rule, who, Action::Delete),
                StatusCode::NO_CONTENT,
                &context,
            ) {
                assert!(response.1.is_null(), "{context}");
                assert!(stored.is_none(), "{context}: still there");
            } else {
                assert_eq!(
                    stored.as_ref(),
                    Some(&record),
                    "{context}: the record changed"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_rules() {
    let world = World::new().await;
    for rule in RULES {
        let collection = world.collection(Action::List, rule).await;
        let mut by_owner = HashSet::new();
        let mut by_other = HashSet::new();
        let mut all = HashSet::new();
        for (who, count) in [(Who::Owner, 2), (Who::Other, 3), (Who::Admin, 1)] {
            for n in 0..count {
                let record = world.seed(&collection, who, &format!("{who:?} {n}")).await;
                let id = record["id"].as_str().unwrap().to_owned();
                match who {
                    Who::Owner => by_owner.insert(id.clone()),
                    Who::Other => by_other.insert(id.clone()),
                    _ => false,
                };
                all.insert(id);
            }
        }
        for who in EVERYONE {
            let response = world
                .server
                .list_records(&collection, world.token(who), &[])
                .await;
            let context = format!("list {rule} as {who:?}");
            if !check(
                &response,
                expected(rule, who, Action::List),
                StatusCode::OK,
                &context,
            ) {
                continue;
            }
            let visible = match (rule, who) {
                ("owner", Who::Owner) => &by_owner,
                ("owner", Who::Other) => &by_other,
                _ => &all,
            };
            let ids: HashSet<String> = item_ids(&response.1).into_iter().collect();
            assert_eq!(&ids, visible, "{context}");
            let total = visible.len() as u64;
            assert_page(&response.1, 1, 20, total, 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_scoped_lists_count_pages_and_filters_within_the_scope() {
    let world = World::new().await;
    let collection = world.collection(Action::List, "owner").await;
    let mut mine = Vec::new();
    for n in 0..3 {
        mine.push(
            world
                .seed(&collection, Who::Owner, &format!("mine {n}"))
                .await,
        );
    }
    for n in 0..5 {
        world
            .seed(&collection, Who::Other, &format!("theirs {n}"))
            .await;
    }
    let owner = world.token(Who::Owner);

    let page = world
        .server
        .list_ok(&collection, owner, &[("per_page", "2")])
        .await;
    assert_page(&page, 1, 2, 3, 2);
    let page2 = world
        .server
        .list_ok(&collection, owner, &[("per_page", "2"), ("page", "2")])
        .await;
    assert_page(&page2, 2, 2, 3, 2);
    let mut ids = item_ids(&page);
    ids.extend(item_ids(&page2));
    let expected: Vec<String> = mine
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, expected, "oldest first, all mine, no overlap");
    let page3 = world
        .server
        .list_ok(&collection, owner, &[("per_page", "2"), ("page", "3")])
        .await;
    assert_page(&page3, 3, 2, 3, 2);
    assert!(item_ids(&page3).is_empty());

    // A filter cannot widen the scope: it is applied inside it.
    let escape = format!("owner_id = '{}' || title ~ ''", world.other_id);
    for filter in [
        escape.as_str(),
        "title ~ 'theirs'",
        "title != 'x' || title = null",
    ] {
        let list = world
            .server
            .list_ok(&collection, owner, &[("filter", filter)])
            .await;
        for item in list["items"].as_array().unwrap() {
            assert_eq!(item["owner_id"], world.owner_id, "{filter}: {list}");
        }
        let total = list["total_items"].as_u64().unwrap();
        assert!(total <= 3, "{filter}: {list}");
    }
    let list = world
        .server
        .list_ok(&collection, owner, &[("filter", "title ~ 'theirs'")])
        .await;
    assert_page(&list, 1, 20, 0, 0);
    let list = world
        .server
        .list_ok(&collection, owner, &[("filter", escape.as_str())])
        .await;
    assert_page(&list, 1, 20, 3, 1);

    // The admin sees everything.
    let list = world
        .server
        .list_ok(&collection, world.token(Who::Admin), &[])
        .await;
    assert_page(&list, 1, 20, 8, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_records_have_no_owner_and_only_admins_may_change_them() {
    let world = World::new().await;
    world
        .server
        .create_collection(
            &world.admin,
            json!({"name": "guestbook", "options": {"create_rule": "public"},
                   "schema": {"fields": [{"name": "title", "type": "string"}]}}),
        )
        .await;
    let record = world.seed("guestbook", Who::Anon, "hello").await;
    let path = record_path("guestbook", record["id"].as_str().unwrap());
    // Default rules: update/delete are "owner"; a record without an owner is nobody's.
    for who in [Who::Owner, Who::Other] {
        let response = world
            .server
            .patch(&path, world.token(who), json!({"title": "mine now"}))
            .await;
        assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let response = world.server.delete(&path, world.token(who)).await;
        assert_status_error(&response, StatusCode::FORBIDDEN, "forbidden");
    }
    let response = world
        .server
        .patch(&path, None, json!({"title": "mine now"}))
        .await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        world
            .admin_read("guestbook", record["id"].as_str().unwrap())
            .await,
        Some(record)
    );
    let (status, patched) = world
        .server
        .patch(
            &path,
            world.token(Who::Admin),
            json!({"title": "moderated"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert!(
        patched["owner_id"].is_null(),
        "an admin's edit does not take ownership"
    );

    // A bad token is 401 even where the rule is public.
    let response = world.server.get(&path, Some("not-a-real-token")).await;
    assert_status_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relation_to_a_record_the_caller_may_not_view_reads_like_a_missing_one() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (alice, _) = server.register("alice@example.com", "alice-password").await;
    let (bob, _) = server.register("bob@example.com", "bob-password").await;
    server
        .create_collection(
            &admin,
            json!({"name": "diaries", "schema": {"fields": [{"name": "text", "type": "string"}]},
                   "options": {"list_rule": "owner", "view_rule": "owner"}}),
        )
        .await;
    server
        .create_collection(
            &admin,
            json!({"name": "links", "schema": {"fields": [
                {"name": "diary", "type": "relation", "collection": "diaries"}]}}),
        )
        .await;
    let diary = server
        .create_record("diaries", Some(&alice), json!({"text": "private"}))
        .await;
    let diary_id = diary["id"].as_str().unwrap();
    let missing_id = "01900000-0000-7000-8000-000000000000";

    // Bob cannot tell Alice's private diary from one that does not exist.
    let private = server
        .post(
            &records_path("links"),
            Some(&bob),
            json!({"diary": diary_id}),
        )
        .await;
    let missing = server
        .post(
            &records_path("links"),
            Some(&bob),
            json!({"diary": missing_id}),
        )
        .await;
    assert_status_error(
        &private,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(private.1, missing.1, "the two answers must be identical");
    let (_, links) = server.get(&records_path("links"), Some(&admin)).await;
    assert_eq!(links["total_items"], 0, "nothing was stored");

    // Who may view the diary may link to it.
    for token in [&alice, &admin] {
        let (status, body) = server
            .post(
                &records_path("links"),
                Some(token),
                json!({"diary": diary_id}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}
