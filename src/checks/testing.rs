//! Small cc-ci-shaped harnesses for the checks' unit tests: the lifecycle, deps and generic
//! modules every test shares, and an entry module each test writes.

use std::path::{Path, PathBuf};

use crate::discover::SourceFile;
use crate::policy::{self, EMBEDDED_CC_CI, Policy};
use crate::project::{Project, ProjectFile};

pub const LIFECYCLE: &str = r#"
import os
COUNT_ENV = "CCCI_DEPLOY_COUNT_FILE"

def _record_deploy(app):
    path = os.environ.get(COUNT_ENV)
    if not path:
        return
    with open(path, "a") as fh:
        fh.write(app + "\n")

def deploy_app(app):
    _record_deploy(app)

def chaos_redeploy(app):
    pass

def backup_app(app):
    pass

def restore_app(app):
    pass
"#;

pub const DEPS: &str = r#"
from harness.lifecycle import deploy_app

def is_live_warm(dep):
    return dep.warm

def deploy_declared_deps(declared):
    deployed = []
    for dep in declared:
        if is_live_warm(dep):
            continue
        deploy_app(dep.name)
        deployed.append(dep.name)
    return deployed
"#;

pub const GENERIC: &str = r#"
from harness import lifecycle

def perform_install(app): pass
def perform_upgrade(app): lifecycle.chaos_redeploy(app)
def perform_backup(app): lifecycle.backup_app(app)
def perform_restore(app): lifecycle.restore_app(app)
def perform_custom(app): pass
"#;

/// A project of `harness` (lifecycle, deps, generic), `run_recipe_ci` from `entry_source`,
/// and `extra` modules (which replace a default module of the same name), every file guarded.
pub fn small_harness(entry_source: &str, extra: &[(&str, &str)]) -> Project {
    let file = |module: &str, text: &str| {
        let is_package = module == "harness";
        let rel = match is_package {
            true => "harness/__init__.py".to_string(),
            false => format!("{}.py", module.replace('.', "/")),
        };
        ProjectFile::new(
            SourceFile {
                path: PathBuf::from(&rel),
                rel,
                module: module.into(),
                is_package,
                guarded: true,
            },
            text.as_bytes().to_vec(),
        )
    };
    let defaults = [
        ("harness", ""),
        ("harness.lifecycle", LIFECYCLE),
        ("harness.deps", DEPS),
        ("harness.generic", GENERIC),
        ("run_recipe_ci", entry_source),
    ];
    let mut files: Vec<ProjectFile> = defaults
        .iter()
        .filter(|(module, _)| !extra.iter().any(|(m, _)| m == module))
        .map(|(m, t)| file(m, t))
        .collect();
    files.extend(extra.iter().map(|(m, t)| file(m, t)));
    Project::index(files)
}

/// The embedded cc-ci policy.
pub fn embedded_policy() -> Policy {
    policy::from_toml(
        EMBEDDED_CC_CI,
        Path::new("cc_ci.toml"),
        Path::new("."),
        false,
    )
    .expect("the embedded policy parses")
}
