//! `--base auto`: which two revisions to compare, read from the tool that runs deployguard,
//! so that a hook or a CI step needs no shell glue to find them.
//!
//! - pre-commit (`PRE_COMMIT=1`): under `pre-push` (and `pre-commit run --from-ref X
//!   --to-ref Y`) it sets `PRE_COMMIT_FROM_REF`/`PRE_COMMIT_TO_REF`, and the ratchet compares
//!   exactly that range; under `pre-commit` (and `manual`) it compares `HEAD` with the index,
//!   which is what `git commit` records (also under `git commit -a`, through
//!   `GIT_INDEX_FILE`).
//! - Drone (`DRONE=true`): a pull request is compared from the merge base of
//!   `origin/$DRONE_TARGET_BRANCH` and `$DRONE_COMMIT_SHA`, so a PR is never blamed for
//!   tests that others changed on the target branch since it was opened; any other event
//!   from `$DRONE_COMMIT_BEFORE`, or from the first parent when that is empty, all zeros or
//!   unknown.
//!
//! A base that a shallow clone lacks is an error naming the exact `git fetch` to add.

use super::git::{Git, GitError, Side, validate_rev};

/// The revisions chosen, and how, in words for the report.
#[derive(Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The full id of the base commit.
    pub base: String,
    pub head: Side,
    /// How the base and head were found, e.g. "pre-commit: HEAD against the index".
    pub basis: String,
    /// What the user should know about the choice (said on stderr).
    pub note: Option<String>,
}

/// What `--base auto` decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Auto {
    Compare(Comparison),
    /// There is no earlier revision, so no test can have been weakened (the first commit).
    Nothing {
        reason: String,
    },
}

/// Why `--base auto` could not find the base (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum AutoBaseError {
    #[error(
        "`--base auto` found neither a pre-commit hook (PRE_COMMIT=1) nor a Drone build (DRONE=true) in the environment"
    )]
    NoEnvironment,
    #[error("`--base auto` in a {tool}: the environment variable {name} is not set")]
    MissingVariable {
        tool: &'static str,
        name: &'static str,
    },
    #[error("the pull request's target branch `origin/{branch}` is not in this clone")]
    TargetBranchMissing { branch: String, fetch: String },
    #[error("the base of the comparison ({what}) is not in this shallow clone")]
    ShallowBase { what: String, fetch: String },
    #[error("`origin/{branch}` and {head} share no history, so there is no merge base")]
    NoMergeBase { branch: String, head: String },
    #[error(transparent)]
    Git(#[from] GitError),
}

impl AutoBaseError {
    pub fn help(&self) -> Option<String> {
        Some(match self {
            AutoBaseError::NoEnvironment => "pass the base yourself, e.g. `--base origin/main`; \
                 `--base auto` is for the pre-commit hook and the Drone step"
                .into(),
            AutoBaseError::MissingVariable { name, .. } => {
                format!("run it where {name} is set, or pass `--base REV`")
            }
            AutoBaseError::TargetBranchMissing { fetch, .. }
            | AutoBaseError::ShallowBase { fetch, .. } => {
                format!("add this line to the step before deployguard runs: `{fetch}`")
            }
            AutoBaseError::NoMergeBase { .. } => {
                "check DRONE_TARGET_BRANCH, or pass `--base REV` yourself".into()
            }
            AutoBaseError::Git(e) => return e.hint(),
        })
    }
}

const ZERO_ID: [&str; 2] = [
    "0000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
];

/// Reads the environment through `var` (empty values count as unset) and picks the base and
/// head in `git`'s repository.
pub fn auto(git: &Git, var: impl Fn(&str) -> Option<String>) -> Result<Auto, AutoBaseError> {
    let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    if var("PRE_COMMIT").as_deref() == Some("1") {
        pre_commit(git, &var)
    } else if var("DRONE").as_deref() == Some("true") {
        drone(git, &var)
    } else {
        Err(AutoBaseError::NoEnvironment)
    }
}

fn pre_commit(git: &Git, var: &dyn Fn(&str) -> Option<String>) -> Result<Auto, AutoBaseError> {
    if let (Some(from), Some(to)) = (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF")) {
        let base = git.resolve(&from)?;
        let head = git.resolve(&to)?;
        return Ok(Auto::Compare(Comparison {
            basis: format!("pre-commit: PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF ({from}..{to})"),
            base,
            head: Side::Rev(head),
            note: None,
        }));
    }
    if var("PRE_COMMIT_REMOTE_NAME").is_some() {
        // pre-commit sets no range when the push brings a history with a new root commit.
        return Ok(Auto::Nothing {
            reason: "pre-push of a history that starts with a new root commit: there is no \
                     earlier revision to compare with"
                .into(),
        });
    }
    match git.resolve("HEAD") {
        Ok(head) => Ok(Auto::Compare(Comparison {
            base: head,
            head: Side::Index,
            basis: "pre-commit: HEAD against the index (what `git commit` records)".into(),
            note: None,
        })),
        Err(GitError::UnknownRevision { .. }) => Ok(Auto::Nothing {
            reason: "the first commit: HEAD does not exist yet, so there is no earlier \
                     revision to compare with"
                .into(),
        }),
        Err(e) => Err(e.into()),
    }
}

fn drone(git: &Git, var: &dyn Fn(&str) -> Option<String>) -> Result<Auto, AutoBaseError> {
    let required = |name: &'static str| {
        var(name).ok_or(AutoBaseError::MissingVariable {
            tool: "Drone build",
            name,
        })
    };
    let sha = required("DRONE_COMMIT_SHA")?;
    let head = git.resolve(&sha)?;
    let event = var("DRONE_BUILD_EVENT").unwrap_or_else(|| "push".into());
    if event == "pull_request" {
        let branch = required("DRONE_TARGET_BRANCH")?;
        let target = format!("origin/{branch}");
        validate_rev(&target)?;
        let shallow = git.is_shallow();
        let fetch = fetch_branch(&branch, shallow);
        let target_id = match git.resolve(&format!("refs/remotes/{target}")) {
            Ok(id) => id,
            Err(GitError::UnknownRevision { .. }) => {
                return Err(AutoBaseError::TargetBranchMissing { branch, fetch });
            }
            Err(e) => return Err(e.into()),
        };
        let Some(base) = git.merge_base(&target_id, &head)? else {
            if shallow {
                return Err(AutoBaseError::ShallowBase {
                    what: format!("the merge base of {target} and {sha}"),
                    fetch,
                });
            }
            return Err(AutoBaseError::NoMergeBase { branch, head: sha });
        };
        let number = var("DRONE_PULL_REQUEST").map_or_else(String::new, |n| format!(" #{n}"));
        return Ok(Auto::Compare(Comparison {
            base,
            head: Side::Rev(head),
            basis: format!(
                "Drone pull request{number}: the merge base of {target} and DRONE_COMMIT_SHA {sha}"
            ),
            note: None,
        }));
    }
    let unshallow = "git fetch --no-tags --unshallow origin".to_string();
    let before = var("DRONE_COMMIT_BEFORE");
    let why_not = match before.as_deref() {
        None => "DRONE_COMMIT_BEFORE is empty".to_string(),
        Some(b) if ZERO_ID.contains(&b) => {
            "DRONE_COMMIT_BEFORE is all zeros (a new branch)".to_string()
        }
        Some(b) => match git.resolve(b) {
            Ok(base) => {
                return Ok(Auto::Compare(Comparison {
                    base,
                    head: Side::Rev(head),
                    basis: format!(
                        "Drone {event}: DRONE_COMMIT_BEFORE {b} against DRONE_COMMIT_SHA {sha}"
                    ),
                    note: None,
                }));
            }
            Err(GitError::UnknownRevision { .. }) if git.is_shallow() => {
                return Err(AutoBaseError::ShallowBase {
                    what: format!("DRONE_COMMIT_BEFORE {b}"),
                    fetch: unshallow,
                });
            }
            Err(GitError::UnknownRevision { .. }) => {
                format!("DRONE_COMMIT_BEFORE {b} is not in this repository (a force push?)")
            }
            Err(e) => return Err(e.into()),
        },
    };
    match git.resolve(&format!("{head}^1")) {
        Ok(parent) => Ok(Auto::Compare(Comparison {
            base: parent,
            head: Side::Rev(head),
            basis: format!("Drone {event}: the first parent of DRONE_COMMIT_SHA {sha}"),
            note: Some(format!(
                "{why_not}: comparing DRONE_COMMIT_SHA with its first parent instead"
            )),
        })),
        Err(GitError::UnknownRevision { .. }) if git.is_shallow() => {
            Err(AutoBaseError::ShallowBase {
                what: format!("the first parent of {sha}, because {why_not}"),
                fetch: unshallow,
            })
        }
        Err(GitError::UnknownRevision { .. }) => Ok(Auto::Nothing {
            reason: format!(
                "{why_not}, and DRONE_COMMIT_SHA {sha} is the first commit: there is no \
                 earlier revision to compare with"
            ),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The fetch that brings the target branch (and, in a shallow clone, the history down to the
/// merge base) into the clone, under the name the merge base is computed from.
fn fetch_branch(branch: &str, shallow: bool) -> String {
    let unshallow = if shallow { " --unshallow" } else { "" };
    format!(
        "git fetch --no-tags{unshallow} origin +refs/heads/{branch}:refs/remotes/origin/{branch}"
    )
}
