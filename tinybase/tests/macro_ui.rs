//! Compile errors of TinyBase's macros (`#[tinybase::function]`, `#[tinybase::hook]`,
//! `#[derive(tinybase::Collection)]` and `#[derive(tinybase::Select)]`, the `derive_*`
//! files): one misuse per file in `tests/ui/`, each with the exact message it must
//! produce. Regenerate with `TRYBUILD=overwrite` and read them.

#[test]
fn misuse_fails_with_a_helpful_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
