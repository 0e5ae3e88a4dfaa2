//! The terminal table: it fits the terminal (80 columns in a pipe, the
//! width of `$COLUMNS` otherwise, everything with `--wide`), colours the
//! verdicts when colour is wanted, and draws with ASCII when the locale or
//! the terminal cannot show box lines.


use crate::common::{FAULTBOX, Scratch};
use std::process::Command;

/// faultbox with a clean, known terminal environment plus `env`.
fn faultbox(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(FAULTBOX);
    cmd.args(args);
    for k in ["COLUMNS", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "LC_ALL", "LC_CTYPE", "TERM"] {
        cmd.env_remove(k);
    }
    cmd.env("LANG", "C.UTF-8").env("TERM", "xterm-256color");
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "faultbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn compare_fits_80_columns_in_a_pipe() {
    // The full run's table: every scenario, language and model.
    let at80 = &crate::common::full_run().table;
    assert!(widest(at80) <= 80, "wider than 80:\n{at80}");
    for name in ["bounded_deep_recursion", "null_write", "kill_parent"] {
        assert!(at80.contains(name), "{name} missing");
    }
    // A row per (scenario, language), the language in a narrow column.
    let header = at80.lines().nth(1).unwrap();
    assert!(header.split_whitespace().any(|w| w == "lang"), "{header}");
    assert!(at80.lines().any(|l| l.split_whitespace().take(2).eq(["null_write", "rust"])), "{at80}");
    // The summary counts per language.
    assert!(at80.lines().any(|l| l.starts_with("rust · ")), "{at80}");
}

fn compare_fits_the_width_of_columns() {
    let at120 = faultbox(&["compare", "--language", "rust"], &[("COLUMNS", "120")]);
    assert!(widest(&at120) <= 120, "wider than 120:\n{at120}");
    for name in ["bounded_deep_recursion", "null_write", "kill_parent"] {
        assert!(at120.contains(name), "{name} missing");
    }
    // The wasm engines share a column, a family's configurations under its name.
    assert!(at120.contains("wasmtime = wasm, wasm-explicit, wasm-pulley"), "{at120}");
    assert!(at120.lines().nth(1).unwrap().split_whitespace().any(|w| w == "wasmtime"), "a family's configurations under its name: {at120}");
}

fn wide_shows_every_model_and_the_category_in_columns() {
    let wide = faultbox(&["compare", "--wide", "--scenario", "null_"], &[]);
    let header = wide.lines().nth(1).unwrap();
    let models = faultbox::model::ExecutionModel::ALL.map(|m| m.name());
    for col in ["scenario", "language", "category"].into_iter().chain(models) {
        assert!(header.split_whitespace().any(|w| w == col), "`{col}` not a column: {header}");
    }
    assert!(widest(&wide) > 80, "--wide is not limited to the pipe width:\n{wide}");
}

fn list_fits_80_columns() {
    let list = faultbox(&["list"], &[]);
    assert!(widest(&list) <= 80, "{list}");
    assert!(list.contains("bounded_deep_recursion") && list.contains("scenarios in"), "{list}");
    let header = list.lines().nth(1).unwrap();
    assert!(header.split_whitespace().any(|w| w == "lang"), "one row per (scenario, language): {header}");
}

fn verdicts_are_coloured_only_when_colour_is_wanted() {
    let args = ["compare", "--scenario", "null_write", "--model", "native"];
    let esc = |s: &str| s.contains("\x1b[");
    assert!(!esc(&faultbox(&args, &[])), "a pipe gets no colour by default");
    let always = faultbox(&[&args[..], &["--color", "always"]].concat(), &[]);
    assert!(always.contains("\x1b[1m\x1b[38;5;203mcrashed"), "crashed in the HTML grid's red: {always:?}");
    assert!(esc(&faultbox(&args, &[("CLICOLOR_FORCE", "1")])), "CLICOLOR_FORCE forces colour");
    assert!(!esc(&faultbox(&args, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])), "NO_COLOR wins");
    assert!(!esc(&faultbox(&[&args[..], &["--color", "never"]].concat(), &[("CLICOLOR_FORCE", "1")])));
}

fn box_lines_need_a_utf8_locale_and_a_terminal_that_is_not_dumb() {
    let args = ["list"];
    let boxed = |s: &str| s.contains('─') || s.contains('═');
    assert!(boxed(&faultbox(&args, &[])));
    let c = faultbox(&args, &[("LANG", "C")]);
    assert!(!boxed(&c) && c.is_ascii(), "C locale: {c}");
    assert!(!boxed(&faultbox(&args, &[("TERM", "dumb")])), "TERM=dumb");
    assert!(!boxed(&faultbox(&args, &[("LC_ALL", "POSIX")])), "LC_ALL decides before LANG");
}

fn the_readme_excerpt_fits_100_columns_and_the_readme_defines_every_verdict() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme.find("An excerpt of `compare`").expect("the excerpt");
    let block = readme[start..].split("```").nth(1).expect("its code block");
    assert!(block.contains("bounded_deep_recursion"), "{block}");
    for line in block.lines() {
        assert!(line.chars().count() <= 100, "wider than 100 columns: {line}");
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/report.schema.json")).unwrap(),
    )
    .unwrap();
    let verdicts = schema["$defs"]["Verdict"]["oneOf"].as_array().expect("verdicts in the schema");
    for v in verdicts {
        let name = v["const"].as_str().or_else(|| v["enum"][0].as_str()).unwrap();
        assert!(readme.contains(&format!("| `{name}` |")), "the README's verdict table lacks `{name}`");
    }
}

/// Scenarios are a folder of their own: a copy of it, put anywhere, loads
/// and runs, `.wat` guests included.
fn a_copy_of_the_scenarios_folder_runs_elsewhere() {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = Scratch::new("copied-catalog");
    copy(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios")), &dir.0.join("elsewhere"));
    let catalog = dir.0.join("elsewhere");
    let list = faultbox(&["list", "--scenarios", catalog.to_str().unwrap()], &[]);
    let run = faultbox(&["run", "gc_bad_cast", "--model", "wasm", "--check", "--scenarios", catalog.to_str().unwrap()], &[]);
    assert!(list.contains("gc_bad_cast") && list.contains("indirect_call_null"), "{list}");
    assert!(run.contains("recovered"), "{run}");
}

crate::trials!(
    compare_fits_80_columns_in_a_pipe,
    compare_fits_the_width_of_columns,
    wide_shows_every_model_and_the_category_in_columns,
    list_fits_80_columns,
    verdicts_are_coloured_only_when_colour_is_wanted,
    box_lines_need_a_utf8_locale_and_a_terminal_that_is_not_dumb,
    the_readme_excerpt_fits_100_columns_and_the_readme_defines_every_verdict,
    a_copy_of_the_scenarios_folder_runs_elsewhere,
);
