//! Rendering: plain report data to text. One file per format; positions (line/column) are
//! computed here from byte ranges.

pub mod graph;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use serde::Serialize;

use crate::project::{Project, Site};

/// A 1-based position, with columns counted in characters.
#[derive(Clone, Debug, Serialize)]
pub struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub fn position(project: &Project, site: Site) -> Position {
    let (line, column) = project.line_col(site.file, site.range.start);
    let (end_line, end_column) = project.line_col(site.file, site.range.end);
    Position {
        file: project.files[site.file].source.rel.clone(),
        line,
        column,
        end_line,
        end_column,
    }
}

/// `file:line:col`, the form editors and terminals link.
pub fn short(project: &Project, site: Site) -> String {
    let p = position(project, site);
    format!("{}:{}:{}", p.file, p.line, p.column)
}
