//! Call graph output: the JSON adjacency format of Python call-graph research tools
//! (`{"caller": ["callee", ...]}`), Graphviz dot, and a plain text listing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::project::{CallGraph, Project};

/// caller -> callees, every function (and module) a key, externals as their dotted names,
/// builtins as `<builtin>.name`.
pub fn adjacency(
    project: &Project,
    graph: &CallGraph,
    include_speculative: bool,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (func, info) in project.funcs.iter().enumerate() {
        let entry = map.entry(info.qualname.clone()).or_default();
        entry.extend(graph.externals[func].iter().cloned());
    }
    for edge in &graph.edges {
        if edge.kind.is_speculative() && !include_speculative {
            continue;
        }
        let from = project.funcs[graph.node_func[edge.from]].qualname.clone();
        let to = project.funcs[graph.node_func[edge.to]].qualname.clone();
        map.entry(from).or_default().insert(to);
    }
    map
}

pub fn json(project: &Project, graph: &CallGraph, include_speculative: bool) -> String {
    super::json::to_string(&adjacency(project, graph, include_speculative))
}

pub fn dot(project: &Project, graph: &CallGraph, include_speculative: bool) -> String {
    let mut out = String::from(
        "digraph deployguard {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for info in &project.funcs {
        let _ = writeln!(out, "  {};", quote(&info.qualname));
    }
    let mut seen = BTreeSet::new();
    for edge in &graph.edges {
        if edge.kind.is_speculative() && !include_speculative {
            continue;
        }
        let (from, to) = (
            &project.funcs[graph.node_func[edge.from]].qualname,
            &project.funcs[graph.node_func[edge.to]].qualname,
        );
        if seen.insert((from.clone(), to.clone(), edge.kind.is_speculative())) {
            let style = if edge.kind.is_speculative() {
                " [style=dashed]"
            } else {
                ""
            };
            let _ = writeln!(out, "  {} -> {}{style};", quote(from), quote(to));
        }
    }
    out.push_str("}\n");
    out
}

pub fn human(project: &Project, graph: &CallGraph, include_speculative: bool) -> String {
    let mut out = String::new();
    for (caller, callees) in adjacency(project, graph, include_speculative) {
        let _ = writeln!(out, "{caller}");
        for callee in callees {
            let _ = writeln!(out, "  -> {callee}");
        }
    }
    out
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}
