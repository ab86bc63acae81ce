//! Procedural macros for TinyBase; use them through the `tinybase` crate.
