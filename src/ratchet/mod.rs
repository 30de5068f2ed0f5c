//! The test ratchet (`deployguard ratchet`): no test quietly weakened between two revisions.
//!
//! Read both revisions (git or two directories) -> extract the tests of the files that
//! changed (Python with tree-sitter, Rust with syn) and what pytest collects -> match tests
//! across the revisions (by id, then by body similarity for moves and renames) -> compare
//! each pair and the collection configuration -> findings DG010-DG018, minus waivers.

pub mod base;
pub mod collect;
pub mod compare;
pub mod git;
pub mod model;
pub mod python_tests;
pub mod rules;
pub mod run;
pub mod rust_tests;
pub mod suite;
