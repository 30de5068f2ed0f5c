//! The analyzed project: every file's facts, the module table, and ids for functions and
//! classes. Built once from per-file facts; name resolution and the call graph live in
//! `values` and `graph`.

mod graph;
mod values;

use std::collections::HashMap;

use rayon::prelude::*;

pub use graph::{CallGraph, Edge, EdgeKind, Limits, Site};
pub use values::{Evaluator, Target, Val, ValSet};

use crate::discover::SourceFile;
use crate::facts::{FileFacts, Scope, ScopeIdx, ScopeKind, extract};

pub type FileIdx = usize;
/// A function-like scope: a module's top level, a function, a method or a lambda.
pub type FuncId = usize;
pub type ClassId = usize;

pub struct ProjectFile {
    pub source: SourceFile,
    pub text: Vec<u8>,
    pub facts: FileFacts,
    /// Byte offset of the start of each line, for rendering.
    pub line_starts: Vec<u32>,
    /// The file's size when it was over the policy's `max-file-size` and so not read: its
    /// facts are empty, and DG009 reports it.
    pub too_large: Option<u64>,
}

pub struct FuncInfo {
    pub file: FileIdx,
    pub scope: ScopeIdx,
    /// `harness.lifecycle.deploy_app`, `harness.deps` for a module's top level.
    pub qualname: String,
    /// The class a method is defined in.
    pub class: Option<ClassId>,
}

pub struct ClassInfo {
    pub file: FileIdx,
    pub scope: ScopeIdx,
}

pub struct Project {
    pub files: Vec<ProjectFile>,
    pub modules: HashMap<String, FileIdx>,
    pub funcs: Vec<FuncInfo>,
    pub classes: Vec<ClassInfo>,
    /// (file, scope) -> function id, for function-like scopes.
    func_of_scope: HashMap<(FileIdx, ScopeIdx), FuncId>,
    class_of_scope: HashMap<(FileIdx, ScopeIdx), ClassId>,
    /// (file, scope) -> name -> binding indices.
    bindings: Vec<Vec<HashMap<String, Vec<usize>>>>,
}

/// A source file that could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReadError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

impl ProjectFile {
    /// Extracts one file's facts from its text.
    pub fn new(source: SourceFile, text: Vec<u8>) -> ProjectFile {
        let facts = extract(&text);
        let line_starts = line_starts(&text);
        ProjectFile {
            source,
            text,
            facts,
            line_starts,
            too_large: None,
        }
    }

    /// A file left unread because it is `size` bytes, over the size limit.
    pub fn too_large(source: SourceFile, size: u64) -> ProjectFile {
        let mut file = ProjectFile::new(source, Vec::new());
        file.too_large = Some(size);
        file
    }
}

impl Project {
    /// Reads and extracts every file in parallel, then indexes them on one thread. Files over
    /// `max_file_size` bytes are not read (see [`ProjectFile::too_large`]).
    pub fn load(sources: Vec<SourceFile>, max_file_size: u64) -> Result<Project, ReadError> {
        let files: Vec<ProjectFile> = sources
            .into_par_iter()
            .map(|source| {
                let read_error = |e| ReadError {
                    path: source.path.clone(),
                    source: e,
                };
                let size = std::fs::metadata(&source.path).map_err(read_error)?.len();
                if size > max_file_size {
                    return Ok(ProjectFile::too_large(source, size));
                }
                let text = std::fs::read(&source.path).map_err(read_error)?;
                Ok(ProjectFile::new(source, text))
            })
            .collect::<Result<_, ReadError>>()?;
        Ok(Project::index(files))
    }

    pub fn index(files: Vec<ProjectFile>) -> Project {
        let mut project = Project {
            modules: HashMap::new(),
            funcs: Vec::new(),
            classes: Vec::new(),
            func_of_scope: HashMap::new(),
            class_of_scope: HashMap::new(),
            bindings: Vec::new(),
            files,
        };
        for (file_idx, file) in project.files.iter().enumerate() {
            // The first file wins when two files claim one module name.
            project
                .modules
                .entry(file.source.module.clone())
                .or_insert(file_idx);
            let module = &file.source.module;
            let mut file_bindings = Vec::with_capacity(file.facts.scopes.len());
            for (scope_idx, scope) in file.facts.scopes.iter().enumerate() {
                let qualname = match (module.is_empty(), scope.qualname.is_empty()) {
                    (_, true) => module.clone(),
                    (true, false) => scope.qualname.clone(),
                    (false, false) => format!("{module}.{}", scope.qualname),
                };
                if scope.kind == ScopeKind::Class {
                    project
                        .class_of_scope
                        .insert((file_idx, scope_idx), project.classes.len());
                    project.classes.push(ClassInfo {
                        file: file_idx,
                        scope: scope_idx,
                    });
                } else {
                    project
                        .func_of_scope
                        .insert((file_idx, scope_idx), project.funcs.len());
                    project.funcs.push(FuncInfo {
                        file: file_idx,
                        scope: scope_idx,
                        qualname,
                        class: None,
                    });
                }
                let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
                for (i, binding) in scope.bindings.iter().enumerate() {
                    by_name.entry(binding.name.clone()).or_default().push(i);
                }
                file_bindings.push(by_name);
            }
            project.bindings.push(file_bindings);
        }
        for func in 0..project.funcs.len() {
            let FuncInfo { file, scope, .. } = project.funcs[func];
            let parent = project.scope(file, scope).parent;
            if let Some(parent) = parent {
                project.funcs[func].class = project.class_of_scope.get(&(file, parent)).copied();
            }
        }
        project
    }

    pub fn scope(&self, file: FileIdx, scope: ScopeIdx) -> &Scope {
        &self.files[file].facts.scopes[scope]
    }

    pub fn func_scope(&self, func: FuncId) -> &Scope {
        let info = &self.funcs[func];
        self.scope(info.file, info.scope)
    }

    pub fn func_of_scope(&self, file: FileIdx, scope: ScopeIdx) -> Option<FuncId> {
        self.func_of_scope.get(&(file, scope)).copied()
    }

    pub fn class_of_scope(&self, file: FileIdx, scope: ScopeIdx) -> Option<ClassId> {
        self.class_of_scope.get(&(file, scope)).copied()
    }

    /// The function whose execution runs code in this scope: class bodies run when the
    /// enclosing function (or module) runs.
    pub fn executing_func(&self, file: FileIdx, mut scope: ScopeIdx) -> FuncId {
        loop {
            if let Some(func) = self.func_of_scope(file, scope) {
                return func;
            }
            scope = self.scope(file, scope).parent.unwrap_or(0);
        }
    }

    pub fn bindings_of(&self, file: FileIdx, scope: ScopeIdx, name: &str) -> &[usize] {
        self.bindings[file][scope]
            .get(name)
            .map_or(&[], Vec::as_slice)
    }

    pub fn module_file(&self, module: &str) -> Option<FileIdx> {
        self.modules.get(module).copied()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileIdx, offset: u32) -> (usize, usize) {
        let f = &self.files[file];
        let line = f.line_starts.partition_point(|&s| s <= offset).max(1);
        let mut start = f.line_starts[line - 1] as usize;
        let end = (offset as usize).min(f.text.len());
        if start == 0 && end >= 3 && f.text.starts_with("\u{feff}".as_bytes()) {
            // A UTF-8 byte order mark is not part of the first line's text.
            start = 3;
        }
        let column = String::from_utf8_lossy(&f.text[start..end]).chars().count() + 1;
        (line, column)
    }

    /// The text of one line (1-based), for messages.
    pub fn line_text(&self, file: FileIdx, line: usize) -> String {
        let f = &self.files[file];
        let start = f.line_starts.get(line - 1).copied().unwrap_or(0) as usize;
        let end = f
            .line_starts
            .get(line)
            .map_or(f.text.len(), |&e| e as usize);
        String::from_utf8_lossy(&f.text[start..end])
            .trim_end()
            .to_string()
    }
}

fn line_starts(text: &[u8]) -> Vec<u32> {
    let mut starts = vec![0];
    starts.extend(
        text.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i as u32 + 1),
    );
    starts
}
