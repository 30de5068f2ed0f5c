//! deployguard: prove a CI harness's deploy budget from its code.
//!
//! The library behind the `deployguard` binary, one module per pipeline stage: `discover`
//! (which files) -> `parse` -> `facts` (per file) -> `project` (index, value flow, call graph)
//! -> `checks` -> `report`/`render`; `ratchet` compares the tests of two revisions;
//! `commands` and `cli` are the command-line edge. It is a library so that the fuzz targets
//! (`fuzz/`) can drive the per-file pipeline and the config parser directly.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod discover;
pub mod facts;
pub mod fuzzing;
pub mod parse;
pub mod policy;
pub mod project;
pub mod ratchet;
pub mod render;
pub mod report;
pub mod runlog;
