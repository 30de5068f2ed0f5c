//! `deployguard graph`: the call graph as JSON adjacency, dot, or text; or the
//! deploy-relevant subgraph (`--format mermaid`, `--focus FUNC`) as dot or Mermaid.

use super::{CommandError, ExitStatus, Outcome, load, require_format};
use crate::checks::Analysis;
use crate::checks::analysis::functions_matching;
use crate::cli::{Common, Format};
use crate::policy::Pattern;
use crate::project::CallGraph;
use crate::render;
use crate::report::{deploy_subgraph, forbidden_rows};

pub fn run(
    common: &Common,
    speculative: bool,
    focus: Option<&str>,
) -> Result<Outcome, CommandError> {
    require_format(
        common,
        &[Format::Human, Format::Json, Format::Dot, Format::Mermaid],
        "graph",
    )?;
    if common.format == Format::Mermaid || focus.is_some() {
        return deploy_picture(common, focus);
    }
    let loaded = load(common, false)?;
    let (graph, _) = CallGraph::build(&loaded.project);
    let stdout = match common.format {
        Format::Json => render::graph::json(&loaded.project, &graph, speculative),
        Format::Dot => render::graph::dot(&loaded.project, &graph, speculative),
        _ => render::graph::human(&loaded.project, &graph, speculative),
    };
    Ok(Outcome {
        status: ExitStatus::Ok,
        stdout,
        warning: unsettled(&graph),
    })
}

/// The deploy-relevant subgraph (what can reach the policy's sinks, the forbidden sources,
/// the witness chains), or only what lies ahead of `focus`.
fn deploy_picture(common: &Common, focus: Option<&str>) -> Result<Outcome, CommandError> {
    if !matches!(common.format, Format::Dot | Format::Mermaid) {
        return Err(CommandError::Usage {
            message: "--focus draws a picture: it needs --format dot or --format mermaid".into(),
            help: "e.g. `deployguard graph runner --format mermaid --focus perform_backup`".into(),
        });
    }
    let loaded = load(common, true)?;
    let analysis = Analysis::new(&loaded.project, &loaded.policy);
    let focus_nodes = match focus {
        None => None,
        Some(name) => {
            let pattern = Pattern::parse(name).map_err(|message| CommandError::Usage {
                message: format!("--focus {name}: {message}"),
                help: "give a dotted function name or a suffix, e.g. `perform_backup`".into(),
            })?;
            let nodes: Vec<usize> = functions_matching(&loaded.project, &pattern)
                .into_iter()
                .flat_map(|f| analysis.as_called(f))
                .collect();
            if nodes.is_empty() {
                return Err(CommandError::Usage {
                    message: format!("--focus {name} matches no function"),
                    help: "check the spelling; `deployguard graph` lists every function".into(),
                });
            }
            Some(nodes)
        }
    };
    let rows = forbidden_rows(&analysis);
    let subgraph = deploy_subgraph(&analysis, &rows, focus_nodes.as_deref());
    let stdout = match common.format {
        Format::Mermaid => render::graph::mermaid(&subgraph),
        _ => render::graph::subgraph_dot(&subgraph),
    };
    Ok(Outcome {
        status: ExitStatus::Ok,
        stdout,
        warning: unsettled(&analysis.graph),
    })
}

fn unsettled(graph: &CallGraph) -> Option<String> {
    graph.unsettled.then(|| {
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
    })
}
