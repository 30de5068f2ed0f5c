//! Deeply nested and very long code must not overflow the stack or hang anywhere in the
//! pipeline: parse, facts, flow, resolution, call graph, checks, and the ratchet's Python and
//! Rust test readers. Each input runs on a thread with a 2 MiB stack, the size of the rayon
//! workers that extract facts in the real binary.

use std::time::Instant;

fn on_small_stack(name: &str, source: String) {
    let started = Instant::now();
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(2 * 1024 * 1024)
        .spawn(move || deployguard::fuzzing::file_pipeline(source.as_bytes()))
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("{name}: the pipeline panicked"));
    eprintln!("{name}: {:?}", started.elapsed());
}

fn nested_lines(n: usize, header: impl Fn(usize) -> String, body: &str) -> String {
    let mut src = String::new();
    for level in 0..n {
        src.push_str(&" ".repeat(level));
        src.push_str(&header(level));
        src.push('\n');
    }
    src.push_str(&" ".repeat(n));
    src.push_str(body);
    src.push('\n');
    src
}

#[test]
fn ten_thousand_nested_parentheses() {
    on_small_stack(
        "parens",
        format!(
            "x = {}deploy_app(1){}\n",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
    );
}

#[test]
fn a_thousand_nested_ifs() {
    on_small_stack(
        "ifs",
        nested_lines(1000, |_| "if a:".into(), "deploy_app(1)"),
    );
}

#[test]
fn a_thousand_nested_functions_and_classes() {
    on_small_stack(
        "defs",
        nested_lines(1000, |i| format!("def f{i}():"), "deploy_app(1)"),
    );
    on_small_stack(
        "classes",
        nested_lines(1000, |i| format!("class C{i}:"), "deploy_app(1)"),
    );
    on_small_stack(
        "loops",
        nested_lines(1000, |i| format!("for x{i} in y:"), "deploy_app(1)"),
    );
}

#[test]
fn a_five_megabyte_one_line_expression() {
    let mut src = String::from("x = a0");
    for i in 1.. {
        if src.len() >= 5 * 1024 * 1024 {
            break;
        }
        src.push_str(&format!(" + a{}", i % 1000));
    }
    src.push('\n');
    assert!(src.len() >= 5 * 1024 * 1024);
    on_small_stack("long expression", src);
}

#[test]
fn deep_calls_subscripts_attributes_and_operators() {
    let n = 10_000;
    on_small_stack(
        "calls",
        format!("x = {}deploy_app{}\n", "f(".repeat(n), ")".repeat(n)),
    );
    on_small_stack("call chain", format!("x = deploy_app{}\n", "()".repeat(n)));
    on_small_stack("subscripts", format!("x = a{}\n", "[0]".repeat(n)));
    on_small_stack("attributes", format!("x = a{}\n", ".b".repeat(100_000)));
    on_small_stack("method chain", format!("x = a{}\n", ".b()".repeat(n)));
    on_small_stack("unary", format!("x = {}a\n", "not ".repeat(n)));
    on_small_stack("negation", format!("x = {}a\n", "-".repeat(n)));
    on_small_stack(
        "lambdas",
        format!("x = {}deploy_app\n", "lambda: ".repeat(n)),
    );
    on_small_stack("power", format!("x = a{}\n", " ** a".repeat(n)));
    on_small_stack(
        "conditional",
        format!("x = a{}\n", " if b else a".repeat(n)),
    );
    on_small_stack("comparison", format!("x = a{}\n", " < a".repeat(n)));
    on_small_stack("strings", format!("x = {}\n", "'a' ".repeat(n)));
    on_small_stack("lists", format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)));
    on_small_stack(
        "dicts",
        format!("x = {}1{}\n", "{1: ".repeat(n), "}".repeat(n)),
    );
    on_small_stack(
        "comprehensions",
        format!("x = {}a{}\n", "[".repeat(500), " for a in b]".repeat(500)),
    );
    on_small_stack(
        "decorators",
        format!("{}def f():\n    deploy_app(1)\n", "@d\n".repeat(n)),
    );
    on_small_stack(
        "assignments",
        format!(
            "{}\n",
            (0..n)
                .map(|i| format!("a{} = a{}", i + 1, i))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
}
