//! The naive floor for whole-tree jobs: read every `.py` file under the given folders and
//! parse it with tree-sitter-python on rayon's default pool (the threads deployguard uses),
//! keeping nothing. `bench/run.sh` divides every deployguard figure by this one.

use std::path::PathBuf;

use rayon::prelude::*;

fn main() {
    let roots: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if roots.is_empty() {
        eprintln!("usage: parse_floor DIR...");
        std::process::exit(2);
    }
    let files: Vec<PathBuf> = roots
        .iter()
        .flat_map(|root| {
            walkdir::WalkDir::new(root)
                .into_iter()
                .filter_map(Result::ok)
        })
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "py"))
        .map(|e| e.into_path())
        .collect();
    let language = tree_sitter::Language::new(tree_sitter_python::LANGUAGE);
    let (parsed, with_errors) = files
        .par_iter()
        .map_init(
            || {
                let mut parser = tree_sitter::Parser::new();
                parser
                    .set_language(&language)
                    .expect("tree-sitter-python loads");
                parser
            },
            |parser, path| {
                let Ok(text) = std::fs::read(path) else {
                    return (0, 0);
                };
                match parser.parse(&text, None) {
                    Some(tree) => (1, usize::from(tree.root_node().has_error())),
                    None => (0, 0),
                }
            },
        )
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("parsed {parsed} files ({with_errors} with syntax errors)");
}
