//! Call graph output: the JSON adjacency format of Python call-graph research tools
//! (`{"caller": ["callee", ...]}`), Graphviz dot, and a plain text listing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::project::{CallGraph, Project};
use crate::report::{DeploySubgraph, NodeRole};

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

/// The deploy-relevant subgraph as a Mermaid flowchart: sinks red, forbidden sources green
/// when they cannot reach a deploy and red when they can, witness edges thick and red.
pub fn mermaid(graph: &DeploySubgraph) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, node) in graph.nodes.iter().enumerate() {
        let class = match node.role {
            NodeRole::Sink => ":::sink",
            NodeRole::Counter => ":::counter",
            NodeRole::Entry => ":::entry",
            NodeRole::Forbidden { reaches: true } => ":::breach",
            NodeRole::Forbidden { reaches: false } => ":::forbidden",
            NodeRole::Reaches => "",
        };
        let _ = writeln!(out, "  n{i}[\"{}\"]{class}", mermaid_label(&node.name));
    }
    let mut witness = Vec::new();
    for (i, &(from, to, on_witness)) in graph.edges.iter().enumerate() {
        let arrow = if on_witness { "==>" } else { "-->" };
        let _ = writeln!(out, "  n{from} {arrow} n{to}");
        if on_witness {
            witness.push(i.to_string());
        }
    }
    out.push_str("  classDef sink fill:#fdd,stroke:#c00,stroke-width:2px\n");
    out.push_str("  classDef counter fill:#eee,stroke:#666\n");
    out.push_str("  classDef entry fill:#def,stroke:#36c\n");
    out.push_str("  classDef forbidden fill:#dfd,stroke:#393\n");
    out.push_str("  classDef breach fill:#fdd,stroke:#c00,stroke-width:3px\n");
    if !witness.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#c00,stroke-width:3px",
            witness.join(",")
        );
    }
    out
}

fn mermaid_label(name: &str) -> String {
    name.replace('"', "#quot;")
}

/// The deploy-relevant subgraph in Graphviz dot, coloured as [`mermaid`].
pub fn subgraph_dot(graph: &DeploySubgraph) -> String {
    let mut out = String::from(
        "digraph deployguard {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, node) in graph.nodes.iter().enumerate() {
        let style = match node.role {
            NodeRole::Sink => {
                ", style=filled, fillcolor=\"#ffdddd\", color=\"#cc0000\", penwidth=2"
            }
            NodeRole::Counter => ", style=filled, fillcolor=\"#eeeeee\"",
            NodeRole::Entry => ", style=filled, fillcolor=\"#ddeeff\", color=\"#3366cc\"",
            NodeRole::Forbidden { reaches: true } => {
                ", style=filled, fillcolor=\"#ffdddd\", color=\"#cc0000\", penwidth=3"
            }
            NodeRole::Forbidden { reaches: false } => {
                ", style=filled, fillcolor=\"#ddffdd\", color=\"#339933\""
            }
            NodeRole::Reaches => "",
        };
        let _ = writeln!(out, "  n{i} [label={}{style}];", quote(&node.name));
    }
    for &(from, to, on_witness) in &graph.edges {
        let style = if on_witness {
            " [color=\"#cc0000\", penwidth=3]"
        } else {
            ""
        };
        let _ = writeln!(out, "  n{from} -> n{to}{style};");
    }
    if graph.folded > 0 {
        let _ = writeln!(
            out,
            "  folded [shape=note, label=\"{} more functions folded\"];",
            graph.folded
        );
    }
    out.push_str("}\n");
    out
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}
