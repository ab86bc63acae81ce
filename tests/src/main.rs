//! The app the end-to-end tests run: a user's `main`, nothing more.

fn main() -> std::process::ExitCode {
    tinybase::run()
}
