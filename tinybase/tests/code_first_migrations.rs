//! A code-first collection over restarts on one real SQLite file: a struct that gains an
//! optional field migrates the stored schema; one that makes a field required over
//! records without it stops start-up naming the field and changes nothing.
//!
//! Each version of the struct is set up explicitly with `App::code_collections`, the way
//! a new build of the program would bring its own struct.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde::{Deserialize, Serialize};
use serde_json::json;
use tinybase::collections::{Caller, NewCollection};
use tinybase::config::Settings;
use tinybase::{App, Collection, Tinybase};

mod v1 {
    use super::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, tinybase::Collection)]
    #[collection(name = "notes")]
    pub(crate) struct Note {
        #[field(min_length = 1)]
        pub(crate) text: String,
    }
}

mod v2 {
    use super::{Deserialize, Serialize};

    /// Gains an optional field and a looser rule.
    #[derive(Debug, Serialize, Deserialize, tinybase::Collection)]
    #[collection(name = "notes", list_rule = "auth")]
    pub(crate) struct Note {
        #[field(min_length = 1)]
        pub(crate) text: String,
        pub(crate) pinned: Option<bool>,
    }
}

mod v3 {
    use super::{Deserialize, Serialize};

    /// `pinned` becomes required, though stored notes lack it.
    #[derive(Debug, Serialize, Deserialize, tinybase::Collection)]
    #[collection(name = "notes", list_rule = "auth")]
    pub(crate) struct Note {
        #[field(min_length = 1)]
        pub(crate) text: String,
        pub(crate) pinned: bool,
    }
}

mod v4 {
    use super::{Deserialize, Serialize};

    /// `text` becomes a number.
    #[derive(Debug, Serialize, Deserialize, tinybase::Collection)]
    #[collection(name = "notes", list_rule = "auth")]
    pub(crate) struct Note {
        pub(crate) text: i64,
        pub(crate) pinned: Option<bool>,
    }
}

async fn start(dir: &tempfile::TempDir, declared: NewCollection) -> tinybase::Result<Tinybase> {
    let mut settings = Settings::default();
    settings.database.url = dir.path().join("notes.db").display().to_string();
    App::new(settings)
        .code_collections(vec![declared])
        .build()
        .await
}

async fn stored_schema(app: &Tinybase) -> serde_json::Value {
    serde_json::to_value(&app.collections().loaded("notes").unwrap().collection.schema).unwrap()
}

#[tokio::test]
async fn an_added_optional_field_migrates_and_a_new_required_one_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir, v1::Note::definition()).await.unwrap();
    let record = app
        .collections()
        .create_record(
            &Caller::system(),
            "notes",
            json!({"text": "remember the milk"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .await
        .unwrap();
    drop(app);

    // Restart with an optional field added: migrated, the old record still fits.
    let app = start(&dir, v2::Note::definition()).await.unwrap();
    assert_eq!(
        stored_schema(&app).await,
        json!({"fields": [
            {"name": "text", "type": "string", "required": true, "min_length": 1},
            {"name": "pinned", "type": "boolean"},
        ]})
    );
    let loaded = app.collections().loaded("notes").unwrap();
    assert_eq!(loaded.collection.options.list_rule.as_str(), "auth");
    assert!(loaded.collection.code_defined);
    let read = app
        .collections()
        .get_record(&Caller::system(), "notes", &record.id)
        .await
        .unwrap();
    let typed = tinybase::Record::<v2::Note>::from_record(read).unwrap();
    assert_eq!(typed.data.pinned, None);
    drop(app);

    // Required over a record without it: refused, named, nothing changed.
    let err = start(&dir, v3::Note::definition()).await.err().unwrap();
    let message = err.to_string();
    assert!(message.contains("`notes`"), "{message}");
    assert!(message.contains("field `pinned`"), "{message}");
    assert!(message.contains(&record.id), "{message}");
    assert!(message.contains("nothing was changed"), "{message}");

    // A type that the stored value does not fit: refused too, naming `text`.
    let err = start(&dir, v4::Note::definition()).await.err().unwrap();
    assert!(err.to_string().contains("field `text`"), "{err}");

    // The stored collection is still v2's; starting with v2 again changes nothing.
    let app = start(&dir, v2::Note::definition()).await.unwrap();
    assert_eq!(
        stored_schema(&app).await["fields"][1],
        json!({"name": "pinned", "type": "boolean"})
    );
    let outcome = app
        .collections()
        .define_collection(v2::Note::definition())
        .await
        .unwrap();
    assert_eq!(outcome, tinybase::collections::Defined::Unchanged);

    // Once every record has the field, it may become required.
    app.collections()
        .update_record(
            &Caller::system(),
            "notes",
            &record.id,
            json!({"pinned": true}).as_object().unwrap().clone(),
        )
        .await
        .unwrap();
    drop(app);
    let app = start(&dir, v3::Note::definition()).await.unwrap();
    assert_eq!(
        stored_schema(&app).await["fields"][1],
        json!({"name": "pinned", "type": "boolean", "required": true})
    );
}

#[tokio::test]
async fn a_bad_rule_in_a_declaration_stops_start_up_naming_the_collection() {
    let dir = tempfile::tempdir().unwrap();
    let mut declared = v1::Note::definition();
    declared.options.list_rule = "nonexistent_field = 1".to_owned().into();
    let err = start(&dir, declared).await.err().unwrap();
    let message = err.to_string();
    assert!(
        message.contains("code-first collection `notes`"),
        "{message}"
    );
    assert!(message.contains("list_rule"), "{message}");
}
