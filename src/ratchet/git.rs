//! Reading the two revisions the ratchet compares, by running the `git` command-line tool.
//!
//! Every command is built with `Command::new("git").args(..)` (never a shell string) and runs
//! at the repository's top level, so every path in and out is `/`-separated and relative to
//! it. Revisions are validated first and never passed where git would read them as an
//! option. The environment is inherited, so `GIT_INDEX_FILE` set by a pre-commit hook under
//! `git commit -a` picks the index being committed.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// One side of the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// A commit, by the full id [`Git::resolve`] returned.
    Rev(String),
    /// The staged tree: what `git commit` would record (honours `GIT_INDEX_FILE`).
    Index,
    /// The files on disk, tracked or untracked-but-not-ignored.
    WorkTree,
}

/// How a path changed between two sides, as `git diff --name-status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    /// Moved, with git's similarity score (0-100) between the old and new content.
    Renamed {
        similarity: u8,
    },
    /// Copied, with git's similarity score (only reported when copy detection is on).
    Copied {
        similarity: u8,
    },
    /// Changed between file, symlink and submodule.
    TypeChanged,
    /// Conflicted in the index: the merge is not finished.
    Unmerged,
}

/// One changed path. `old_path` is absent for additions, `new_path` for deletions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub status: ChangeKind,
    pub old_path: Option<String>,
    pub new_path: Option<String>,
}

impl Change {
    /// The path on the head side, or the deleted path.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }
}

/// Why git could not give the ratchet what it needs. The message says what was wrong;
/// [`GitError::hint`] says what to run to fix it.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git is not installed or not on PATH")]
    NotInstalled,
    #[error("{} is not inside a git repository: {detail}", dir.display())]
    NotARepo { dir: PathBuf, detail: String },
    #[error("git refuses to read {} because another user owns it", dir.display())]
    UnsafeRepo { dir: PathBuf },
    #[error("invalid revision {rev:?}: {reason}")]
    InvalidRevision { rev: String, reason: String },
    #[error("unknown revision `{rev}`")]
    UnknownRevision { rev: String, hint: String },
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("invalid object id {id:?}: expected the full hexadecimal id git printed")]
    InvalidObjectId { id: String },
    #[error("invalid trailer key {key:?}")]
    InvalidTrailerKey { key: String },
    #[error("object {id} is missing from the repository")]
    MissingObject { id: String },
    #[error("object {id} is a {kind}, not a file's content")]
    NotABlob { id: String, kind: String },
    #[error("`{path}` has unresolved merge conflicts in the index")]
    Unmerged { path: String },
    #[error("cannot run `{command}`: {source}")]
    Io {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("unexpected output from `{command}`: {detail}")]
    Protocol { command: String, detail: String },
}

impl GitError {
    /// What to do about it, usually the command to run.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            GitError::NotInstalled => "install git (apt-get install git)".into(),
            GitError::NotARepo { .. } => {
                "pass the repository's directory as ROOT, or run `git init` there".into()
            }
            GitError::UnsafeRepo { dir } => format!(
                "run `git config --global --add safe.directory {}`",
                dir.display()
            ),
            GitError::InvalidRevision { .. } => {
                "pass a branch, tag or commit id, such as `--base origin/main`".into()
            }
            GitError::UnknownRevision { hint, .. } => hint.clone(),
            GitError::InvalidPath { .. } | GitError::InvalidObjectId { .. } => return None,
            GitError::InvalidTrailerKey { .. } => {
                "use letters, digits and `-`, e.g. `Deployguard-Waive`".into()
            }
            GitError::MissingObject { .. } => "run `git fetch` to download it".into(),
            GitError::NotABlob { .. } => return None,
            GitError::Unmerged { path } => {
                format!("resolve the conflicts, then run `git add -- '{path}'`")
            }
            GitError::Io { .. } | GitError::Failed { .. } => {
                "run that git command in the repository to see why it fails".into()
            }
            GitError::Protocol { .. } => {
                "report this to deployguard with the output of `git --version`".into()
            }
        })
    }
}

/// A repository, read through `git` child processes.
pub struct Git {
    toplevel: PathBuf,
    /// Variables set (`Some`) or removed (`None`) on every git command, after inheriting ours.
    env: Vec<(OsString, Option<OsString>)>,
    /// The long-lived `git cat-file --batch`, started on the first read.
    batch: Option<CatFile>,
}

/// Above this many bytes of path arguments, look paths up in a full listing instead, to stay
/// clear of command-line length limits (32 KiB on Windows).
const MAX_PATHSPEC_BYTES: usize = 16 * 1024;

impl Git {
    /// Opens the repository containing `dir`.
    pub fn open(dir: &Path) -> Result<Git, GitError> {
        Git::open_with_env(dir, Vec::new())
    }

    /// Like [`Git::open`], with extra environment variables set on every git command (for
    /// example `GIT_INDEX_FILE`, as a pre-commit hook sees it under `git commit -a`).
    pub fn open_with_env(dir: &Path, env: Vec<(OsString, OsString)>) -> Result<Git, GitError> {
        Git::open_env(dir, env.into_iter().map(|(k, v)| (k, Some(v))).collect())
    }

    fn open_env(dir: &Path, mut env: Vec<(OsString, Option<OsString>)>) -> Result<Git, GitError> {
        absolutize_git_paths(&mut env);
        // Optional locks would let `git diff` rewrite the index that `git commit` holds.
        env.push(("GIT_OPTIONAL_LOCKS".into(), Some("0".into())));
        // Paths we pass are file names, never glob patterns.
        env.push(("GIT_LITERAL_PATHSPECS".into(), Some("1".into())));
        let mut git = Git {
            toplevel: dir.to_path_buf(),
            env,
            batch: None,
        };
        // English messages, so a refusal over ownership can be recognised.
        let output = git
            .command(["rev-parse", "--show-toplevel"])
            .env("LC_ALL", "C")
            .output()
            .map_err(|source| spawn_error("git rev-parse --show-toplevel", source))?;
        if !output.status.success() {
            let detail = String::from_utf8_lossy(&output.stderr).trim().to_string();
            return Err(if detail.contains("dubious ownership") {
                GitError::UnsafeRepo {
                    dir: dir.to_path_buf(),
                }
            } else {
                GitError::NotARepo {
                    dir: dir.to_path_buf(),
                    detail: detail.trim_start_matches("fatal: ").to_string(),
                }
            });
        }
        let mut top = output.stdout;
        while top.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            top.pop();
        }
        if top.is_empty() {
            return Err(GitError::NotARepo {
                dir: dir.to_path_buf(),
                detail: "it has no working tree (a bare repository?)".into(),
            });
        }
        git.toplevel = path_from_bytes(top);
        Ok(git)
    }

    /// The repository's top-level directory.
    pub fn toplevel(&self) -> &Path {
        &self.toplevel
    }

    /// Resolves `rev` to the full id of the commit it names.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        validate_rev(rev)?;
        let spec = format!("{rev}^{{commit}}");
        let args = [
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ];
        let output = self
            .command(args)
            .output()
            .map_err(|source| spawn_error(&display(args), source))?;
        let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if output.status.success() && is_object_id(&id) {
            return Ok(id);
        }
        Err(GitError::UnknownRevision {
            rev: rev.to_string(),
            hint: self.unknown_revision_hint(rev),
        })
    }

    /// Whether this is a shallow clone, whose older commits are missing.
    pub fn is_shallow(&self) -> bool {
        self.run(["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|out| out.trim_ascii() == b"true")
    }

    /// The best common ancestor of the commits `a` and `b` (full ids), or `None` when they
    /// share no history here (unrelated, or cut off by a shallow clone).
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, GitError> {
        validate_rev(a)?;
        validate_rev(b)?;
        let args = ["merge-base", "--end-of-options", a, b];
        let output = self
            .command(args)
            .output()
            .map_err(|source| spawn_error(&display(args), source))?;
        let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
        match output.status.code() {
            Some(0) if is_object_id(&id) => Ok(Some(id)),
            // git merge-base exits 1, saying nothing, when there is no common ancestor.
            Some(1) if output.stderr.is_empty() => Ok(None),
            _ => Err(GitError::Failed {
                command: display(args),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            }),
        }
    }

    fn unknown_revision_hint(&self, rev: &str) -> String {
        if self.is_shallow() {
            return "this is a shallow clone, so older commits are missing: run \
                    `git fetch --unshallow` (or `git fetch --deepen=N` for N more commits); in a \
                    Drone pipeline drop `depth` from the `clone:` section (GitHub Actions: \
                    `fetch-depth: 0`)"
                .into();
        }
        let fetch = match rev.strip_prefix("origin/") {
            Some(branch) => format!("git fetch origin {branch}"),
            None => format!("git fetch origin {rev}"),
        };
        format!("run `{fetch}` if it exists only on the remote, or check the spelling")
    }

    /// The paths that differ between the commit `base` and `head`, with renames detected.
    /// For [`Side::WorkTree`] untracked, non-ignored files count as added.
    pub fn changes(&self, base: &str, head: &Side) -> Result<Vec<Change>, GitError> {
        validate_rev(base)?;
        let mut args = vec![
            "diff",
            "-z",
            "-M",
            "--name-status",
            "--no-color",
            "--no-ext-diff",
        ];
        match head {
            Side::Rev(rev) => {
                validate_rev(rev)?;
                args.extend(["--end-of-options", base, rev]);
            }
            Side::Index => args.extend(["--cached", "--end-of-options", base]),
            Side::WorkTree => args.extend(["--end-of-options", base]),
        }
        args.push("--");
        let output = self.run(&args)?;
        let mut changes = parse_name_status(&output).map_err(|detail| GitError::Protocol {
            command: display(&args),
            detail,
        })?;
        if *head == Side::WorkTree {
            let untracked = ["ls-files", "-z", "--others", "--exclude-standard"];
            for path in split_nul(&self.run(untracked)?) {
                if !path.ends_with('/') {
                    changes.push(Change {
                        status: ChangeKind::Added,
                        old_path: None,
                        new_path: Some(path),
                    });
                }
            }
        }
        changes.sort_by(|a, b| a.path().cmp(b.path()));
        Ok(changes)
    }

    /// The blob id of each path on `side`, in order; `None` where the side has no such file.
    pub fn blob_ids(&self, side: &Side, paths: &[String]) -> Result<Vec<Option<String>>, GitError> {
        for path in paths {
            check_path(path)?;
        }
        let found: HashMap<String, String> = match side {
            Side::WorkTree => {
                let on_disk: Vec<&String> = paths
                    .iter()
                    .filter(|p| self.toplevel.join(p).is_file())
                    .collect();
                let raw: Vec<&[u8]> = on_disk.iter().map(|p| p.as_bytes()).collect();
                let ids = self.hash_worktree(&raw)?;
                on_disk.into_iter().cloned().zip(ids).collect()
            }
            _ if paths.iter().map(String::len).sum::<usize>() > MAX_PATHSPEC_BYTES => {
                self.list(side)?.into_iter().collect()
            }
            Side::Rev(rev) => {
                validate_rev(rev)?;
                let mut args = vec![
                    "ls-tree",
                    "-z",
                    "--full-tree",
                    "--end-of-options",
                    rev,
                    "--",
                ];
                args.extend(paths.iter().map(String::as_str));
                parse_ls_tree(&self.run(&args)?, &display(&args))?
                    .into_iter()
                    .collect()
            }
            Side::Index => {
                let mut args = vec!["ls-files", "-s", "-z", "--"];
                args.extend(paths.iter().map(String::as_str));
                parse_ls_files_stage(&self.run(&args)?, &display(&args))?
                    .into_iter()
                    .collect()
            }
        };
        Ok(paths.iter().map(|p| found.get(p).cloned()).collect())
    }

    /// Every file on `side` with its blob id, sorted by path. Submodules are left out.
    pub fn list(&self, side: &Side) -> Result<Vec<(String, String)>, GitError> {
        let mut files = match side {
            Side::Rev(rev) => {
                validate_rev(rev)?;
                let args = [
                    "ls-tree",
                    "-r",
                    "-z",
                    "--full-tree",
                    "--end-of-options",
                    rev,
                ];
                parse_ls_tree(&self.run(args)?, &display(args))?
            }
            Side::Index => {
                let args = ["ls-files", "-s", "-z"];
                parse_ls_files_stage(&self.run(args)?, &display(args))?
            }
            Side::WorkTree => {
                let args = [
                    "ls-files",
                    "-z",
                    "--cached",
                    "--others",
                    "--exclude-standard",
                ];
                let output = self.run(args)?;
                let mut paths: Vec<&[u8]> = output.split(|b| *b == 0).collect();
                paths.sort();
                paths.dedup();
                // Tracked files deleted from disk, and submodule directories, are not files.
                // Raw bytes, so a name that is not UTF-8 is still found on disk.
                paths.retain(|p| {
                    !p.is_empty() && self.toplevel.join(path_from_bytes(p.to_vec())).is_file()
                });
                let ids = self.hash_worktree(&paths)?;
                let names = paths
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                names.zip(ids).collect()
            }
        };
        files.sort();
        Ok(files)
    }

    /// The content of `path` on `side`, or `None` when it is not a file there.
    pub fn read(&mut self, side: &Side, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        check_path(path)?;
        let object = match side {
            Side::WorkTree => return self.read_worktree(path),
            // The batch protocol is line-based: such paths go through their blob id instead.
            _ if path.contains(['\n', '\r']) => {
                return match self.blob_ids(side, &[path.to_string()])?.pop().flatten() {
                    Some(id) => self.read_blob(&id).map(Some),
                    None => Ok(None),
                };
            }
            Side::Rev(rev) => {
                validate_rev(rev)?;
                format!("{rev}:{path}")
            }
            // Stage 0 spelled out, so a path like `1:x` is not read as stage 1 of `x`.
            Side::Index => format!(":0:{path}"),
        };
        Ok(self
            .request(&object)?
            .filter(|(kind, _)| kind == "blob")
            .map(|(_, content)| content))
    }

    fn read_worktree(&self, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let file = self.toplevel.join(path);
        if !file.is_file() {
            return Ok(None);
        }
        match std::fs::read(&file) {
            Ok(content) => Ok(Some(content)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(GitError::Io {
                command: format!("read {}", file.display()),
                source,
            }),
        }
    }

    /// The content of the blob `id`.
    pub fn read_blob(&mut self, id: &str) -> Result<Vec<u8>, GitError> {
        if !is_object_id(id) {
            return Err(GitError::InvalidObjectId { id: id.to_string() });
        }
        match self.request(id)? {
            None => Err(GitError::MissingObject { id: id.to_string() }),
            Some((kind, content)) if kind == "blob" => Ok(content),
            Some((kind, _)) => Err(GitError::NotABlob {
                id: id.to_string(),
                kind,
            }),
        }
    }

    /// The values of the commit-message trailers `key:` (matched case-insensitively) in the
    /// commits reachable from `head` but not from `base`, oldest commit first.
    pub fn trailers(&self, base: &str, head: &str, key: &str) -> Result<Vec<String>, GitError> {
        validate_rev(base)?;
        validate_rev(head)?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(GitError::InvalidTrailerKey {
                key: key.to_string(),
            });
        }
        let format = format!("--format=%(trailers:key={key},valueonly,unfold,separator=%x00)");
        let range = format!("{base}..{head}");
        let args = [
            "log",
            "--no-color",
            "--no-show-signature",
            "--reverse",
            &format,
            "--end-of-options",
            &range,
            "--",
        ];
        let output = self.run(args)?;
        Ok(output
            .split(|b| *b == 0 || *b == b'\n')
            .map(|value| String::from_utf8_lossy(value).trim().to_string())
            .filter(|value| !value.is_empty())
            .collect())
    }

    /// Sends one object name to `git cat-file --batch` and reads back its type and content.
    fn request(&mut self, object: &str) -> Result<Option<(String, Vec<u8>)>, GitError> {
        if self.batch.is_none() {
            self.batch = Some(CatFile::start(self)?);
        }
        let Some(batch) = self.batch.as_mut() else {
            return Err(batch_error("the process was not started"));
        };
        let answer = batch.request(object);
        if answer.is_err() {
            // Unknown state: kill it, and start afresh on the next read.
            if let Some(mut broken) = self.batch.take() {
                broken.healthy = false;
            }
        }
        answer
    }

    /// The id git would give each file on disk, in order (clean filters applied, as `git add`).
    fn hash_worktree(&self, paths: &[&[u8]]) -> Result<Vec<String>, GitError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        // hash-object unquotes C-style quoted lines, so every path survives the line protocol.
        let mut input = Vec::new();
        for path in paths {
            input.extend(c_quote(path));
            input.push(b'\n');
        }
        let args = ["hash-object", "--stdin-paths"];
        let output = self.run_with_input(args, Some(input))?;
        let ids: Vec<String> = String::from_utf8_lossy(&output)
            .lines()
            .map(str::to_string)
            .collect();
        if ids.len() != paths.len() || !ids.iter().all(|id| is_object_id(id)) {
            return Err(GitError::Protocol {
                command: display(args),
                detail: format!("expected {} object ids, got {}", paths.len(), ids.len()),
            });
        }
        Ok(ids)
    }

    /// A git command at the top level with our environment, not yet started.
    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new("git");
        command.arg("-C").arg(&self.toplevel).args(args);
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }

    fn run<I, S>(&self, args: I) -> Result<Vec<u8>, GitError>
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        self.run_with_input(args, None)
    }

    /// Runs git to completion, feeding `input` on a separate thread so neither side can block
    /// the other on a full pipe.
    fn run_with_input<I, S>(&self, args: I, input: Option<Vec<u8>>) -> Result<Vec<u8>, GitError>
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        let shown = display(args.clone());
        let mut command = self.command(args);
        command
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| spawn_error(&shown, e))?;
        let stdin = child.stdin.take();
        let output = std::thread::scope(|scope| {
            if let (Some(mut stdin), Some(input)) = (stdin, input) {
                // A write error means git exited early; its status and stderr say why.
                scope.spawn(move || stdin.write_all(&input));
            }
            child.wait_with_output()
        })
        .map_err(|source| GitError::Io {
            command: shown.clone(),
            source,
        })?;
        if !output.status.success() {
            return Err(GitError::Failed {
                command: shown,
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output.stdout)
    }

    /// The id of the running `git cat-file --batch` process, to check it is reused.
    #[cfg(test)]
    fn batch_pid(&self) -> Option<u32> {
        self.batch.as_ref().map(|batch| batch.child.id())
    }
}

/// A running `git cat-file --batch`: one object name per line in, `<id> <type> <size>\n`,
/// the content and `\n` out (or `<name> missing\n`).
struct CatFile {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// False once a request failed half-way: the process is killed rather than waited for.
    healthy: bool,
}

const CAT_FILE: &str = "git cat-file --batch";

impl CatFile {
    fn start(git: &Git) -> Result<CatFile, GitError> {
        let mut child = git
            .command(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| spawn_error(CAT_FILE, e))?;
        match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => Ok(CatFile {
                child,
                stdin: Some(stdin),
                stdout: BufReader::new(stdout),
                healthy: true,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(batch_error("its pipes could not be opened"))
            }
        }
    }

    fn request(&mut self, object: &str) -> Result<Option<(String, Vec<u8>)>, GitError> {
        let io = |source| GitError::Io {
            command: CAT_FILE.into(),
            source,
        };
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| batch_error("its input is closed"))?;
        stdin.write_all(object.as_bytes()).map_err(io)?;
        stdin.write_all(b"\n").map_err(io)?;
        stdin.flush().map_err(io)?;

        let mut header = Vec::new();
        self.stdout.read_until(b'\n', &mut header).map_err(io)?;
        if header.pop() != Some(b'\n') {
            return Err(batch_error("it stopped unexpectedly"));
        }
        let header = String::from_utf8_lossy(&header).into_owned();
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            return Ok(None);
        }
        let (kind, size) = parse_batch_header(&header)
            .ok_or_else(|| batch_error(&format!("bad header {header:?}")))?;
        let mut content = Vec::with_capacity(size.min(1 << 26));
        (&mut self.stdout)
            .take(size as u64)
            .read_to_end(&mut content)
            .map_err(io)?;
        let mut newline = [0u8; 1];
        self.stdout.read_exact(&mut newline).map_err(io)?;
        if content.len() != size || newline != *b"\n" {
            return Err(batch_error("it sent a truncated object"));
        }
        Ok(Some((kind, content)))
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        // Closing its input makes cat-file exit; a half-read answer could block it instead.
        drop(self.stdin.take());
        if !self.healthy {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `<id> <type> <size>` -> (type, size).
fn parse_batch_header(header: &str) -> Option<(String, usize)> {
    let mut fields = header.split(' ');
    let (id, kind, size) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || !is_object_id(id) || kind.is_empty() {
        return None;
    }
    Some((kind.to_string(), size.parse().ok()?))
}

/// Checks a revision before it reaches git: it must not be empty or read as an option, and
/// must fit on one line.
pub fn validate_rev(rev: &str) -> Result<(), GitError> {
    let reason = if rev.is_empty() {
        "it is empty"
    } else if rev.trim().is_empty() {
        "it is only whitespace"
    } else if rev.starts_with('-') {
        "it starts with `-`, so git would read it as an option"
    } else if rev.contains('\0') {
        "it contains a NUL byte"
    } else if rev.contains(['\n', '\r']) {
        "it contains a line break"
    } else if rev.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(GitError::InvalidRevision {
        rev: rev.to_string(),
        reason: reason.to_string(),
    })
}

fn check_path(path: &str) -> Result<(), GitError> {
    let reason = if path.is_empty() {
        "it is empty"
    } else if path.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(GitError::InvalidPath {
        path: path.to_string(),
        reason: reason.to_string(),
    })
}

/// A full SHA-1 or SHA-256 object id.
fn is_object_id(id: &str) -> bool {
    matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses `git diff -z --name-status`: `STATUS\0path\0`, or `R100\0old\0new\0` for renames
/// and copies.
fn parse_name_status(output: &[u8]) -> Result<Vec<Change>, String> {
    let mut fields = output.split(|b| *b == 0);
    let mut changes = Vec::new();
    while let Some(status) = fields.next() {
        if status.is_empty() {
            continue;
        }
        let status = String::from_utf8_lossy(status);
        let mut path = || {
            fields
                .next()
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .ok_or_else(|| format!("status {status:?} without a path"))
        };
        let (letter, score) = status.split_at(status.chars().next().map_or(0, char::len_utf8));
        let similarity = || {
            score
                .parse::<u8>()
                .ok()
                .filter(|s| *s <= 100)
                .ok_or_else(|| format!("bad similarity in {status:?}"))
        };
        let change = match letter {
            "A" => one_path(ChangeKind::Added, None, Some(path()?)),
            "D" => one_path(ChangeKind::Deleted, Some(path()?), None),
            "M" | "T" | "U" => {
                let kind = match letter {
                    "M" => ChangeKind::Modified,
                    "T" => ChangeKind::TypeChanged,
                    _ => ChangeKind::Unmerged,
                };
                let p = path()?;
                one_path(kind, Some(p.clone()), Some(p))
            }
            "R" | "C" => {
                let similarity = similarity()?;
                let kind = if letter == "R" {
                    ChangeKind::Renamed { similarity }
                } else {
                    ChangeKind::Copied { similarity }
                };
                let old = path()?;
                one_path(kind, Some(old), Some(path()?))
            }
            _ => return Err(format!("unknown status {status:?}")),
        };
        changes.push(change);
    }
    Ok(changes)
}

fn one_path(status: ChangeKind, old_path: Option<String>, new_path: Option<String>) -> Change {
    Change {
        status,
        old_path,
        new_path,
    }
}

/// Parses `git ls-tree -z`: `<mode> <type> <id>\t<path>\0`, keeping blobs only.
fn parse_ls_tree(output: &[u8], command: &str) -> Result<Vec<(String, String)>, GitError> {
    let mut files = Vec::new();
    for entry in output.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let (meta, path) = split_tab(entry, command)?;
        let mut fields = meta.split(' ');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(_mode), Some("blob"), Some(id)) if is_object_id(id) => {
                files.push((path, id.to_string()));
            }
            (Some(_), Some(_), Some(_)) => {} // trees, submodules
            _ => return Err(bad_entry(command, &meta)),
        }
    }
    Ok(files)
}

/// Parses `git ls-files -s -z`: `<mode> <id> <stage>\t<path>\0`, skipping submodules and
/// refusing conflicted entries.
fn parse_ls_files_stage(output: &[u8], command: &str) -> Result<Vec<(String, String)>, GitError> {
    let mut files = Vec::new();
    for entry in output.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let (meta, path) = split_tab(entry, command)?;
        let mut fields = meta.split(' ');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(_), Some(_), Some(stage)) if stage != "0" => {
                return Err(GitError::Unmerged { path });
            }
            (Some("160000"), Some(_), Some(_)) => {} // submodule
            (Some(_mode), Some(id), Some(_)) if is_object_id(id) => {
                files.push((path, id.to_string()));
            }
            _ => return Err(bad_entry(command, &meta)),
        }
    }
    Ok(files)
}

fn split_tab(entry: &[u8], command: &str) -> Result<(String, String), GitError> {
    let tab = entry
        .iter()
        .position(|b| *b == b'\t')
        .ok_or_else(|| bad_entry(command, &String::from_utf8_lossy(entry)))?;
    Ok((
        String::from_utf8_lossy(&entry[..tab]).into_owned(),
        String::from_utf8_lossy(&entry[tab + 1..]).into_owned(),
    ))
}

fn bad_entry(command: &str, entry: &str) -> GitError {
    GitError::Protocol {
        command: command.to_string(),
        detail: format!("unreadable entry {entry:?}"),
    }
}

fn split_nul(output: &[u8]) -> Vec<String> {
    output
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// Quotes a path the way git's `unquote_c_style` reads it back; bytes above ASCII pass as is.
fn c_quote(path: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::with_capacity(path.len() + 2);
    quoted.push(b'"');
    for &byte in path {
        match byte {
            b'"' | b'\\' => quoted.extend([b'\\', byte]),
            b'\n' => quoted.extend(*b"\\n"),
            b'\r' => quoted.extend(*b"\\r"),
            b'\t' => quoted.extend(*b"\\t"),
            0..0x20 | 0x7f => quoted.extend(format!("\\{byte:03o}").bytes()),
            _ => quoted.push(byte),
        }
    }
    quoted.push(b'"');
    quoted
}

/// Hooks may get relative `GIT_DIR`/`GIT_INDEX_FILE` (relative to where the hook runs); git
/// would resolve them against `-C`'s directory, so anchor them to ours first.
fn absolutize_git_paths(env: &mut Vec<(OsString, Option<OsString>)>) {
    let Ok(cwd) = std::env::current_dir() else {
        return;
    };
    for key in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"] {
        let value = match env.iter().rev().find(|(k, _)| k == key) {
            Some((_, value)) => value.clone(),
            None => std::env::var_os(key),
        };
        if let Some(value) = value.filter(|v| !v.is_empty() && Path::new(v).is_relative()) {
            env.push((key.into(), Some(cwd.join(value).into_os_string())));
        }
    }
}

fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// How a git command is shown in messages (never run through a shell).
fn display<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut shown = String::from("git");
    for arg in args {
        shown.push(' ');
        shown.push_str(&arg.as_ref().to_string_lossy());
    }
    shown
}

fn spawn_error(command: &str, source: std::io::Error) -> GitError {
    if source.kind() == std::io::ErrorKind::NotFound {
        GitError::NotInstalled
    } else {
        GitError::Io {
            command: command.to_string(),
            source,
        }
    }
}

fn batch_error(detail: &str) -> GitError {
    GitError::Protocol {
        command: CAT_FILE.into(),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use tempfile::TempDir;

    /// Variables from an enclosing git hook (or the developer's config) must not leak into
    /// the throwaway repositories.
    fn clean_env() -> Vec<(OsString, Option<OsString>)> {
        let mut env: Vec<(OsString, Option<OsString>)> = [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_COMMON_DIR",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_CEILING_DIRECTORIES",
        ]
        .into_iter()
        .map(|k| (k.into(), None))
        .collect();
        env.push(("GIT_CONFIG_NOSYSTEM".into(), Some("1".into())));
        env.push(("GIT_CONFIG_GLOBAL".into(), Some("/dev/null".into())));
        env
    }

    /// Runs git for test setup; a missing git fails the test, it never skips it.
    fn git_with(dir: &Path, args: &[&str], extra: &[(&str, &OsStr)]) -> String {
        let mut command = Command::new("git");
        command.arg("-C").arg(dir);
        command.args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "protocol.file.allow=always",
        ]);
        command.args(args);
        for (key, value) in clean_env() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        let output = command.output().unwrap_or_else(|e| {
            panic!("these tests need git on PATH (install git: apt-get install git): {e}")
        });
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn git_cli(dir: &Path, args: &[&str]) -> String {
        git_with(dir, args, &[])
    }

    fn repo() -> TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        git_cli(dir.path(), &["init", "-q"]);
        dir
    }

    fn write(dir: &Path, path: &str, content: &str) {
        let file = dir.join(path);
        fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        fs::write(file, content).expect("write");
    }

    fn commit(dir: &Path, message: &str) -> String {
        git_cli(dir, &["add", "-A"]);
        git_cli(dir, &["commit", "-q", "--allow-empty", "-m", message]);
        git_cli(dir, &["rev-parse", "HEAD"])
    }

    fn open(dir: &Path) -> Git {
        Git::open_env(dir, clean_env()).expect("open repository")
    }

    fn kinds(changes: &[Change]) -> Vec<(ChangeKind, Option<&str>, Option<&str>)> {
        changes
            .iter()
            .map(|c| (c.status, c.old_path.as_deref(), c.new_path.as_deref()))
            .collect()
    }

    const BODY: &str = "def test_a():\n    assert compute(1) == 2\n    assert compute(2) == 4\n\n\
                        def test_b():\n    assert compute(3) == 6\n";

    #[test]
    fn changes_detects_rename_add_delete_modify() {
        let dir = repo();
        let d = dir.path();
        write(d, "tests/test_old.py", BODY);
        write(d, "tests/test_mod.py", "def test_m():\n    assert 1\n");
        write(d, "tests/test_gone.py", "def test_g():\n    assert 1\n");
        let base = commit(d, "base");
        fs::rename(d.join("tests/test_old.py"), d.join("tests/test_new.py")).expect("mv");
        write(d, "tests/test_mod.py", "def test_m():\n    pass\n");
        fs::remove_file(d.join("tests/test_gone.py")).expect("rm");
        write(d, "tests/test_added.py", "def test_x():\n    assert 2\n");
        let head = commit(d, "head");

        let git = open(d);
        let head = Side::Rev(git.resolve(&head).expect("head"));
        let changes = git.changes(&base, &head).expect("changes");
        assert_eq!(
            kinds(&changes),
            vec![
                (ChangeKind::Added, None, Some("tests/test_added.py")),
                (ChangeKind::Deleted, Some("tests/test_gone.py"), None),
                (
                    ChangeKind::Modified,
                    Some("tests/test_mod.py"),
                    Some("tests/test_mod.py")
                ),
                (
                    ChangeKind::Renamed { similarity: 100 },
                    Some("tests/test_old.py"),
                    Some("tests/test_new.py")
                ),
            ]
        );
        assert_eq!(changes[3].path(), "tests/test_new.py");
        assert_eq!(changes[1].path(), "tests/test_gone.py");
    }

    #[test]
    fn changes_cached_sees_staged_only_and_worktree_sees_all() {
        let dir = repo();
        let d = dir.path();
        write(d, "a.py", "a = 1\n");
        write(d, "b.py", "b = 1\n");
        let base = commit(d, "base");
        write(d, "a.py", "a = 2\n");
        git_cli(d, &["add", "a.py"]);
        write(d, "b.py", "b = 2\n");
        write(d, "new_untracked.py", "n = 1\n");
        write(d, ".gitignore", "ignored.py\n");
        write(d, "ignored.py", "i = 1\n");

        let mut git = open(d);
        let staged = git.changes(&base, &Side::Index).expect("cached");
        assert_eq!(
            kinds(&staged),
            vec![(ChangeKind::Modified, Some("a.py"), Some("a.py"))]
        );
        let worktree = git.changes(&base, &Side::WorkTree).expect("worktree");
        assert_eq!(
            kinds(&worktree),
            vec![
                (ChangeKind::Added, None, Some(".gitignore")),
                (ChangeKind::Modified, Some("a.py"), Some("a.py")),
                (ChangeKind::Modified, Some("b.py"), Some("b.py")),
                (ChangeKind::Added, None, Some("new_untracked.py")),
            ]
        );

        let base = Side::Rev(base);
        let read = |git: &mut Git, side: &Side| git.read(side, "b.py").expect("read");
        assert_eq!(read(&mut git, &base).as_deref(), Some(&b"b = 1\n"[..]));
        assert_eq!(
            read(&mut git, &Side::Index).as_deref(),
            Some(&b"b = 1\n"[..])
        );
        assert_eq!(
            read(&mut git, &Side::WorkTree).as_deref(),
            Some(&b"b = 2\n"[..])
        );

        let names = |side: &Side| -> Vec<String> {
            git.list(side)
                .expect("list")
                .into_iter()
                .map(|(p, _)| p)
                .collect()
        };
        assert_eq!(names(&base), vec!["a.py", "b.py"]);
        assert_eq!(names(&Side::Index), vec!["a.py", "b.py"]);
        assert_eq!(
            names(&Side::WorkTree),
            vec![".gitignore", "a.py", "b.py", "new_untracked.py"]
        );
    }

    #[test]
    fn worktree_blob_id_matches_what_git_add_stores() {
        let dir = repo();
        let d = dir.path();
        write(d, "a.py", "a = 1\n");
        commit(d, "base");
        write(d, "a.py", "a = 3\n");
        git_cli(d, &["add", "a.py"]);
        let git = open(d);
        let paths = ["a.py".to_string(), "missing.py".to_string()];
        let index = git.blob_ids(&Side::Index, &paths).expect("index ids");
        let worktree = git.blob_ids(&Side::WorkTree, &paths).expect("worktree ids");
        assert_eq!(index, worktree);
        assert!(index[0].is_some());
        assert_eq!(index[1], None);
    }

    #[test]
    fn index_side_honours_git_index_file() {
        let dir = repo();
        let d = dir.path();
        write(d, "tests/test_a.py", BODY);
        let base = commit(d, "base");
        write(d, "tests/test_a.py", "def test_a():\n    pass\n");
        // What pre-commit sees under `git commit -a`: a second index holding the commit.
        let alt = d.join(".git/index.alt");
        fs::copy(d.join(".git/index"), &alt).expect("copy index");
        git_with(
            d,
            &["add", "tests/test_a.py"],
            &[("GIT_INDEX_FILE", alt.as_os_str())],
        );

        let mut plain = open(d);
        assert_eq!(plain.changes(&base, &Side::Index).expect("changes"), vec![]);
        let mut env = clean_env();
        env.push(("GIT_INDEX_FILE".into(), Some(alt.into_os_string())));
        let mut hooked = Git::open_env(d, env).expect("open");
        assert_eq!(
            kinds(&hooked.changes(&base, &Side::Index).expect("changes")),
            vec![(
                ChangeKind::Modified,
                Some("tests/test_a.py"),
                Some("tests/test_a.py")
            )]
        );
        let path = "tests/test_a.py";
        assert_eq!(
            hooked.read(&Side::Index, path).expect("read").as_deref(),
            Some(&b"def test_a():\n    pass\n"[..])
        );
        assert_eq!(
            plain.read(&Side::Index, path).expect("read").as_deref(),
            Some(BODY.as_bytes())
        );
        let ids = |git: &Git| {
            git.blob_ids(&Side::Index, &[path.to_string()])
                .expect("ids")
        };
        assert_ne!(ids(&hooked), ids(&plain));
        assert_eq!(
            hooked.list(&Side::Index).expect("list")[0].1,
            ids(&hooked)[0].clone().expect("id")
        );
    }

    #[test]
    fn unknown_revision_suggests_fetch() {
        let dir = repo();
        let d = dir.path();
        write(d, "a.py", "a = 1\n");
        commit(d, "base");
        let git = open(d);
        let error = git.resolve("origin/no-such-branch").expect_err("unknown");
        let GitError::UnknownRevision { rev, hint } = &error else {
            panic!("expected UnknownRevision, got {error:?}");
        };
        assert_eq!(rev, "origin/no-such-branch");
        assert!(hint.contains("git fetch origin no-such-branch"), "{hint}");
        assert!(!hint.contains("unshallow"), "{hint}");
        assert_eq!(
            error.to_string(),
            "unknown revision `origin/no-such-branch`"
        );
        assert_eq!(error.hint().as_deref(), Some(hint.as_str()));
        // A tree is not a commit.
        assert!(matches!(
            git.resolve("HEAD:a.py"),
            Err(GitError::UnknownRevision { .. })
        ));
        assert!(git.resolve("HEAD").is_ok_and(|id| is_object_id(&id)));
    }

    #[test]
    fn revision_starting_with_dash_is_rejected_without_running_git() {
        let dir = repo();
        // No git can be found on this PATH: any git call would give NotInstalled instead.
        let mut git = Git {
            toplevel: dir.path().to_path_buf(),
            env: vec![(
                "PATH".into(),
                Some(dir.path().join("no-bin").into_os_string()),
            )],
            batch: None,
        };
        let dash = "--output=/tmp/pwned";
        fn invalid<T>(result: Result<T, GitError>) -> bool {
            matches!(result, Err(GitError::InvalidRevision { .. }))
        }
        assert!(invalid(git.resolve(dash)));
        assert!(invalid(git.changes(dash, &Side::Index)));
        assert!(invalid(git.changes("HEAD", &Side::Rev(dash.into()))));
        assert!(invalid(git.list(&Side::Rev(dash.into()))));
        assert!(invalid(
            git.blob_ids(&Side::Rev(dash.into()), &["a".into()])
        ));
        assert!(invalid(git.trailers("HEAD", dash, "Waiver")));
        assert!(invalid(git.read(&Side::Rev("-p".into()), "a.py")));
        assert!(matches!(git.resolve("HEAD"), Err(GitError::NotInstalled)));

        let message = validate_rev("-x").expect_err("dash").to_string();
        assert!(message.contains("starts with `-`"), "{message}");
        for (rev, why) in [
            ("", "empty"),
            ("  \t", "whitespace"),
            ("main\nHEAD", "line break"),
            ("main\0", "NUL"),
        ] {
            let message = validate_rev(rev).expect_err(rev).to_string();
            assert!(message.contains(why), "{rev:?}: {message}");
        }
        assert!(validate_rev("origin/main~3").is_ok());
    }

    #[test]
    fn missing_git_is_reported_as_not_installed() {
        let dir = repo();
        let mut env = clean_env();
        env.push((
            "PATH".into(),
            Some(dir.path().join("no-bin").into_os_string()),
        ));
        let error = Git::open_env(dir.path(), env).err().expect("no git");
        assert!(matches!(error, GitError::NotInstalled), "{error:?}");
        assert_eq!(error.to_string(), "git is not installed or not on PATH");
        assert_eq!(
            error.hint().as_deref(),
            Some("install git (apt-get install git)")
        );
    }

    #[test]
    fn directory_outside_a_repository_is_not_a_repo() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = clean_env();
        env.push((
            "GIT_CEILING_DIRECTORIES".into(),
            dir.path().parent().map(|p| p.as_os_str().to_owned()),
        ));
        let error = Git::open_env(dir.path(), env).err().expect("not a repo");
        assert!(matches!(error, GitError::NotARepo { .. }), "{error:?}");
        assert!(
            error.to_string().contains("not inside a git repository"),
            "{error}"
        );
        assert!(
            error.hint().is_some_and(|h| h.contains("git init")),
            "{error:?}"
        );
    }

    #[test]
    fn shallow_clone_without_base_suggests_unshallow() {
        let origin = repo();
        let o = origin.path();
        write(o, "a.py", "a = 1\n");
        let first = commit(o, "first");
        write(o, "a.py", "a = 2\n");
        commit(o, "second");
        let clone = tempfile::tempdir().expect("temp dir");
        let url = format!("file://{}", o.display());
        let target = clone.path().join("c");
        let target_str = target.to_str().expect("utf-8 temp path");
        git_cli(
            clone.path(),
            &["clone", "-q", "--depth", "1", &url, target_str],
        );

        let git = open(&target);
        let error = git.resolve(&first).expect_err("base not fetched");
        let GitError::UnknownRevision { hint, .. } = &error else {
            panic!("expected UnknownRevision, got {error:?}");
        };
        assert!(hint.contains("git fetch --unshallow"), "{hint}");
        assert!(hint.contains("--deepen"), "{hint}");
        assert!(git.resolve("HEAD").is_ok());
    }

    #[test]
    fn many_reads_share_one_cat_file_process() {
        let dir = repo();
        let d = dir.path();
        for i in 0..60 {
            write(d, &format!("tests/test_{i}.py"), &format!("value = {i}\n"));
        }
        let head = Side::Rev(commit(d, "many"));
        let mut git = open(d);
        assert_eq!(git.batch_pid(), None, "started lazily");
        let listed = git.list(&head).expect("list");
        assert_eq!(listed.len(), 60);
        let mut pid = None;
        for i in 0..60 {
            let path = format!("tests/test_{i}.py");
            let expected = format!("value = {i}\n").into_bytes();
            assert_eq!(
                git.read(&head, &path).expect("read rev"),
                Some(expected.clone())
            );
            assert_eq!(
                git.read(&Side::Index, &path).expect("read index"),
                Some(expected)
            );
            assert_eq!(git.read(&head, "tests/absent.py").expect("absent"), None);
            assert_eq!(git.read(&head, "tests").expect("directory"), None);
            let now = git.batch_pid();
            assert!(now.is_some());
            assert!(pid.is_none() || pid == now, "cat-file was restarted");
            pid = now;
        }
        for (path, id) in &listed {
            let content = git.read_blob(id).expect("blob");
            assert_eq!(Some(content), git.read(&head, path).expect("read"));
        }
        assert_eq!(git.batch_pid(), pid);
        let commit_id = git.resolve("HEAD").expect("head");
        assert!(matches!(
            git.read_blob(&commit_id),
            Err(GitError::NotABlob { .. })
        ));
        let missing = "0".repeat(40);
        assert!(matches!(
            git.read_blob(&missing),
            Err(GitError::MissingObject { .. })
        ));
        assert!(matches!(
            git.read_blob("HEAD"),
            Err(GitError::InvalidObjectId { .. })
        ));
        assert_eq!(
            git.batch_pid(),
            pid,
            "answers that are errors keep the process"
        );

        let pid = pid.expect("pid");
        drop(git);
        #[cfg(target_os = "linux")]
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "cat-file {pid} still running after drop"
        );
    }

    #[test]
    fn paths_with_spaces_non_ascii_and_quotes_work_on_every_side() {
        let dir = repo();
        let d = dir.path();
        let odd = [
            "dir with space/tést ü.py",
            "\"quoted\" \\back.py",
            "new\nline.py",
            "1:colon.py",
        ];
        for path in odd {
            write(d, path, &format!("# {path}\n"));
        }
        let base = commit(d, "odd names");
        let mut git = open(d);
        let rev = Side::Rev(base.clone());
        let paths: Vec<String> = odd.iter().map(|p| p.to_string()).collect();
        for side in [&rev, &Side::Index, &Side::WorkTree] {
            let ids = git.blob_ids(side, &paths).expect("ids");
            assert!(ids.iter().all(Option::is_some), "{side:?}: {ids:?}");
            let listed: HashMap<String, String> =
                git.list(side).expect("list").into_iter().collect();
            for (path, id) in paths.iter().zip(&ids) {
                assert_eq!(listed.get(path), id.as_ref(), "{side:?} {path:?}");
                let content = git.read(side, path).expect("read");
                assert_eq!(
                    content,
                    Some(format!("# {path}\n").into_bytes()),
                    "{side:?} {path:?}"
                );
            }
        }
        fs::rename(d.join(odd[0]), d.join("dir with space/renamed ü.py")).expect("mv");
        let changes = git.changes(&base, &Side::WorkTree).expect("changes");
        assert_eq!(
            kinds(&changes),
            vec![
                (ChangeKind::Deleted, Some("dir with space/tést ü.py"), None),
                (ChangeKind::Added, None, Some("dir with space/renamed ü.py")),
            ]
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
        );
        git_cli(d, &["add", "-A"]);
        let staged = git.changes(&base, &Side::Index).expect("staged");
        assert_eq!(
            kinds(&staged),
            vec![(
                ChangeKind::Renamed { similarity: 100 },
                Some("dir with space/tést ü.py"),
                Some("dir with space/renamed ü.py")
            )]
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_path_is_read_lossily_without_panicking() {
        use std::os::unix::ffi::OsStrExt;
        let dir = repo();
        let d = dir.path();
        write(d, "ok.py", "x = 1\n");
        let base = commit(d, "base");
        let name = OsStr::from_bytes(b"bad-\xff\xfe.py");
        fs::write(d.join(name), "y = 1\n").expect("write");
        let head = Side::Rev(commit(d, "bad name"));
        let mut git = open(d);
        let changes = git.changes(&base, &head).expect("changes");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path(), "bad-\u{fffd}\u{fffd}.py");
        for side in [&head, &Side::Index, &Side::WorkTree] {
            let listed = git.list(side).expect("list");
            assert!(
                listed.iter().any(|(p, _)| p.contains('\u{fffd}')),
                "{side:?}"
            );
            // The lossy name no longer names the file: it reads as absent, never a panic.
            assert_eq!(git.read(side, changes[0].path()).expect("read"), None);
        }
    }

    #[test]
    fn many_paths_are_looked_up_without_a_huge_command_line() {
        let dir = repo();
        let d = dir.path();
        let long = "x".repeat(60);
        let paths: Vec<String> = (0..400).map(|i| format!("t/{long}_{i}.py")).collect();
        for path in &paths {
            write(d, path, path);
        }
        let head = Side::Rev(commit(d, "many"));
        let git = open(d);
        let mut asked = paths.clone();
        asked.push("t/absent.py".into());
        assert!(asked.iter().map(String::len).sum::<usize>() > MAX_PATHSPEC_BYTES);
        for side in [&head, &Side::Index, &Side::WorkTree] {
            let ids = git.blob_ids(side, &asked).expect("ids");
            assert_eq!(ids.len(), 401);
            assert!(ids[..400].iter().all(Option::is_some), "{side:?}");
            assert_eq!(ids[400], None);
        }
    }

    #[test]
    fn trailers_collects_waivers_in_range() {
        let dir = repo();
        let d = dir.path();
        write(d, "a.py", "a = 1\n");
        let base = commit(d, "base\n\nRatchet-Waiver: not in range\n");
        write(d, "a.py", "a = 2\n");
        commit(
            d,
            "weaken\n\nRatchet-Waiver: tests/test_a.py::test_a flaky upstream\n\
             Signed-off-by: t <t@t>\nratchet-waiver: tests/test_b.py::test_b\n",
        );
        commit(
            d,
            "no trailers here\n\nJust prose: not a trailer block? yes it is\n",
        );
        let head = commit(
            d,
            "multi-line\n\nRatchet-Waiver: tests/test_c.py::test_c\n  continued reason\n",
        );
        let git = open(d);
        let waivers = git
            .trailers(&base, &head, "Ratchet-Waiver")
            .expect("trailers");
        assert_eq!(
            waivers,
            vec![
                "tests/test_a.py::test_a flaky upstream",
                "tests/test_b.py::test_b",
                "tests/test_c.py::test_c continued reason",
            ]
        );
        assert!(matches!(
            git.trailers(&base, &head, "Bad Key)"),
            Err(GitError::InvalidTrailerKey { .. })
        ));
        assert_eq!(
            git.trailers(&head, &head, "Ratchet-Waiver").expect("empty"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn name_status_parser_handles_every_status_and_rejects_garbage() {
        let output = b"R087\0old.py\0new.py\0C100\0a.py\0b.py\0T\0link\0U\0c.py\0A\0d.py\0";
        let changes = parse_name_status(output).expect("parse");
        assert_eq!(
            kinds(&changes),
            vec![
                (
                    ChangeKind::Renamed { similarity: 87 },
                    Some("old.py"),
                    Some("new.py")
                ),
                (
                    ChangeKind::Copied { similarity: 100 },
                    Some("a.py"),
                    Some("b.py")
                ),
                (ChangeKind::TypeChanged, Some("link"), Some("link")),
                (ChangeKind::Unmerged, Some("c.py"), Some("c.py")),
                (ChangeKind::Added, None, Some("d.py")),
            ]
        );
        assert_eq!(parse_name_status(b"").expect("empty"), vec![]);
        for garbage in [
            &b"M\0"[..],
            b"R100\0only-old\0",
            b"Rxx\0a\0b\0",
            b"R101\0a\0b\0",
            b"X\0a\0",
            b"\xff\0a\0",
            b"R\0a\0b\0",
        ] {
            assert!(parse_name_status(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn listing_parsers_reject_garbage_and_conflicts() {
        let id = "a".repeat(40);
        let tree =
            format!("100644 blob {id}\tx.py\x00040000 tree {id}\td\x00160000 commit {id}\tsub\x00");
        assert_eq!(
            parse_ls_tree(tree.as_bytes(), "t").expect("tree"),
            vec![("x.py".to_string(), id.clone())]
        );
        assert!(parse_ls_tree(b"no tab here\0", "t").is_err());
        assert!(parse_ls_tree(b"100644 blob\tx\0", "t").is_err());
        let staged = format!("100644 {id} 0\tx.py\x00160000 {id} 0\tsub\x00");
        assert_eq!(
            parse_ls_files_stage(staged.as_bytes(), "t").expect("stage"),
            vec![("x.py".to_string(), id.clone())]
        );
        let conflict = format!("100644 {id} 2\tc.py\x00");
        assert!(matches!(
            parse_ls_files_stage(conflict.as_bytes(), "t"),
            Err(GitError::Unmerged { .. })
        ));
        assert_eq!(
            parse_batch_header(&format!("{id} blob 12")),
            Some(("blob".into(), 12))
        );
        for bad in [
            "",
            "x blob 1",
            &format!("{id} blob"),
            &format!("{id} blob -1"),
            &format!("{id} blob 1 2"),
        ] {
            assert_eq!(parse_batch_header(bad), None, "{bad:?}");
        }
        assert_eq!(
            c_quote("a\"b\\c\nd\u{1}é".as_bytes()),
            "\"a\\\"b\\\\c\\nd\\001é\"".as_bytes()
        );
        assert_eq!(c_quote(b"\xff"), b"\"\xff\"");
    }

    #[test]
    fn relative_git_index_file_is_anchored_to_our_directory() {
        // A hook may get `GIT_INDEX_FILE=.git/index.lock`; git run with `-C top` would
        // otherwise resolve it against `top`, not against where the hook runs.
        let mut env = vec![("GIT_INDEX_FILE".into(), Some(".git/index.alt".into()))];
        absolutize_git_paths(&mut env);
        let cwd = std::env::current_dir().expect("cwd");
        let last = env.iter().rev().find(|(k, _)| k == "GIT_INDEX_FILE");
        assert_eq!(
            last.and_then(|(_, v)| v.clone()),
            Some(cwd.join(".git/index.alt").into_os_string())
        );
        let mut removed = vec![("GIT_INDEX_FILE".into(), None)];
        absolutize_git_paths(&mut removed);
        assert!(
            removed
                .iter()
                .all(|(k, v)| k != "GIT_INDEX_FILE" || v.is_none())
        );
    }

    #[test]
    fn read_rejects_nul_in_path() {
        let dir = repo();
        let mut git = open(dir.path());
        assert!(matches!(
            git.read(&Side::Index, "a\0b"),
            Err(GitError::InvalidPath { .. })
        ));
        assert!(matches!(
            git.blob_ids(&Side::WorkTree, &["".into()]),
            Err(GitError::InvalidPath { .. })
        ));
    }
}
