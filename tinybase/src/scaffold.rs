//! `new fn NAME`, `new hook NAME` and `new collection NAME`: write a function, hook or
//! code-first collection module from a template and wire it into the app.
//!
//! Works on the user's crate in the working directory: creates `src/functions/NAME.rs`
//! (or `src/hooks/NAME.rs`), adds `mod NAME;` to that folder's `mod.rs` (creating it if
//! needed) and `mod functions;` (or `mod hooks;`) to `src/main.rs`. Everything is checked before anything is written, so a refused
//! request changes nothing.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

const FUNCTION_TEMPLATE: &str = include_str!("../templates/function.rs.tmpl");
const FUNCTIONS_MOD_TEMPLATE: &str = include_str!("../templates/functions_mod.rs.tmpl");
const HOOK_TEMPLATE: &str = include_str!("../templates/hook.rs.tmpl");
const HOOKS_MOD_TEMPLATE: &str = include_str!("../templates/hooks_mod.rs.tmpl");
const COLLECTION_TEMPLATE: &str = include_str!("../templates/collection.rs.tmpl");
const COLLECTIONS_MOD_TEMPLATE: &str = include_str!("../templates/collections_mod.rs.tmpl");
/// The line in `src/collections/mod.rs` above which new modules are added.
const COLLECTION_MOD_MARKER: &str = "// tinybase: new collection modules go above this line";
/// The line in `src/functions/mod.rs` above which new modules are added.
const MOD_MARKER: &str = "// tinybase: new function modules go above this line";
/// The line in `src/hooks/mod.rs` above which new modules are added.
const HOOK_MOD_MARKER: &str = "// tinybase: new hook modules go above this line";

/// Rust keywords, which cannot name a module or function.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// A file the scaffolder writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedFile {
    /// Where, relative to the crate root.
    pub(crate) path: PathBuf,
    /// The full new contents.
    pub(crate) contents: String,
    /// Whether the file exists already (and is being changed).
    pub(crate) existed: bool,
}

/// Works out the files `new fn name` writes in the crate at `root`, without writing.
///
/// # Errors
/// 422 for a bad name; 400 when `root` is not a crate with `src/main.rs`; 409 when the
/// function's module already exists.
pub(crate) fn plan_function(
    root: &Path,
    name: &str,
    description: Option<&str>,
) -> Result<Vec<PlannedFile>> {
    check_name(name)?;
    let description = description.map(str::trim).filter(|d| !d.is_empty());
    let contents = render(FUNCTION_TEMPLATE, name).replace(
        "{{description}}",
        &doc_comment(description.unwrap_or(DEFAULT_DESCRIPTION)),
    );
    plan_module(
        root,
        name,
        contents,
        &Folder {
            name: "functions",
            command: "new fn",
            mod_template: FUNCTIONS_MOD_TEMPLATE,
            marker: MOD_MARKER,
        },
    )
}

/// Works out the files `new hook name` writes in the crate at `root`: a `before_create`
/// hook on `collection`, without writing.
///
/// # Errors
/// As for [`plan_function`], and 422 for a bad collection name.
pub(crate) fn plan_hook(root: &Path, name: &str, collection: &str) -> Result<Vec<PlannedFile>> {
    check_name(name)?;
    check_name(collection).map_err(|_| {
        Error::invalid_field(
            "collection",
            "must start with a lower-case letter and contain only a-z, 0-9 and _, e.g. posts",
        )
    })?;
    let contents = render(HOOK_TEMPLATE, name).replace("{{collection}}", collection);
    plan_module(
        root,
        name,
        contents,
        &Folder {
            name: "hooks",
            command: "new hook",
            mod_template: HOOKS_MOD_TEMPLATE,
            marker: HOOK_MOD_MARKER,
        },
    )
}

/// Works out the files `new collection name` writes in the crate at `root`: a struct
/// deriving `tinybase::Collection` for the collection `name`, without writing.
///
/// # Errors
/// As for [`plan_function`].
pub(crate) fn plan_collection(root: &Path, name: &str) -> Result<Vec<PlannedFile>> {
    check_name(name)?;
    plan_module(
        root,
        name,
        render(COLLECTION_TEMPLATE, name),
        &Folder {
            name: "collections",
            command: "new collection",
            mod_template: COLLECTIONS_MOD_TEMPLATE,
            marker: COLLECTION_MOD_MARKER,
        },
    )
}

/// Where a kind of scaffolded module lives.
struct Folder {
    /// The folder under `src/` and the module `main.rs` declares.
    name: &'static str,
    /// The command, for messages.
    command: &'static str,
    /// The folder's `mod.rs` when it has none yet.
    mod_template: &'static str,
    /// The line in `mod.rs` above which modules are added.
    marker: &'static str,
}

fn plan_module(
    root: &Path,
    name: &str,
    contents: String,
    folder: &Folder,
) -> Result<Vec<PlannedFile>> {
    let main = root.join("src/main.rs");
    if !root.join("Cargo.toml").is_file() || !main.is_file() {
        return Err(Error::bad_request(format!(
            "{} is not a binary crate (no Cargo.toml and src/main.rs); run `{}` in your app's folder",
            root.display(),
            folder.command
        )));
    }
    let module = PathBuf::from(format!("src/{}/{name}.rs", folder.name));
    if root.join(&module).exists() {
        return Err(Error::conflict(format!(
            "{} already exists",
            module.display()
        )));
    }
    let mut plan = vec![PlannedFile {
        path: module,
        contents,
        existed: false,
    }];

    let mod_path = PathBuf::from(format!("src/{}/mod.rs", folder.name));
    let (mod_source, mod_existed) = match std::fs::read_to_string(root.join(&mod_path)) {
        Ok(text) => (text, true),
        Err(_) => (folder.mod_template.to_owned(), false),
    };
    plan.push(PlannedFile {
        contents: add_line_above_marker(&mod_source, folder.marker, &format!("mod {name};")),
        path: mod_path,
        existed: mod_existed,
    });

    let main_source = std::fs::read_to_string(&main)?;
    if !declares_module(&main_source, folder.name) {
        plan.push(PlannedFile {
            path: PathBuf::from("src/main.rs"),
            contents: add_module_declaration(&main_source, folder.name),
            existed: true,
        });
    }
    Ok(plan)
}

/// Writes a plan made by [`plan_function`].
///
/// # Errors
/// An I/O error naming the file.
pub(crate) fn write_plan(root: &Path, plan: &[PlannedFile]) -> Result<()> {
    for file in plan {
        let path = root.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &file.contents)
            .map_err(|err| Error::internal(format!("cannot write {}: {err}", path.display())))?;
    }
    Ok(())
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    if !well_formed {
        return Err(Error::invalid_field(
            "name",
            "must start with a lower-case letter and contain only a-z, 0-9 and _ \
             (at most 63 characters), e.g. add_numbers",
        ));
    }
    if KEYWORDS.contains(&name) {
        return Err(Error::invalid_field(
            "name",
            format!("`{name}` is a Rust keyword; pick another name"),
        ));
    }
    Ok(())
}

/// The description a new function gets when none is given.
const DEFAULT_DESCRIPTION: &str =
    "Greets someone. This comment is the function's description in the API docs.";

/// `text` as `///` doc-comment lines (blank lines stay blank comment lines).
fn doc_comment(text: &str) -> String {
    text.lines()
        .map(|line| match line.trim_end() {
            "" => "///".to_owned(),
            line => format!("/// {line}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fills `{{name}}` and `{{Name}}` (PascalCase) in a template.
fn render(template: &str, name: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{Name}}", &pascal_case(name))
}

fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn add_line_above_marker(source: &str, marker: &str, line: &str) -> String {
    match source.find(marker) {
        Some(at) => format!("{}{line}\n{}", &source[..at], &source[at..]),
        None => {
            let separator = if source.ends_with('\n') || source.is_empty() {
                ""
            } else {
                "\n"
            };
            format!("{source}{separator}{line}\n")
        }
    }
}

fn declares_module(source: &str, module: &str) -> bool {
    source.lines().any(|line| {
        let line = line.trim();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        line == format!("mod {module};")
    })
}

/// Adds `mod module;` after the file's leading inner doc comments and attributes.
fn add_module_declaration(source: &str, module: &str) -> String {
    let mut insert_at = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//!") || trimmed.starts_with("#![") {
            insert_at += line.len();
        } else {
            break;
        }
    }
    let (head, tail) = source.split_at(insert_at);
    let blank = if head.is_empty() { "" } else { "\n" };
    format!(
        "{head}{blank}mod {module};\n\n{}",
        tail.trim_start_matches('\n')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(main: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"myapp\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), main).unwrap();
        dir
    }

    const MAIN: &str = "fn main() -> std::process::ExitCode {\n    tinybase::run()\n}\n";

    #[test]
    fn a_hook_gets_its_own_module_tree() {
        let dir = app(MAIN);
        write_plan(
            dir.path(),
            &plan_function(dir.path(), "greet", None).unwrap(),
        )
        .unwrap();
        let plan = plan_hook(dir.path(), "fill_slug", "posts").unwrap();
        let paths: Vec<_> = plan.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(
            paths,
            ["src/hooks/fill_slug.rs", "src/hooks/mod.rs", "src/main.rs"]
        );
        assert!(plan[0].contents.contains(
            "#[tinybase::hook(collection = \"posts\", event = \"before_create\")]\nfn fill_slug("
        ));
        assert!(
            plan[1]
                .contents
                .contains("mod fill_slug;\n// tinybase: new hook modules")
        );
        assert!(
            plan[2].contents.contains("mod hooks;") && plan[2].contents.contains("mod functions;")
        );
        write_plan(dir.path(), &plan).unwrap();
        assert!(plan_hook(dir.path(), "fill_slug", "posts").is_err());
        assert!(plan_hook(dir.path(), "other", "Bad-Name").is_err());
    }

    #[test]
    fn a_collection_gets_a_struct_and_its_module_tree() {
        let dir = app(MAIN);
        let plan = plan_collection(dir.path(), "blog_posts").unwrap();
        let paths: Vec<_> = plan.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "src/collections/blog_posts.rs",
                "src/collections/mod.rs",
                "src/main.rs"
            ]
        );
        assert!(plan[0].contents.contains("name = \"blog_posts\""));
        assert!(plan[0].contents.contains("pub struct BlogPosts {"));
        assert!(!plan[0].contents.contains("{{"));
        assert!(
            plan[1]
                .contents
                .contains("mod blog_posts;\n// tinybase: new collection modules")
        );
        assert!(plan[2].contents.starts_with("mod collections;\n"));
        write_plan(dir.path(), &plan).unwrap();
        assert_eq!(
            plan_collection(dir.path(), "blog_posts")
                .unwrap_err()
                .kind(),
            crate::ErrorKind::Conflict
        );
        assert_eq!(
            plan_collection(dir.path(), "Posts").unwrap_err().kind(),
            crate::ErrorKind::Validation
        );
    }

    #[test]
    fn first_function_creates_module_tree_and_wires_main() {
        let dir = app(MAIN);
        let plan = plan_function(dir.path(), "add_numbers", None).unwrap();
        write_plan(dir.path(), &plan).unwrap();

        let module =
            std::fs::read_to_string(dir.path().join("src/functions/add_numbers.rs")).unwrap();
        assert!(module.contains("/// Greets someone."), "{module}");
        assert!(!module.contains("{{"), "{module}");
        assert!(module.contains("pub struct AddNumbersInput"));
        assert!(module.contains("async fn add_numbers(ctx: Context, input: AddNumbersInput)"));
        assert!(!module.contains("{{"));

        let mods = std::fs::read_to_string(dir.path().join("src/functions/mod.rs")).unwrap();
        assert!(
            mods.contains("mod add_numbers;\n// tinybase: new function modules go above this line"),
            "{mods}"
        );

        let main = std::fs::read_to_string(dir.path().join("src/main.rs")).unwrap();
        assert_eq!(main, format!("mod functions;\n\n{MAIN}"));
    }

    #[test]
    fn second_function_adds_one_line_and_leaves_main_alone() {
        let dir = app(MAIN);
        write_plan(
            dir.path(),
            &plan_function(dir.path(), "first", None).unwrap(),
        )
        .unwrap();
        let main_before = std::fs::read_to_string(dir.path().join("src/main.rs")).unwrap();
        let plan = plan_function(dir.path(), "second", None).unwrap();
        assert_eq!(plan.len(), 2, "main.rs already declares the module");
        write_plan(dir.path(), &plan).unwrap();
        let mods = std::fs::read_to_string(dir.path().join("src/functions/mod.rs")).unwrap();
        assert!(
            mods.contains("mod first;\nmod second;\n// tinybase:"),
            "{mods}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/main.rs")).unwrap(),
            main_before
        );
    }

    #[test]
    fn main_with_inner_docs_keeps_them_first() {
        let main = "//! My app.\n#![forbid(unsafe_code)]\n\nfn main() {}\n";
        let dir = app(main);
        let plan = plan_function(dir.path(), "greet", None).unwrap();
        let new_main = &plan
            .iter()
            .find(|f| f.path.ends_with("main.rs"))
            .unwrap()
            .contents;
        assert_eq!(
            new_main,
            "//! My app.\n#![forbid(unsafe_code)]\n\nmod functions;\n\nfn main() {}\n"
        );
    }

    #[test]
    fn a_description_becomes_the_doc_comment() {
        let dir = app(MAIN);
        let plan = plan_function(
            dir.path(),
            "add_numbers",
            Some("Adds two numbers.\n\nBoth must be integers."),
        )
        .unwrap();
        let module = &plan[0].contents;
        assert!(
            module.contains(
                "/// Adds two numbers.\n///\n/// Both must be integers.\n///\n/// `auth` says"
            ),
            "{module}"
        );
        assert!(!module.contains("Greets someone"), "{module}");
        // A blank description is no description.
        let plan = plan_function(dir.path(), "add_numbers", Some("  ")).unwrap();
        assert!(plan[0].contents.contains("/// Greets someone."));
    }

    #[test]
    fn refusals_change_nothing() {
        let dir = app(MAIN);
        for bad in [
            "",
            "Greet",
            "2fast",
            "with-dash",
            "fn",
            "match",
            &"a".repeat(64),
        ] {
            let err = plan_function(dir.path(), bad, None).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Validation, "{bad}");
        }
        write_plan(
            dir.path(),
            &plan_function(dir.path(), "greet", None).unwrap(),
        )
        .unwrap();
        let err = plan_function(dir.path(), "greet", None).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);

        let empty = tempfile::tempdir().unwrap();
        let err = plan_function(empty.path(), "greet", None).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
        assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none());
    }
}
