//! Discovery: which files to analyze. This is its own seam so a cheap pre-filter can later
//! drop files a text search proves irrelevant, without touching parsing or analysis.

use std::path::{Path, PathBuf};

use globset::GlobSet;
use walkdir::WalkDir;

/// Directories that never hold the project's own code.
const SKIPPED_DIRS: &[&str] = &[
    "__pycache__",
    "venv",
    "node_modules",
    "build",
    "dist",
    "site-packages",
    "target",
];

#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Path relative to the project root, with `/` separators.
    pub rel: String,
    /// Dotted module name relative to its module root (`harness.lifecycle`; a package's
    /// `__init__.py` is the package).
    pub module: String,
    pub is_package: bool,
    /// Inside the guarded scope (include minus exclude). Unguarded files are still parsed,
    /// because guarded code may call into them.
    pub guarded: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{path}: no such file or directory")]
    Missing { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Walk {
        path: PathBuf,
        source: walkdir::Error,
    },
}

/// What decides a file's module name and whether it is guarded.
pub struct Layout<'a> {
    pub project_root: &'a Path,
    /// Import roots, relative to the project root (`.` or `runner`).
    pub module_roots: &'a [String],
    pub include: &'a GlobSet,
    pub exclude: &'a GlobSet,
}

/// Lists the `.py` files under `root` in a deterministic (sorted) order.
pub fn discover(root: &Path, layout: &Layout) -> Result<Vec<SourceFile>, DiscoverError> {
    if !root.exists() {
        return Err(DiscoverError::Missing {
            path: root.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    // Symlinks are followed, as Python's import follows them: a harness module that is a
    // link to shared code is still harness code, and skipping it would hide its calls.
    let walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    let walker = walker.filter_entry(|entry| entry.depth() == 0 || !is_skipped_dir(entry));
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) if is_loop_or_dangling(&error) => continue,
            Err(source) => {
                return Err(DiscoverError::Walk {
                    path: source
                        .path()
                        .map_or_else(|| root.to_path_buf(), Path::to_path_buf),
                    source,
                });
            }
        };
        if !entry.file_type().is_file() || entry.path().extension().is_none_or(|e| e != "py") {
            continue;
        }
        files.push(source_file(entry.path(), layout));
    }
    Ok(files)
}

/// A directory link back to one of its ancestors (already being walked), or a link to
/// nothing (Python cannot import it either): skipped. Any other error stops discovery.
fn is_loop_or_dangling(error: &walkdir::Error) -> bool {
    if error.loop_ancestor().is_some() {
        return true;
    }
    error.path().is_some_and(|path| {
        std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
            && std::fs::metadata(path).is_err()
    })
}

fn is_skipped_dir(entry: &walkdir::DirEntry) -> bool {
    if !entry.file_type().is_dir() {
        return false;
    }
    let name = entry.file_name().to_string_lossy();
    if name.starts_with('.') {
        // Not importable: a module name cannot start with a dot.
        return true;
    }
    // A package (`__init__.py`) is the project's code whatever its name: a harness package
    // called `build` or `target` must not be skipped as if it were build output.
    let package = entry.path().join("__init__.py").is_file();
    if entry.path_is_symlink() && !package {
        // A linked directory is followed only into a package: a link to `/` or to a home
        // directory is not the project's code and would take the walk anywhere.
        return true;
    }
    !package
        && (SKIPPED_DIRS.contains(&name.as_ref())
            || name.ends_with(".egg-info")
            || entry.path().join("pyvenv.cfg").exists())
}

pub fn source_file(path: &Path, layout: &Layout) -> SourceFile {
    let rel_path = path.strip_prefix(layout.project_root).unwrap_or(path);
    let rel = slash_path(rel_path);
    let (module, is_package) = module_name(&rel, layout.module_roots);
    let guarded = layout.include.is_match(&rel) && !layout.exclude.is_match(&rel);
    SourceFile {
        path: path.to_path_buf(),
        rel,
        module,
        is_package,
        guarded,
    }
}

fn slash_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `runner/harness/lifecycle.py` under module root `runner` is `harness.lifecycle`.
pub fn module_name(rel: &str, module_roots: &[String]) -> (String, bool) {
    let best_root = module_roots
        .iter()
        .map(|r| r.trim_matches('/').trim_start_matches("./"))
        .map(|r| if r == "." { "" } else { r })
        .filter(|r| r.is_empty() || rel.starts_with(&format!("{r}/")))
        .max_by_key(|r| r.len())
        .unwrap_or("");
    let under = if best_root.is_empty() {
        rel
    } else {
        &rel[best_root.len() + 1..]
    };
    let stem = under.strip_suffix(".py").unwrap_or(under);
    let mut parts: Vec<&str> = stem.split('/').collect();
    let is_package = parts.last() == Some(&"__init__");
    if is_package {
        parts.pop();
    }
    (parts.join("."), is_package)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.py` file under `root`, all guarded.
    fn discover_all(root: &Path) -> Vec<SourceFile> {
        let mut builder = globset::GlobSetBuilder::new();
        builder.add(globset::Glob::new("**/*.py").unwrap());
        let all = builder.build().unwrap();
        let none = GlobSet::empty();
        let layout = Layout {
            project_root: root,
            module_roots: &[],
            include: &all,
            exclude: &none,
        };
        discover(root, &layout).unwrap()
    }

    #[test]
    fn symlinked_modules_are_found_and_loops_skipped() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("shared")).unwrap();
        std::fs::create_dir_all(root.join("harness")).unwrap();
        std::fs::write(root.join("shared/deps.py"), "def f(): pass\n").unwrap();
        symlink("../shared/deps.py", root.join("harness/deps.py")).unwrap();
        std::fs::write(root.join("shared/__init__.py"), "").unwrap();
        symlink("../shared", root.join("harness/vendored")).unwrap();
        symlink("/", root.join("harness/everything")).unwrap();
        symlink(".", root.join("harness/self")).unwrap();
        symlink("loop.py", root.join("harness/loop.py")).unwrap();
        symlink("nowhere.py", root.join("harness/dangling.py")).unwrap();
        let files = discover_all(root);
        let rels: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "harness/deps.py",
                "harness/vendored/__init__.py",
                "harness/vendored/deps.py",
                "shared/__init__.py",
                "shared/deps.py"
            ]
        );
    }

    #[test]
    fn packages_are_found_whatever_their_name_and_build_output_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (rel, text) in [
            ("harness/build/__init__.py", ""),
            ("harness/build/steps.py", "def deploy_step(): pass\n"),
            ("build/lib/harness/copy.py", "def stale(): pass\n"),
            ("venv/lib/x.py", "def vendored(): pass\n"),
            (".tox/y.py", "def hidden(): pass\n"),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let files = discover_all(root);
        let rels: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            ["harness/build/__init__.py", "harness/build/steps.py"]
        );
    }

    #[test]
    fn module_names_follow_the_import_root() {
        let roots = vec!["runner".to_string()];
        assert_eq!(
            module_name("runner/harness/lifecycle.py", &roots),
            ("harness.lifecycle".into(), false)
        );
        assert_eq!(
            module_name("runner/harness/__init__.py", &roots),
            ("harness".into(), true)
        );
        assert_eq!(
            module_name("runner/run_recipe_ci.py", &roots),
            ("run_recipe_ci".into(), false)
        );
        let dot = vec![".".to_string()];
        assert_eq!(module_name("pkg/mod.py", &dot), ("pkg.mod".into(), false));
    }
}
