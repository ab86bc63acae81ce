//! The served OpenAPI document (`/openapi.json`) and the docs page (`/docs`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One documented operation and what its document must say.
struct Expected {
    path: &'static str,
    method: &'static str,
    /// Properties the JSON request body must declare; `None` for no body.
    request: Option<&'static [&'static str]>,
    /// The success status.
    status: &'static str,
    /// Properties the JSON success body must declare; `None` for an empty response.
    response: Option<&'static [&'static str]>,
    /// Whether the operation needs a bearer token.
    secured: bool,
}

const USER: &[&str] = &[
    "id",
    "email",
    "is_admin",
    "email_verified",
    "mfa_enabled",
    "created_at",
    "updated_at",
];
const SESSION: &[&str] = &["token", "expires_at", "user"];
const CREDENTIALS: &[&str] = &["email", "password"];

const EXPECTED: &[Expected] = &[
    Expected {
        path: "/api/auth/verification/request",
        method: "post",
        request: Some(&["email"]),
        status: "204",
        response: None,
        secured: false,
    },
    Expected {
        path: "/api/auth/verification/confirm",
        method: "post",
        request: Some(&["token"]),
        status: "200",
        response: Some(USER),
        secured: false,
    },
    Expected {
        path: "/api/auth/password-reset/request",
        method: "post",
        request: Some(&["email"]),
        status: "204",
        response: None,
        secured: false,
    },
    Expected {
        path: "/api/auth/password-reset/confirm",
        method: "post",
        request: Some(&["token", "new_password"]),
        status: "204",
        response: None,
        secured: false,
    },
    Expected {
        path: "/api/auth/email-change/request",
        method: "post",
        request: Some(&["new_email"]),
        status: "204",
        response: None,
        secured: true,
    },
    Expected {
        path: "/api/auth/email-change/confirm",
        method: "post",
        request: Some(&["token"]),
        status: "200",
        response: Some(USER),
        secured: false,
    },
    Expected {
        path: "/api/auth/mfa/totp/setup",
        method: "post",
        request: None,
        status: "200",
        response: Some(&["secret", "otpauth_url"]),
        secured: true,
    },
    Expected {
        path: "/api/auth/mfa/totp/confirm",
        method: "post",
        request: Some(&["code"]),
        status: "200",
        response: Some(USER),
        secured: true,
    },
    Expected {
        path: "/api/auth/mfa/recovery-codes",
        method: "post",
        request: None,
        status: "200",
        response: Some(&["codes"]),
        secured: true,
    },
    Expected {
        path: "/api/auth/mfa/verify",
        method: "post",
        request: Some(&["mfa_token", "code"]),
        status: "200",
        response: Some(SESSION),
        secured: false,
    },
    Expected {
        path: "/api/auth/oauth2/exchange",
        method: "post",
        request: Some(&["code"]),
        status: "200",
        response: Some(SESSION),
        secured: false,
    },
    Expected {
        path: "/api/auth/oauth2/identities/{provider}",
        method: "delete",
        request: None,
        status: "204",
        response: None,
        secured: true,
    },
    Expected {
        path: "/api/admin/users/{id}/verification",
        method: "post",
        request: None,
        status: "204",
        response: None,
        secured: true,
    },
    Expected {
        path: "/api/admin/users/{id}/mfa",
        method: "delete",
        request: None,
        status: "200",
        response: Some(USER),
        secured: true,
    },
    Expected {
        path: "/api/health",
        method: "get",
        request: None,
        status: "200",
        response: Some(&["status", "version"]),
        secured: false,
    },
    Expected {
        path: "/api/auth/register",
        method: "post",
        request: Some(CREDENTIALS),
        status: "201",
        response: Some(SESSION),
        secured: false,
    },
    Expected {
        path: "/api/auth/login",
        method: "post",
        request: Some(CREDENTIALS),
        status: "200",
        response: Some(SESSION),
        secured: false,
    },
    Expected {
        path: "/api/auth/logout",
        method: "post",
        request: None,
        status: "204",
        response: None,
        secured: true,
    },
    Expected {
        path: "/api/auth/me",
        method: "get",
        request: None,
        status: "200",
        response: Some(USER),
        secured: true,
    },
    Expected {
        path: "/api/admin/users",
        method: "get",
        request: None,
        status: "200",
        response: Some(&["items", "page", "per_page", "total_items", "total_pages"]),
        secured: true,
    },
    Expected {
        path: "/api/admin/users",
        method: "post",
        request: Some(&["email", "password", "is_admin", "email_verified"]),
        status: "201",
        response: Some(USER),
        secured: true,
    },
    Expected {
        path: "/api/admin/users/{id}",
        method: "get",
        request: None,
        status: "200",
        response: Some(USER),
        secured: true,
    },
    Expected {
        path: "/api/admin/users/{id}",
        method: "patch",
        request: Some(&["email", "password", "is_admin", "email_verified"]),
        status: "200",
        response: Some(USER),
        secured: true,
    },
    Expected {
        path: "/api/admin/users/{id}",
        method: "delete",
        request: None,
        status: "204",
        response: None,
        secured: true,
    },
];

async fn fetch_document(server: &TestServer) -> Value {
    let response = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).expect("the document is valid JSON")
}

/// Follows a `$ref` into `components.schemas` (asserting the target exists), or returns the
/// schema itself when it is inline.
#[track_caller]
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    // schemars wraps a described reference as `{"allOf": [{"$ref": ...}], "description"}`.
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return resolve(doc, only);
    }
    let Some(reference) = schema.get("$ref") else {
        return schema;
    };
    let reference = reference.as_str().expect("$ref is a string");
    let name = reference
        .strip_prefix("#/components/schemas/")
        .unwrap_or_else(|| panic!("$ref outside components.schemas: {reference}"));
    let target = &doc["components"]["schemas"][name];
    assert!(
        target.is_object(),
        "{reference} names no schema in components.schemas"
    );
    resolve(doc, target)
}

/// The JSON schema of a `content` map, resolved.
#[track_caller]
fn json_schema<'a>(doc: &'a Value, holder: &'a Value, what: &str) -> &'a Value {
    let schema = &holder["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{what}: no application/json schema in {holder}"
    );
    resolve(doc, schema)
}

#[track_caller]
fn assert_properties(schema: &Value, expected: &[&str], what: &str) {
    let properties = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: schema has no properties: {schema}"));
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(names, want, "{what}: properties");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_users_see_linked_providers_in_one_item_shape() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    let schema = |path: &str| {
        doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            .clone()
    };
    let admin = schema("/api/admin/users/{id}/identities");
    assert_eq!(admin["type"], "array", "{admin}");
    assert_eq!(admin, schema("/api/auth/oauth2/identities"));
    assert_properties(
        resolve(&doc, &admin["items"]),
        &["provider", "email", "created_at"],
        "identities",
    );
    let security = &doc["paths"]["/api/admin/users/{id}/identities"]["get"]["security"];
    assert_eq!(security, &json!([{"bearer": []}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_openapi_3_1_with_info_and_bearer_scheme() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "TinyBase API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    // The document and the docs page are not themselves listed.
    let paths = doc["paths"].as_object().expect("paths");
    assert!(!paths.contains_key("/openapi.json"));
    assert!(!paths.contains_key("/docs"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_is_documented_with_its_schemas() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;

    for expected in EXPECTED {
        let what = format!("{} {}", expected.method, expected.path);
        let operation = &doc["paths"][expected.path][expected.method];
        assert!(operation.is_object(), "{what} is not documented");

        match expected.request {
            Some(properties) => {
                let body = &operation["requestBody"];
                assert!(body.is_object(), "{what}: no requestBody");
                assert_eq!(body["required"], true, "{what}: body not required");
                let schema = json_schema(&doc, body, &what);
                assert_eq!(schema["type"], "object", "{what}: {schema}");
                assert_properties(schema, properties, &what);
            }
            None => assert!(
                operation.get("requestBody").is_none(),
                "{what}: unexpected requestBody"
            ),
        }

        let responses = operation["responses"].as_object().expect("responses");
        let success: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
        assert_eq!(
            success,
            [expected.status],
            "{what}: success responses {responses:?}"
        );
        let response = &responses[expected.status];
        match expected.response {
            Some(properties) => {
                let schema = json_schema(&doc, response, &what);
                assert_properties(schema, properties, &what);
            }
            None => assert!(
                response.get("content").is_none(),
                "{what}: a {} has no body",
                expected.status
            ),
        }

        let security = operation.get("security").cloned().unwrap_or(Value::Null);
        if expected.secured {
            let requirements = security.as_array().expect("security is a list");
            assert!(
                requirements.iter().any(|r| r.get("bearer").is_some()),
                "{what}: no bearer requirement in {security}"
            );
            for requirement in requirements {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(
                        doc["components"]["securitySchemes"][scheme].is_object(),
                        "{what}: undefined scheme {scheme}"
                    );
                }
            }
        } else {
            assert!(
                security.is_null() || security == Value::Array(Vec::new()),
                "{what}: a public route must not require a token: {security}"
            );
        }
    }
}

/// The document's own structure for users: shared schemas, required request fields,
/// parameters and the error envelope. (What the server really sends is checked against
/// the document in `real_responses_match_the_documented_schemas`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_schemas_parameters_and_envelope_are_declared_consistently() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;

    // A user has exactly the public fields (never a password); timestamps are date-times.
    let user = resolve(
        &doc,
        &doc["paths"]["/api/auth/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
    );
    assert_properties(user, USER, "User");
    assert_eq!(user["properties"]["created_at"]["format"], "date-time");
    assert_eq!(user["properties"]["is_admin"]["type"], "boolean");

    // The session's user is that same schema; the list's items are users.
    let session = json_schema(
        &doc,
        &doc["paths"]["/api/auth/login"]["post"]["responses"]["200"],
        "login",
    );
    assert_eq!(resolve(&doc, &session["properties"]["user"]), user);
    let page = json_schema(
        &doc,
        &doc["paths"]["/api/admin/users"]["get"]["responses"]["200"],
        "list",
    );
    assert_eq!(page["properties"]["items"]["type"], "array");
    assert_eq!(resolve(&doc, &page["properties"]["items"]["items"]), user);

    // The required request fields are the ones the server insists on.
    let credentials = json_schema(
        &doc,
        &doc["paths"]["/api/auth/register"]["post"]["requestBody"],
        "register",
    );
    let mut required: Vec<&str> = credentials["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["email", "password"]);
    let update = json_schema(
        &doc,
        &doc["paths"]["/api/admin/users/{id}"]["patch"]["requestBody"],
        "patch",
    );
    assert!(
        update["required"].as_array().is_none_or(|r| r.is_empty()),
        "every PATCH field is optional: {update}"
    );

    // The list's query parameters and the id path parameter are declared.
    let parameters = doc["paths"]["/api/admin/users"]["get"]["parameters"]
        .as_array()
        .expect("list parameters");
    let mut names: Vec<(&str, &str)> = parameters
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            ("page", "query"),
            ("per_page", "query"),
            ("search", "query")
        ]
    );
    for method in ["get", "patch", "delete"] {
        let parameters = doc["paths"]["/api/admin/users/{id}"][method]["parameters"]
            .as_array()
            .expect("id parameter");
        assert_eq!(parameters.len(), 1, "{method}");
        assert_eq!(parameters[0]["name"], "id");
        assert_eq!(parameters[0]["in"], "path");
        assert_eq!(parameters[0]["required"], true);
    }

    // The error envelope is a documented component.
    let envelope = json_schema(
        &doc,
        &doc["paths"]["/api/auth/login"]["post"]["responses"]["default"],
        "login error",
    );
    assert_properties(envelope, &["error"], "ErrorEnvelope");
    let body = resolve(&doc, &envelope["properties"]["error"]);
    assert_properties(body, &["code", "message", "details"], "ErrorBody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secured_operation_documents_the_error_envelope() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    for expected in EXPECTED.iter().filter(|e| e.secured) {
        let responses = &doc["paths"][expected.path][expected.method]["responses"];
        let error = responses
            .get("default")
            .or_else(|| responses.get("401"))
            .unwrap_or_else(|| {
                panic!(
                    "{} {}: no error response in {responses}",
                    expected.method, expected.path
                )
            });
        let envelope = json_schema(&doc, error, expected.path);
        assert_properties(envelope, &["error"], expected.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_is_html_pointing_at_the_document() {
    let server = TestServer::start().await;
    let response = server.client.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html"), "not an HTML page");
    assert!(
        html.contains("/openapi.json"),
        "the page does not load the document"
    );
    assert!(html.contains("TinyBase API"));
    // The reference UI is bundled: no script is loaded from elsewhere.
    assert!(!html.contains("src=\"http"), "external script in /docs");
}

/// The record paths a document lists, by collection name.
fn documented_collections(doc: &Value) -> Vec<String> {
    let mut names: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|path| {
            path.strip_prefix("/api/collections/")?
                .strip_suffix("/records")
                .filter(|name| *name != "{name}")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_sees_only_the_collections_it_may_list_or_view() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let (user, _) = server
        .register("reader@example.com", "reader-password")
        .await;
    for (name, list_rule, view_rule) in [
        ("open", "public", "public"),
        ("viewable", "admin", "public"),
        ("members", "auth", "auth"),
        ("mine", "owner", "owner"),
        ("secret", "admin", "admin"),
    ] {
        server
            .create_collection(
                &admin,
                serde_json::json!({
                    "name": name,
                    "schema": {"fields": [{"name": format!("{name}_field"), "type": "string"}]},
                    "options": {"list_rule": list_rule, "view_rule": view_rule},
                }),
            )
            .await;
    }
    let seen = |token: Option<String>| {
        let server = &server;
        async move {
            let (status, doc) = server.get("/openapi.json", token.as_deref()).await;
            assert_eq!(status, StatusCode::OK);
            doc
        }
    };
    let anonymous = seen(None).await;
    assert_eq!(documented_collections(&anonymous), ["open", "viewable"]);
    let schemas = anonymous["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("OpenData"));
    assert!(
        !schemas
            .keys()
            .any(|k| k.starts_with("Secret") || k.starts_with("Members")),
        "{:?}",
        schemas.keys().collect::<Vec<_>>()
    );
    assert!(
        !anonymous.to_string().contains("secret_field"),
        "an admin-only field leaked"
    );
    let signed_in = seen(Some(user)).await;
    assert_eq!(
        documented_collections(&signed_in),
        ["members", "mine", "open", "viewable"]
    );
    assert!(!signed_in.to_string().contains("secret_field"));
    let everything = seen(Some(admin.clone())).await;
    assert_eq!(
        documented_collections(&everything),
        ["members", "mine", "open", "secret", "viewable"]
    );
    // The routes themselves are the same for everyone.
    assert_eq!(
        anonymous["paths"]["/api/auth/login"],
        everything["paths"]["/api/auth/login"]
    );

    // Visibility follows rule changes at once.
    server
        .patch_collection(
            &admin,
            "secret",
            serde_json::json!({"options": {"list_rule": "public", "view_rule": "admin"}}),
        )
        .await;
    assert!(documented_collections(&seen(None).await).contains(&"secret".to_owned()));
    // A bad token is refused rather than treated as anonymous.
    let (status, _) = server.get("/openapi.json", Some("tb_not_a_token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_runs_only_its_own_scripts() {
    let server = TestServer::start().await;
    let response = server.client.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response
        .headers()
        .get("content-security-policy")
        .expect("a Content-Security-Policy on /docs")
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let directives: BTreeMap<&str, Vec<&str>> = csp
        .split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            Some((words.next()?, words.collect()))
        })
        .collect();
    assert_eq!(directives["default-src"], ["'none'"], "{csp}");
    assert_eq!(directives["frame-ancestors"], ["'none'"], "{csp}");
    assert_eq!(directives["base-uri"], ["'none'"], "{csp}");
    assert_eq!(directives["connect-src"], ["'self'"], "{csp}");
    // Scripts: hashes only, no blanket allowances.
    let scripts = &directives["script-src"];
    assert!(scripts.iter().all(|s| s.starts_with("'sha256-")), "{csp}");
    // Each inline script of the served page is allowed by its hash: the page still works.
    let mut rest = html.as_str();
    let mut inline = 0;
    while let Some(start) = rest.find("<script") {
        let tag_end = start + rest[start..].find('>').unwrap();
        let end = tag_end + rest[tag_end..].find("</script>").unwrap();
        assert!(!rest[start..tag_end].contains("src="), "an external script");
        let body = &rest[tag_end + 1..end];
        let hash = base64::engine::general_purpose::STANDARD
            .encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
        assert!(
            scripts.contains(&format!("'sha256-{hash}'").as_str()),
            "script {inline} of /docs is not allowed by {csp}"
        );
        inline += 1;
        rest = &rest[end..];
    }
    assert_eq!(
        inline,
        scripts.len(),
        "the policy allows scripts the page lacks"
    );
    assert!(
        inline >= 2,
        "the page has no inline scripts any more: {html:.200}"
    );
}
