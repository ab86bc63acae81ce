//! Rebuilds the crate when the embedded admin UI (built from `app/`) changes.

fn main() {
    println!("cargo:rerun-if-changed=admin-ui");
}
