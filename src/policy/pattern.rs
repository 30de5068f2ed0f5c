//! Function patterns: dotted names matched against qualified names by suffix.
//!
//! `deploy_app` matches `harness.lifecycle.deploy_app`; `deps.*` matches any function
//! directly in a module or class named `deps`; `deps.**` anything below it.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    segments: Vec<String>,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("a function pattern cannot be empty".into());
        }
        let segments: Vec<String> = trimmed.split('.').map(str::to_string).collect();
        if let Some(bad) = segments.iter().find(|s| !valid_segment(s)) {
            return Err(format!(
                "`{bad}` in `{trimmed}` is not a Python name, `*` or `**` (write dotted names like `harness.lifecycle.deploy_app`)"
            ));
        }
        Ok(Pattern {
            text: trimmed.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the qualified name ends with this pattern.
    pub fn matches(&self, qualname: &str) -> bool {
        let names: Vec<&str> = qualname.split('.').collect();
        (0..names.len()).any(|start| matches_from(&self.segments, &names[start..]))
    }
}

fn valid_segment(segment: &str) -> bool {
    segment == "*"
        || segment == "**"
        || (!segment.is_empty()
            && !segment.starts_with(|c: char| c.is_ascii_digit())
            && segment.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// Anchored match of pattern segments against the whole of `names`.
fn matches_from(pattern: &[String], names: &[&str]) -> bool {
    match pattern.split_first() {
        None => names.is_empty(),
        Some((first, rest)) if first == "**" => {
            (1..=names.len()).any(|skip| matches_from(rest, &names[skip..]))
        }
        Some((first, rest)) => match names.split_first() {
            Some((name, more)) => (first == "*" || first == name) && matches_from(rest, more),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn suffix_matches() {
        let p = Pattern::parse("deploy_app").unwrap();
        assert!(p.matches("harness.lifecycle.deploy_app"));
        assert!(!p.matches("harness.lifecycle.deploy_apps"));
        assert!(!p.matches("harness.lifecycle.deploy_app.inner"));
        let p = Pattern::parse("lifecycle.deploy_app").unwrap();
        assert!(p.matches("harness.lifecycle.deploy_app"));
        assert!(!p.matches("harness.other.deploy_app"));
    }

    #[test]
    fn wildcards() {
        let one = Pattern::parse("harness.deps.*").unwrap();
        assert!(one.matches("harness.deps.deploy_deps"));
        assert!(!one.matches("harness.deps.Deps.run"));
        let any = Pattern::parse("harness.deps.**").unwrap();
        assert!(any.matches("harness.deps.Deps.run"));
        assert!(!any.matches("harness.deps"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Pattern::parse("").is_err());
        assert!(Pattern::parse("a..b").is_err());
        assert!(Pattern::parse("a.b-c").is_err());
    }
}
