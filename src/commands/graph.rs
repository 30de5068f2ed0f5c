//! `deployguard graph`: the call graph as JSON adjacency, dot, or text.

use super::{CommandError, ExitStatus, Outcome, load, require_format};
use crate::cli::{Common, Format};
use crate::project::CallGraph;
use crate::render;

pub fn run(common: &Common, speculative: bool) -> Result<Outcome, CommandError> {
    require_format(common, &[Format::Human, Format::Json, Format::Dot], "graph")?;
    let loaded = load(common, false)?;
    let (graph, _) = CallGraph::build(&loaded.project);
    let stdout = match common.format {
        Format::Json => render::graph::json(&loaded.project, &graph, speculative),
        Format::Dot => render::graph::dot(&loaded.project, &graph, speculative),
        _ => render::graph::human(&loaded.project, &graph, speculative),
    };
    let warning = graph.unsettled.then(|| {
        let changing: Vec<&str> = graph
            .unsettled_in
            .iter()
            .take(3)
            .map(|&n| graph.node_name[n].as_str())
            .collect();
        format!(
            "value flow did not settle within deployguard's work budget (still changing: {}): calls through parameters may be missing from this graph",
            changing.join(", ")
        )
    });
    Ok(Outcome {
        status: ExitStatus::Ok,
        stdout,
        warning,
    })
}
