//! The blog's functions, one module each.

mod digest;
mod install;
mod publish;
mod stats;
// tinybase: new function modules go above this line
