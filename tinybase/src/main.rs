//! The stock `tinybase` server: no user functions, every built-in feature.

fn main() -> std::process::ExitCode {
    tinybase::run()
}
