//! Listing records over real HTTP: pagination edges, sorting, the filter language with
//! every operator, and malformed or hostile filters and sorts (400, nothing changed).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::records::{assert_page, item_ids, item_values, record_path};
use common::{TestServer, assert_status_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server with a `books` collection holding seven records (created in this order) and
/// an empty `empty` collection.
struct Library {
    server: TestServer,
    admin: String,
    /// The records as created, in creation order.
    books: Vec<Value>,
}

const TITLES: [&str; 7] = [
    "Rust in Action",
    "The Rust Book",
    "Go Basics",
    "100% Pure",
    "100 Pure",
    "axb",
    "zeta",
];

impl Library {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let admin = server.admin_token().await;
        server
            .create_collection(
                &admin,
                json!({"name": "books", "schema": {"fields": [
                    {"name": "title", "type": "string", "required": true},
                    {"name": "rating", "type": "int", "indexed": true},
                    {"name": "price", "type": "float"},
                    {"name": "published", "type": "boolean"},
                    {"name": "released", "type": "date"},
                    {"name": "at", "type": "datetime"},
                    {"name": "tags", "type": "list[string]"},
                    {"name": "note", "type": "text"},
                ]}}),
            )
            .await;
        server
            .create_collection(&admin, json!({"name": "empty"}))
            .await;
        let data = [
            json!({"title": "Rust in Action", "rating": 5, "price": 39.5, "published": true,
                   "released": "2021-08-01", "at": "2026-01-01T10:00:00Z",
                   "tags": ["rust", "systems"], "note": "classic"}),
            json!({"title": "The Rust Book", "rating": 4, "price": 0, "published": true,
                   "released": "2018-08-01", "at": "2026-01-02T10:00:00Z", "tags": ["rust"]}),
            json!({"title": "Go Basics", "rating": 3, "price": 25, "published": false,
                   "released": "2019-01-15", "tags": ["go"], "note": "ok"}),
            json!({"title": "100% Pure", "rating": 2, "price": 10.25, "published": true,
                   "tags": [], "note": "50% off"}),
            json!({"title": "100 Pure", "rating": 1, "published": false, "note": "a_b"}),
            json!({"title": "axb", "rating": 3, "note": "axb"}),
            json!({"title": "zeta"}),
        ];
        let mut books = Vec::new();
        for data in data {
            books.push(server.create_record("books", Some(&admin), data).await);
        }
        Self {
            server,
            admin,
            books,
        }
    }

    /// Titles of every book matching `filter` (one page of 500), in default order.
    async fn titles(&self, filter: &str) -> Vec<String> {
        let list = self
            .server
            .list_ok("books", None, &[("filter", filter), ("per_page", "500")])
            .await;
        assert_eq!(
            list["total_items"].as_u64().unwrap() as usize,
            list["items"].as_array().unwrap().len(),
            "{filter}: total_items disagrees with the items"
        );
        titles_of(&list)
    }

    /// Titles in the order `sort` gives.
    async fn sorted(&self, sort: &str) -> Vec<String> {
        let list = self
            .server
            .list_ok("books", None, &[("sort", sort), ("per_page", "500")])
            .await;
        titles_of(&list)
    }
}

fn titles_of(list: &Value) -> Vec<String> {
    item_values(list, "title")
        .into_iter()
        .map(|t| t.as_str().expect("title").to_owned())
        .collect()
}

/// The seeded titles at these positions (1-based, as listed in `TITLES`), in that order.
fn books(numbers: &[usize]) -> Vec<String> {
    numbers.iter().map(|n| TITLES[n - 1].to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_edges() {
    let library = Library::new().await;
    let server = &library.server;

    // An empty collection.
    let list = server.list_ok("empty", None, &[]).await;
    assert_eq!(list["items"], json!([]));
    assert_page(&list, 1, 20, 0, 0);
    let list = server.list_ok("empty", None, &[("page", "3")]).await;
    assert_eq!(list["items"], json!([]));
    assert_page(&list, 3, 20, 0, 0);

    // Default page: everything, oldest first.
    let list = server.list_ok("books", None, &[]).await;
    assert_page(&list, 1, 20, 7, 1);
    assert_eq!(list["items"], json!(library.books));

    // Pages of three: 3 + 3 + 1, no overlap, in order.
    let mut seen = Vec::new();
    for (page, len) in [("1", 3), ("2", 3), ("3", 1)] {
        let list = server
            .list_ok("books", None, &[("per_page", "3"), ("page", page)])
            .await;
        assert_page(&list, page.parse().unwrap(), 3, 7, 3);
        assert_eq!(list["items"].as_array().unwrap().len(), len, "{list}");
        seen.extend(item_ids(&list));
    }
    let all: Vec<String> = library
        .books
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, all);

    // Beyond the end: no items, right totals.
    for page in ["4", "1000", "4294967295"] {
        let list = server
            .list_ok("books", None, &[("per_page", "3"), ("page", page)])
            .await;
        assert_eq!(list["items"], json!([]), "page {page}");
        assert_page(&list, page.parse().unwrap(), 3, 7, 3);
    }

    // per_page is capped at 500, and the response says so.
    for asked in ["501", "1000", "4294967295"] {
        let list = server.list_ok("books", None, &[("per_page", asked)]).await;
        assert_page(&list, 1, 500, 7, 1);
    }
    let list = server.list_ok("books", None, &[("per_page", "500")]).await;
    assert_page(&list, 1, 500, 7, 1);
    let list = server.list_ok("books", None, &[("per_page", "1")]).await;
    assert_page(&list, 1, 1, 7, 7);

    // Nonsense page numbers are 400.
    for (key, value) in [
        ("page", "0"),
        ("per_page", "0"),
        ("page", "-1"),
        ("page", "abc"),
        ("per_page", "1.5"),
        ("per_page", "4294967296"),
    ] {
        let response = server.list_records("books", None, &[(key, value)]).await;
        assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorting_on_one_or_more_keys() {
    let library = Library::new().await;
    let server = &library.server;

    // Text order is by code point: digits, then upper case, then lower case.
    assert_eq!(library.sorted("title").await, books(&[5, 4, 3, 1, 2, 6, 7]));
    assert_eq!(
        library.sorted("+title").await,
        books(&[5, 4, 3, 1, 2, 6, 7])
    );
    assert_eq!(
        library.sorted("-title").await,
        books(&[7, 6, 2, 1, 3, 4, 5])
    );
    // Several keys; absent values last when descending…
    assert_eq!(
        library.sorted("-rating,title").await,
        books(&[1, 2, 3, 6, 4, 5, 7])
    );
    assert_eq!(
        library.sorted(" -rating , -title ").await,
        books(&[1, 2, 6, 3, 4, 5, 7])
    );
    // …and first when ascending; ties keep creation order.
    assert_eq!(
        library.sorted("rating").await,
        books(&[7, 5, 4, 3, 6, 2, 1])
    );
    assert_eq!(
        library.sorted("published,-price").await,
        books(&[7, 6, 3, 5, 1, 4, 2])
    );
    assert_eq!(
        library.sorted("-released,title").await,
        books(&[1, 3, 2, 5, 4, 6, 7])
    );
    // System fields.
    assert_eq!(
        library.sorted("created_at").await,
        books(&[1, 2, 3, 4, 5, 6, 7])
    );
    assert_eq!(
        library.sorted("-created_at").await,
        books(&[7, 6, 5, 4, 3, 2, 1])
    );
    let by_id = server.list_ok("books", None, &[("sort", "id")]).await;
    let ids = item_ids(&by_id);
    let mut sorted_ids = ids.clone();
    sorted_ids.sort();
    assert_eq!(ids, sorted_ids);
    let by_id_desc = server.list_ok("books", None, &[("sort", "-id")]).await;
    sorted_ids.reverse();
    assert_eq!(item_ids(&by_id_desc), sorted_ids);
    // updated_at follows edits.
    let first = library.books[0]["id"].as_str().unwrap();
    let (status, _) = server
        .patch(
            &record_path("books", first),
            Some(&library.admin),
            json!({"note": "edited"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(library.sorted("-updated_at").await[0], TITLES[0]);
    assert_eq!(library.sorted("updated_at").await[6], TITLES[0]);

    // Sorting and paging together.
    let list = server
        .list_ok(
            "books",
            None,
            &[("sort", "-rating,title"), ("per_page", "3"), ("page", "3")],
        )
        .await;
    assert_page(&list, 3, 3, 7, 3);
    assert_eq!(titles_of(&list), books(&[7]));
    // Sorting a filtered list.
    let list = server
        .list_ok(
            "books",
            None,
            &[("sort", "-price"), ("filter", "published = true")],
        )
        .await;
    assert_eq!(titles_of(&list), books(&[1, 4, 2]));

    // Unknown, unsortable, repeated or malformed keys are 400.
    for sort in [
        "nope",
        "-nope",
        "title,nope",
        "tags",
        "title,title",
        "collection",
        "data",
        "title desc",
        "title DESC",
        ",",
        "title,",
        "--title",
    ] {
        let response = server.list_records("books", None, &[("sort", sort)]).await;
        assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_operator() {
    let library = Library::new().await;
    let server = &library.server;

    // Integers.
    assert_eq!(library.titles("rating = 3").await, books(&[3, 6]));
    assert_eq!(library.titles("rating != 3").await, books(&[1, 2, 4, 5, 7]));
    assert_eq!(library.titles("rating > 3").await, books(&[1, 2]));
    assert_eq!(library.titles("rating >= 3").await, books(&[1, 2, 3, 6]));
    assert_eq!(library.titles("rating < 2").await, books(&[5]));
    assert_eq!(library.titles("rating <= 2").await, books(&[4, 5]));
    assert_eq!(
        library.titles("rating > -1").await,
        books(&[1, 2, 3, 4, 5, 6])
    );
    assert_eq!(
        library.titles("rating>=3&&rating<5").await,
        books(&[2, 3, 6])
    );
    // Floats, with integer or decimal literals.
    assert_eq!(library.titles("price >= 10.25").await, books(&[1, 3, 4]));
    assert_eq!(library.titles("price < 10").await, books(&[2]));
    assert_eq!(library.titles("price = 25").await, books(&[3]));
    assert_eq!(library.titles("price = 25.0").await, books(&[3]));
    // Booleans.
    assert_eq!(library.titles("published = true").await, books(&[1, 2, 4]));
    assert_eq!(library.titles("published = false").await, books(&[3, 5]));
    assert_eq!(
        library.titles("published != true").await,
        books(&[3, 5, 6, 7])
    );
    // Dates and datetimes, whatever the offset.
    assert_eq!(
        library.titles("released >= '2019-01-01'").await,
        books(&[1, 3])
    );
    assert_eq!(library.titles("released < '2019-01-15'").await, books(&[2]));
    assert_eq!(
        library.titles("at > '2026-01-01T12:00:00Z'").await,
        books(&[2])
    );
    assert_eq!(
        library.titles("at = '2026-01-01T11:00:00+01:00'").await,
        books(&[1])
    );
    assert_eq!(library.titles("at < '2026-01-02'").await, books(&[1]));
    // Text: equality in either quote, containment.
    assert_eq!(library.titles("title = 'Go Basics'").await, books(&[3]));
    assert_eq!(library.titles("title = \"Go Basics\"").await, books(&[3]));
    assert_eq!(
        library.titles("title != 'Go Basics'").await,
        books(&[1, 2, 4, 5, 6, 7])
    );
    assert_eq!(library.titles("title ~ 'Rust'").await, books(&[1, 2]));
    assert_eq!(
        library.titles("title !~ 'Rust'").await,
        books(&[3, 4, 5, 6, 7])
    );
    assert_eq!(library.titles("title > 'a'").await, books(&[6, 7]));
    assert_eq!(library.titles("title <= '100% Pure'").await, books(&[4, 5]));
    // `%` and `_` are literal characters, not wildcards.
    assert_eq!(library.titles("title ~ '%'").await, books(&[4]));
    assert_eq!(library.titles("title ~ '0% P'").await, books(&[4]));
    assert_eq!(library.titles("note ~ 'a_b'").await, books(&[5]));
    assert_eq!(library.titles("note ~ '_'").await, books(&[5]));
    assert_eq!(library.titles("note ~ '%'").await, books(&[4]));
    assert_eq!(
        library.titles("note !~ '_'").await,
        books(&[1, 2, 3, 4, 6, 7])
    );
    // Backslash escapes inside strings.
    assert_eq!(
        library.titles(r"title = 'It\'s'").await,
        Vec::<String>::new()
    );
    // Lists: "some element".
    assert_eq!(library.titles("tags = 'rust'").await, books(&[1, 2]));
    assert_eq!(
        library.titles("tags != 'rust'").await,
        books(&[3, 4, 5, 6, 7])
    );
    assert_eq!(library.titles("tags ~ 'sys'").await, books(&[1]));
    // System fields.
    let third = library.books[2]["id"].as_str().unwrap();
    assert_eq!(
        library.titles(&format!("id = '{third}'")).await,
        books(&[3])
    );
    let fourth_at = library.books[3]["created_at"].as_str().unwrap();
    assert_eq!(
        library
            .titles(&format!("created_at >= '{fourth_at}'"))
            .await,
        books(&[4, 5, 6, 7])
    );
    let owner = library.books[0]["owner_id"].as_str().unwrap();
    assert_eq!(
        library.titles(&format!("owner_id = '{owner}'")).await.len(),
        7
    );
    assert!(library.titles("owner_id = null").await.is_empty());
    assert_eq!(library.titles("updated_at >= '2000-01-01'").await.len(), 7);

    // An empty filter is no filter.
    let list = server.list_ok("books", None, &[("filter", "")]).await;
    assert_eq!(list["total_items"], 7);
    let list = server.list_ok("books", None, &[("filter", "   ")]).await;
    assert_eq!(list["total_items"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omitted_fields_are_null() {
    let library = Library::new().await;
    assert_eq!(library.titles("note = null").await, books(&[2, 7]));
    assert_eq!(
        library.titles("note != null").await,
        books(&[1, 3, 4, 5, 6])
    );
    assert_eq!(library.titles("price = null").await, books(&[5, 6, 7]));
    assert_eq!(library.titles("rating = null").await, books(&[7]));
    assert_eq!(library.titles("tags = null").await, books(&[5, 6, 7]));
    // Not equal includes the missing ones; comparisons and containment never match them.
    assert_eq!(
        library.titles("note != 'classic'").await,
        books(&[2, 3, 4, 5, 6, 7])
    );
    assert_eq!(
        library.titles("rating < 100").await,
        books(&[1, 2, 3, 4, 5, 6])
    );
    assert_eq!(library.titles("note ~ ''").await, books(&[1, 3, 4, 5, 6]));
    assert_eq!(library.titles("note !~ 'o'").await, books(&[1, 2, 5, 6, 7]));

    // Removing a value by PATCH makes it null too.
    let first = library.books[0]["id"].as_str().unwrap();
    let (status, _) = library
        .server
        .patch(
            &record_path("books", first),
            Some(&library.admin),
            json!({"note": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(library.titles("note = null").await, books(&[1, 2, 7]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn and_or_and_parentheses() {
    let library = Library::new().await;
    assert_eq!(
        library
            .titles("rating >= 3 && (title ~ 'Rust' || published = false)")
            .await,
        books(&[1, 2, 3])
    );
    // `&&` binds tighter than `||`…
    assert_eq!(
        library
            .titles("published = false || rating = 5 && price > 100")
            .await,
        books(&[3, 5])
    );
    // …unless parentheses say otherwise.
    assert!(
        library
            .titles("(published = false || rating = 5) && price > 100")
            .await
            .is_empty()
    );
    assert_eq!(
        library
            .titles("((rating = 1) || ((rating = 2))) && (note ~ '%' || note ~ '_')")
            .await,
        books(&[4, 5])
    );
    assert_eq!(
        library
            .titles("rating = 1 || rating = 2 || rating = 3 || title = 'zeta'")
            .await,
        books(&[3, 4, 5, 6, 7])
    );
    assert_eq!(
        library
            .titles("rating != null && price != null && note != null && tags != null")
            .await,
        books(&[1, 3, 4])
    );
    // Something that only looks like SQL is just a string.
    assert!(
        library
            .titles(r"title = 'x\' OR \'1\'=\'1'")
            .await
            .is_empty()
    );
    assert!(
        library
            .titles("title = '; DROP TABLE records; --'")
            .await
            .is_empty()
    );
    assert_eq!(library.titles("title != 'x\" OR 1=1 --'").await.len(), 7);
}

/// Everything that a rejected query must not have changed.
#[derive(Debug, PartialEq)]
struct Snapshot {
    records: i64,
    users: i64,
    sample: Value,
    sample_row: Option<(Option<String>, String, String, String)>,
    records_table: bool,
    users_table: bool,
}

async fn snapshot(library: &Library) -> Snapshot {
    let server = &library.server;
    let id = library.books[0]["id"].as_str().unwrap();
    let (status, sample) = server.get(&record_path("books", id), None).await;
    assert_eq!(status, StatusCode::OK);
    Snapshot {
        records: server.all_records_count().await,
        users: server.user_count().await,
        sample,
        sample_row: server.raw_record(id).await,
        records_table: server.table_exists("records").await,
        users_table: server.table_exists("users").await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_hostile_filters_are_400_and_change_nothing() {
    let library = Library::new().await;
    let server = &library.server;
    let before = snapshot(&library).await;
    assert!(before.records_table && before.users_table);
    assert_eq!(before.records, 7);

    // Deep enough for the parser's depth limit, short enough for the 16 KiB URI limit.
    let deep = format!("{}rating > 1{}", "(".repeat(2_000), ")".repeat(2_000));
    let nested = format!("{}rating > 1{}", "(".repeat(40), ")".repeat(40));
    let many = vec!["rating = 1"; 101].join(" || ");
    let long = format!("title = '{}'", "x".repeat(5000));
    let filters: Vec<&str> = vec![
        // SQL fragments.
        "title = 'x' OR 1=1",
        "title = 'x' or 1=1",
        "title = 'x' AND 1=1",
        "'; DROP TABLE records; --",
        "title = ''; DROP TABLE records; --",
        "title = 'x'; DELETE FROM records",
        "title = 'x' UNION SELECT id FROM users",
        "title = 'x' -- comment",
        "title = 'x' /* comment */",
        "json_extract(data, '$.title') = 'x'",
        "title = x",
        "1 = 1",
        "title IS NULL",
        "title = 'x' ESCAPE '!'",
        "NOT title = 'x'",
        // Strings that never end.
        "title = 'unterminated",
        "title = \"unterminated",
        r"title = 'escaped end\'",
        // Unknown fields.
        "nope = 1",
        "Title = 'x'",
        "data = '{}'",
        "collection = 'books'",
        "rowid = 1",
        "collection_id = 'x'",
        // Type mismatches.
        "rating = 'five'",
        "rating = true",
        "rating = 1.5.5",
        "rating = 99999999999999999999",
        "published = 'yes'",
        "published > false",
        "released = 'yesterday'",
        "released = 2020",
        "at > 'noon'",
        "title = 5",
        "title > null",
        "rating ~ '1'",
        "tags > 'a'",
        "title = rating",
        // Structure.
        deep.as_str(),
        nested.as_str(),
        many.as_str(),
        long.as_str(),
        "()",
        "(",
        ")",
        "(rating = 1",
        "rating = 1)",
        "rating",
        "rating >",
        "rating > 1 &&",
        "rating > 1 ||",
        "&& rating > 1",
        "rating > 1 && || rating < 3",
        "rating > 1 & rating < 3",
        "rating > 1 | rating < 3",
        "rating == 1",
        "rating <> 1",
        "rating =! 1",
        "rating > 1 rating < 3",
        "!rating",
        "-",
        "title = 'a'\u{0}",
        "title = 'a' \u{7f}",
    ];
    assert!(filters.len() >= 10);
    for filter in &filters {
        let response = server
            .list_records("books", None, &[("filter", filter)])
            .await;
        let short: String = filter.chars().take(60).collect();
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{short:?}: {}",
            response.1
        );
        let error = common::assert_error(&response.1, "bad_request");
        assert!(
            error["details"]["position"].is_u64(),
            "{short:?}: no position in {}",
            response.1
        );
        // Also refused on the empty collection, and by an admin.
        let response = server
            .list_records("empty", Some(&library.admin), &[("filter", filter)])
            .await;
        assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
    }

    // Hostile sorts too.
    for sort in [
        "title; DROP TABLE records",
        "(SELECT 1)",
        "random()",
        "title COLLATE NOCASE",
        "1",
        "json_extract(data, '$.title')",
    ] {
        let response = server.list_records("books", None, &[("sort", sort)]).await;
        assert_status_error(&response, StatusCode::BAD_REQUEST, "bad_request");
    }

    assert_eq!(
        snapshot(&library).await,
        before,
        "a rejected query changed something"
    );
    let list = server.list_ok("books", None, &[]).await;
    assert_eq!(list["items"], json!(library.books));
}
