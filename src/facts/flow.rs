//! Flow skeletons: each scope's statements reduced to what path-sensitive checks need.
//!
//! A skeleton keeps calls (in evaluation order), branches, loops, `try`, `return`/`raise`
//! and subscript stores/deletes (for `os.environ[...]`). Checks such as DG006 ("the pop
//! precedes the deploy on every path") and the deploy budget walk it instead of the tree.

use tree_sitter::Node;

use super::extract::string_literal;
use super::{Expr, ScopeIdx, ScopeKind, TextRange};

/// Statements nested deeper than this are summarized as `Step::Opaque`.
const MAX_BLOCK_DEPTH: usize = 100;

pub type Block = Vec<Step>;

/// An `if key in container:` condition: the else path knows the key is absent.
#[derive(Clone, Debug)]
pub struct Membership {
    pub key: Expr,
    pub container: Expr,
    pub negated: bool,
}

#[derive(Clone, Debug)]
pub enum Step {
    /// The scope's `calls[index]` runs here.
    Call(usize),
    /// `target[key] = value`
    Store {
        target: Expr,
        key: Expr,
        value: Expr,
    },
    /// `del target[key]`
    Delete {
        target: Expr,
        key: Expr,
    },
    /// Exactly one branch runs; `exhaustive` is false when no branch may run at all.
    /// `membership` is the condition when it is `key in container` (or `not in`).
    If {
        branches: Vec<Block>,
        exhaustive: bool,
        membership: Option<Membership>,
        /// The condition of the first branch (`if`/`elif`), and the calls it makes.
        condition: Option<Expr>,
        /// The whole `if` statement (or `elif` clause onwards).
        range: TextRange,
        condition_calls: Vec<usize>,
    },
    /// `name = value` (simple names only).
    Bind {
        name: String,
        value: Expr,
        range: TextRange,
    },
    /// `for`/`while`: the body runs zero or more times.
    Loop {
        /// What a `for` loop iterates over (`None` for `while`).
        over: Option<Expr>,
        body: Block,
        orelse: Block,
        infinite: bool,
        range: TextRange,
    },
    Try {
        body: Block,
        handlers: Vec<Block>,
        orelse: Block,
        finally: Block,
    },
    Return(TextRange, Option<Expr>),
    Raise(TextRange),
    Break,
    Continue,
    /// Code nested too deeply to follow: checks treat it as unknown.
    Opaque(TextRange),
}

impl Step {
    /// The blocks nested in this step (branches, loop bodies, try clauses), in order.
    pub fn blocks(&self) -> Vec<&Block> {
        match self {
            Step::If { branches, .. } => branches.iter().collect(),
            Step::Loop { body, orelse, .. } => vec![body, orelse],
            Step::Try {
                body,
                handlers,
                orelse,
                finally,
            } => std::iter::once(body)
                .chain(handlers.iter())
                .chain([orelse, finally])
                .collect(),
            _ => Vec::new(),
        }
    }
}

struct FlowBuilder<'a, 's> {
    source: &'s [u8],
    /// (start, end, index) of the scope's calls, sorted by start.
    calls: Vec<(u32, u32, usize)>,
    expr: &'a dyn Fn(Node<'s>) -> Expr,
    truncated: bool,
}

pub(super) fn build_flow<'s>(
    extractor: &mut super::extract::Extractor<'s>,
    root: Node<'s>,
    opened: &[(ScopeIdx, Node<'s>)],
) {
    let mut bodies: Vec<(ScopeIdx, Node<'s>)> = vec![(0, root)];
    for &(idx, node) in opened {
        if extractor.scopes_mut()[idx].kind == ScopeKind::Class {
            continue;
        }
        if let Some(body) = node.child_by_field_name("body") {
            bodies.push((idx, body));
        }
    }
    for (idx, body) in bodies {
        let mut calls: Vec<(u32, u32, usize)> = extractor.scopes_mut()[idx]
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.range.start, c.range.end, i))
            .collect();
        calls.sort();
        let (flow, truncated) = {
            let ex = &*extractor;
            let expr = |n: Node<'s>| ex.expr(n);
            let mut builder = FlowBuilder {
                source: ex.source_bytes(),
                calls,
                expr: &expr,
                truncated: false,
            };
            let flow = if body.kind() == "block" || body.kind() == "module" {
                builder.block(body, 0)
            } else {
                // A lambda's body is one expression.
                let mut steps = Vec::new();
                builder.calls_in(&mut steps, body);
                steps
            };
            (flow, builder.truncated)
        };
        let scope = &mut extractor.scopes_mut()[idx];
        scope.flow = flow;
        scope.flow_truncated = truncated;
    }
}

impl<'s> FlowBuilder<'_, 's> {
    fn block(&mut self, block: Node<'s>, depth: usize) -> Block {
        let mut steps = Vec::new();
        if depth > MAX_BLOCK_DEPTH {
            self.truncated = true;
            steps.push(Step::Opaque(TextRange::of(&block)));
            return steps;
        }
        let mut walk = block.walk();
        let statements: Vec<Node<'s>> = block.named_children(&mut walk).collect();
        for statement in statements {
            self.statement(&mut steps, statement, depth);
        }
        steps
    }

    /// Emits `Step::Call` for this scope's calls inside `node`, in evaluation order
    /// (a call runs after the calls in its arguments, i.e. ordered by end).
    fn calls_in(&mut self, steps: &mut Block, node: Node<'s>) {
        let (start, end) = (node.start_byte() as u32, node.end_byte() as u32);
        let first = self.calls.partition_point(|c| c.0 < start);
        let mut inside: Vec<(u32, usize)> = self.calls[first..]
            .iter()
            .take_while(|c| c.0 < end)
            .filter(|c| c.1 <= end)
            .map(|c| (c.1, c.2))
            .collect();
        inside.sort();
        steps.extend(inside.into_iter().map(|(_, index)| Step::Call(index)));
    }

    fn field_calls(&mut self, steps: &mut Block, node: Node<'s>, field: &str) {
        if let Some(child) = node.child_by_field_name(field) {
            self.calls_in(steps, child);
        }
    }

    fn statement(&mut self, steps: &mut Block, node: Node<'s>, depth: usize) {
        match node.kind() {
            "if_statement" => {
                self.field_calls(steps, node, "condition");
                let mut walk = node.walk();
                let alternatives: Vec<Node<'s>> = node
                    .children_by_field_name("alternative", &mut walk)
                    .collect();
                let consequence = self.field_block(node, "consequence", depth);
                let mut step =
                    self.if_chain(consequence, self.membership(node), &alternatives, depth);
                self.set_condition(&mut step, node);
                steps.push(step);
            }
            "for_statement" => {
                self.field_calls(steps, node, "right");
                let over = node.child_by_field_name("right").map(|r| (self.expr)(r));
                let body = self.field_block(node, "body", depth);
                let orelse = self.else_block(node, depth);
                steps.push(Step::Loop {
                    over,
                    body,
                    orelse,
                    infinite: false,
                    range: TextRange::of(&node),
                });
            }
            "while_statement" => {
                let mut condition_calls = Vec::new();
                self.field_calls(&mut condition_calls, node, "condition");
                steps.extend(condition_calls.iter().cloned());
                let infinite = node
                    .child_by_field_name("condition")
                    .is_some_and(|c| c.kind() == "true" || c.utf8_text(self.source) == Ok("1"));
                let mut body = self.field_block(node, "body", depth);
                body.extend(condition_calls);
                let orelse = self.else_block(node, depth);
                steps.push(Step::Loop {
                    over: None,
                    body,
                    orelse,
                    infinite,
                    range: TextRange::of(&node),
                });
            }
            "try_statement" => {
                let body = self.field_block(node, "body", depth);
                let (mut handlers, mut orelse, mut finally) = (Vec::new(), Vec::new(), Vec::new());
                let mut walk = node.walk();
                let clauses: Vec<Node<'s>> = node.named_children(&mut walk).collect();
                for clause in clauses {
                    match clause.kind() {
                        "except_clause" | "except_group_clause" => {
                            let mut handler = Vec::new();
                            self.field_calls(&mut handler, clause, "value");
                            if let Some(block) = last_block(clause) {
                                handler.extend(self.block(block, depth + 1));
                            }
                            handlers.push(handler);
                        }
                        "else_clause" => orelse = self.field_block(clause, "body", depth),
                        "finally_clause" => {
                            if let Some(block) = last_block(clause) {
                                finally = self.block(block, depth + 1);
                            }
                        }
                        _ => {}
                    }
                }
                steps.push(Step::Try {
                    body,
                    handlers,
                    orelse,
                    finally,
                });
            }
            "with_statement" => {
                let mut walk = node.walk();
                let clause = node
                    .named_children(&mut walk)
                    .find(|c| c.kind() == "with_clause");
                if let Some(clause) = clause {
                    self.calls_in(steps, clause);
                }
                steps.extend(self.field_block(node, "body", depth));
            }
            "match_statement" => {
                self.field_calls(steps, node, "subject");
                let mut branches = Vec::new();
                let mut exhaustive = false;
                if let Some(body) = node.child_by_field_name("body") {
                    let mut walk = body.walk();
                    let cases: Vec<Node<'s>> = body.named_children(&mut walk).collect();
                    for case in cases.into_iter().filter(|c| c.kind() == "case_clause") {
                        let mut branch = Vec::new();
                        self.field_calls(&mut branch, case, "guard");
                        let is_wildcard = case.child_by_field_name("guard").is_none()
                            && case
                                .named_child(0)
                                .and_then(|p| p.utf8_text(self.source).ok())
                                == Some("_");
                        exhaustive |= is_wildcard;
                        branch.extend(self.field_block(case, "consequence", depth));
                        branches.push(branch);
                    }
                }
                steps.push(Step::If {
                    branches,
                    exhaustive,
                    membership: None,
                    condition: None,
                    range: TextRange::default(),
                    condition_calls: Vec::new(),
                });
            }
            "decorated_definition" | "function_definition" | "class_definition" => {
                // Only decorators and defaults run here; bodies are their own scopes.
                self.calls_in(steps, node);
            }
            "return_statement" => {
                self.calls_in(steps, node);
                let value = node.named_child(0).map(|v| (self.expr)(v));
                steps.push(Step::Return(TextRange::of(&node), value));
            }
            "raise_statement" => {
                self.calls_in(steps, node);
                steps.push(Step::Raise(TextRange::of(&node)));
            }
            "break_statement" => steps.push(Step::Break),
            "continue_statement" => steps.push(Step::Continue),
            "delete_statement" => {
                self.calls_in(steps, node);
                let mut walk = node.walk();
                let targets: Vec<Node<'s>> = node.named_children(&mut walk).collect();
                for target in targets.iter().flat_map(|t| flatten_targets(*t)) {
                    if let Some((object, key)) = self.subscript(target) {
                        steps.push(Step::Delete {
                            target: object,
                            key,
                        });
                    }
                }
            }
            "expression_statement" => {
                self.calls_in(steps, node);
                if let Some(augmented) = node
                    .named_child(0)
                    .filter(|n| n.kind() == "augmented_assignment")
                    && let (Some(left), Some(op), Some(right)) = (
                        augmented.child_by_field_name("left"),
                        augmented.child_by_field_name("operator"),
                        augmented.child_by_field_name("right"),
                    )
                    && left.kind() == "identifier"
                {
                    let op = op
                        .utf8_text(self.source)
                        .unwrap_or("")
                        .trim_end_matches('=');
                    steps.push(Step::Bind {
                        name: super::identifier(left.utf8_text(self.source).unwrap_or(""))
                            .into_owned(),
                        value: Expr::BinOp(
                            op.to_string(),
                            Box::new((self.expr)(left)),
                            Box::new((self.expr)(right)),
                        ),
                        range: TextRange::of(&augmented),
                    });
                }
                if let Some(assignment) = node.named_child(0).filter(|n| n.kind() == "assignment")
                    && let Some(left) = assignment.child_by_field_name("left")
                {
                    if left.kind() == "identifier"
                        && let Some(right) = assignment.child_by_field_name("right")
                    {
                        steps.push(Step::Bind {
                            name: super::identifier(left.utf8_text(self.source).unwrap_or(""))
                                .into_owned(),
                            value: (self.expr)(right),
                            range: TextRange::of(&assignment),
                        });
                    }
                    let value = assignment
                        .child_by_field_name("right")
                        .map_or(Expr::Opaque, |right| (self.expr)(right));
                    for target in flatten_targets(left) {
                        if let Some((object, key)) = self.subscript(target) {
                            steps.push(Step::Store {
                                target: object,
                                key,
                                value: value.clone(),
                            });
                        }
                    }
                }
            }
            _ => self.calls_in(steps, node),
        }
    }

    fn field_block(&mut self, node: Node<'s>, field: &str, depth: usize) -> Block {
        match node.child_by_field_name(field) {
            Some(block) => self.block(block, depth + 1),
            None => Vec::new(),
        }
    }

    fn else_block(&mut self, node: Node<'s>, depth: usize) -> Block {
        match node.child_by_field_name("alternative") {
            Some(clause) => self.field_block(clause, "body", depth),
            None => Vec::new(),
        }
    }

    /// `if a: A elif b: B else: C` becomes `If[A, [calls(b), If[B, C]]]`.
    fn if_chain(
        &mut self,
        consequence: Block,
        membership: Option<Membership>,
        alternatives: &[Node<'s>],
        depth: usize,
    ) -> Step {
        let Some((first, rest)) = alternatives.split_first() else {
            return Step::If {
                branches: vec![consequence],
                exhaustive: false,
                membership,
                condition: None,
                range: TextRange::default(),
                condition_calls: Vec::new(),
            };
        };
        if first.kind() == "else_clause" {
            let orelse = self.field_block(*first, "body", depth);
            return Step::If {
                branches: vec![consequence, orelse],
                exhaustive: true,
                membership,
                condition: None,
                range: TextRange::default(),
                condition_calls: Vec::new(),
            };
        }
        let mut orelse = Vec::new();
        self.field_calls(&mut orelse, *first, "condition");
        let elif_consequence = self.field_block(*first, "consequence", depth);
        let elif_membership = self.membership(*first);
        let mut elif = self.if_chain(elif_consequence, elif_membership, rest, depth + 1);
        self.set_condition(&mut elif, *first);
        orelse.push(elif);
        Step::If {
            branches: vec![consequence, orelse],
            exhaustive: true,
            membership,
            condition: None,
            range: TextRange::default(),
            condition_calls: Vec::new(),
        }
    }

    fn set_condition(&mut self, step: &mut Step, node: Node<'s>) {
        if let (
            Step::If {
                condition,
                condition_calls,
                range,
                ..
            },
            Some(test),
        ) = (step, node.child_by_field_name("condition"))
        {
            *condition = Some((self.expr)(test));
            *range = TextRange::of(&node);
            let mut calls = Vec::new();
            self.calls_in(&mut calls, test);
            *condition_calls = calls
                .into_iter()
                .filter_map(|s| if let Step::Call(i) = s { Some(i) } else { None })
                .collect();
        }
    }

    /// `key in container` / `key not in container` as an `if`/`elif` condition.
    fn membership(&self, node: Node<'s>) -> Option<Membership> {
        let condition = node.child_by_field_name("condition")?;
        if condition.kind() != "comparison_operator" || condition.named_child_count() != 2 {
            return None;
        }
        let mut walk = condition.walk();
        let operator: Vec<&str> = condition
            .children(&mut walk)
            .filter(|c| !c.is_named())
            .filter_map(|c| c.utf8_text(self.source).ok())
            .collect();
        let negated = match operator
            .concat()
            .split_whitespace()
            .collect::<String>()
            .as_str()
        {
            "in" => false,
            "notin" => true,
            _ => return None,
        };
        let key = condition.named_child(0)?;
        let key = match key.kind() {
            "string" | "concatenated_string" => {
                string_literal(key, self.source).map_or(Expr::Opaque, Expr::Str)
            }
            _ => (self.expr)(key),
        };
        Some(Membership {
            key,
            container: (self.expr)(condition.named_child(1)?),
            negated,
        })
    }

    fn subscript(&self, target: Node<'s>) -> Option<(Expr, Expr)> {
        if target.kind() != "subscript" {
            return None;
        }
        let object = (self.expr)(target.child_by_field_name("value")?);
        let key = target.child_by_field_name("subscript")?;
        let key = match key.kind() {
            "string" | "concatenated_string" => {
                string_literal(key, self.source).map_or(Expr::Opaque, Expr::Str)
            }
            _ => (self.expr)(key),
        };
        Some((object, key))
    }
}

fn last_block(node: Node) -> Option<Node> {
    let mut walk = node.walk();
    node.named_children(&mut walk)
        .filter(|c| c.kind() == "block")
        .last()
}

/// `a, b[k] = ...` and `del a, b[k]`: the individual targets.
fn flatten_targets(node: Node) -> Vec<Node> {
    match node.kind() {
        "pattern_list" | "tuple_pattern" | "list_pattern" | "expression_list" | "tuple" => {
            let mut walk = node.walk();
            node.named_children(&mut walk).collect()
        }
        _ => vec![node],
    }
}
