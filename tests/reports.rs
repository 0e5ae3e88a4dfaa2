//! The reports: json, markdown and html are renderings of the same data;
//! `run` and `explain` show one scenario in full.

use std::process::Command;

const FAULTBOX: &str = env!("CARGO_BIN_EXE_faultbox");

fn faultbox(args: &[&str]) -> String {
    let out = Command::new(FAULTBOX).args(args).output().unwrap();
    assert!(out.status.success(), "faultbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const PICK: [&str; 2] = ["--scenario", "null_"];

fn json_report_has_the_documented_fields() {
    let json: serde_json::Value = serde_json::from_str(&faultbox(&["compare", PICK[0], PICK[1], "--format", "json"])).unwrap();
    assert_eq!(json["models"].as_array().unwrap().len(), faultbox::model::ExecutionModel::ALL.len());
    // A wasm model names its engine as the registry states it.
    for (m, row) in json["models"].as_array().unwrap().iter().zip(faultbox::registry::ROWS.iter()) {
        assert_eq!(m["name"], row.model);
        assert_eq!(m["engine"]["family"], row.family.name(), "{m:#}");
        match row.version {
            faultbox::registry::Version::Pinned(v) => assert_eq!(m["engine"]["version"], v, "{m:#}"),
            // An installed runtime's engine: the version its worker said.
            faultbox::registry::Version::Installed => {
                assert!(m["engine"]["version"].as_str().is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())), "{m:#}")
            }
        }
    }
    let rows = json["scenarios"].as_array().unwrap();
    // A row per (scenario, language), the language beside the name.
    let names: Vec<String> = rows.iter().map(|r| format!("{} [{}]", r["name"].as_str().unwrap(), r["language"].as_str().unwrap())).collect();
    for row in ["null_read [rust]", "null_write [rust]", "gc_null_struct_get [wat]"] {
        assert!(names.iter().any(|n| n == row), "{row} missing: {names:?}");
    }
    let row = rows.iter().find(|r| r["name"] == "null_read").expect("null_read is selected");
    let o = &row["outcomes"]["wasm"];
    for field in ["scenario", "language", "model", "verdict", "fault", "ending", "containment", "progress", "cost", "limits", "evidence", "mismatches", "why"] {
        assert!(o.get(field).is_some(), "outcome field `{field}` missing: {o:#}");
    }
    for field in ["host_survived", "detected", "classified", "reuse", "reuse_detail", "recovery_us"] {
        assert!(o["containment"].get(field).is_some(), "containment field `{field}` missing");
    }
    assert_eq!(o["model"], "wasm");
    assert_eq!(o["language"], "rust");
    assert_eq!(o["verdict"], "undetected", "a null access completes silently in wasm");
    // Every outcome says its language, and it is its row's.
    for row in rows {
        for (model, o) in row["outcomes"].as_object().unwrap() {
            assert_eq!(o["language"], row["language"], "{} / {model}", row["name"]);
        }
    }
    // The summary counts per language too.
    assert!(json["summary"]["per_language"]["rust"]["native"]["ran"].is_u64(), "{:#}", json["summary"]);
}

fn markdown_report_is_a_table_under_a_headline() {
    let md = faultbox(&["compare", PICK[0], PICK[1], "--format", "markdown"]);
    assert!(md.contains("in-process recovery (catch_unwind"), "{md}");
    let missed = md.lines().find(|l| l.starts_with("- wasm, wasm-explicit, wasm-pulley") && l.contains(" did not detect: ")).unwrap_or_else(|| panic!("{md}"));
    assert!(missed.contains("null_read [rust]") && missed.contains("null_write [rust]"), "{missed}");
    // A column per engine family, its configurations sharing the cell.
    let mut columns: Vec<&str> = faultbox::registry::EngineFamily::ALL.iter().map(|f| f.name()).collect();
    columns.push("native");
    assert!(md.contains(&format!("| scenario | language | category | {} |", columns.join(" | "))), "{md}");
    assert!(md.contains("| `null_write` | rust | memory | **undetected**"), "{md}");
    assert!(md.contains("**crashed** SIGSEGV"), "{md}");
    // The headline contrasts the two kinds of null, as observed.
    assert!(
        md.contains("null in linear memory: `null_read` undetected (= 0), `null_write` undetected")
            && md.contains("a null GC reference: `gc_null_struct_get` recovered (null_reference)"),
        "{md}"
    );
}

fn html_report_is_one_self_contained_page() {
    let html = faultbox(&["compare", PICK[0], PICK[1], "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for remote in ["http://", "https://", "<script", "<link"] {
        assert!(!html.contains(remote), "the page must not load anything: found {remote}");
    }
    assert!(html.contains("class=\"v-undetected\""), "verdict colours");
    assert!(html.contains("<details>"), "details per cell");
    assert!(html.contains("Limits: default CPU budget 1000 ms"), "the limits used");
}

fn run_shows_one_outcome_in_full() {
    let text = faultbox(&["run", "recursion_large_frames", "--model", "wasm"]);
    assert!(text.starts_with("recursion_large_frames [rust] in wasm:"), "{text}");
    assert!(text.contains("trap memory_out_of_bounds"), "{text}");
    assert!(text.contains("wrapped below 0"), "{text}");
    assert!(text.contains("reuse         unusable"), "{text}");
}

fn explain_says_what_each_model_did_and_why() {
    let text = faultbox(&["explain", "extern_c_panic"]);
    assert!(text.contains("extern_c_panic [rust] (control)"), "{text}");
    for model in ["wasm:", "wasm-explicit:", "wasm-pulley:", "native:"] {
        assert!(text.contains(model), "{model} missing: {text}");
    }
    assert!(text.contains("panic in a function that cannot unwind"), "{text}");
    assert!(text.contains("why:"), "{text}");
}

/// Manifests describe the default Wasm 3.0 profile. Under
/// `--wasm-features 2.0` a 3.0 module is n/a, with the profile named as the
/// reason, and `--check` does not hold that against its manifest.
fn under_the_wasm_2_profile_a_wasm_3_scenario_is_na_and_check_passes() {
    let json: serde_json::Value = serde_json::from_str(&faultbox(&[
        "compare", "--wasm-features", "2.0", "--check", "--scenario", "gc_null_struct_get", "--format", "json",
    ]))
    .unwrap();
    let o = &json["scenarios"][0]["outcomes"]["wasm"];
    assert_eq!(o["verdict"], "n/a", "{o:#}");
    assert!(o["evidence"].to_string().contains("Wasm 2.0 profile"), "{o:#}");
    assert_eq!(o["mismatches"], serde_json::json!([]), "{o:#}");
}

mod article {
    //! The article's table, from constructed outcomes: no Go toolchain
    //! needed, and every verdict of a claim reachable.

    use faultbox::model::{ExecutionModel, Language};
    use faultbox::outcome::{Containment, Cost, Ending, FaultClass, Outcome, Reuse, TrapCode, Verdict};
    use faultbox::report::Report;
    use faultbox::scenario::{Catalog, Scenario};

    const MODELS: [ExecutionModel; 2] = [ExecutionModel::DEFAULT_WASM, ExecutionModel::Native];

    fn outcome(s: &Scenario, model: ExecutionModel, verdict: Verdict, fault: FaultClass, ending: Ending) -> Outcome {
        Outcome {
            scenario: s.name.clone(),
            language: s.language,
            model,
            verdict,
            fault,
            ending,
            containment: Containment {
                host_survived: verdict != Verdict::Crashed,
                detected: !matches!(verdict, Verdict::Undetected | Verdict::NotApplicable | Verdict::Skipped),
                classified: true,
                reuse: Reuse::NotChecked,
                reuse_detail: vec![],
                recovery_us: None,
            },
            progress: None,
            cost: Cost::default(),
            limits: Default::default(),
            evidence: vec![],
            output_tail: None,
            injection: None,
            defers: None,
        }
    }

    fn recovered() -> Ending {
        Ending::Recovered { panic_message: "runtime error: invalid memory address or nil pointer dereference".into(), by: "recover".into() }
    }

    fn trapped(trap: TrapCode) -> Ending {
        Ending::Trapped { trap, message: String::new(), frames: vec![] }
    }

    /// The Go scenarios of the table's three claims, with outcomes such that
    /// claim 1 holds only for some cases (its example recovered natively,
    /// `wild_write` not), claim 2 holds and claim 3 was not tested (the
    /// toolchain "missing"); the article's other claims are not in it.
    fn go_report(catalog: &Catalog) -> Report {
        use FaultClass::*;
        let names = [
            "seed_low_address",
            "null_write",
            "wild_write",
            "wild_write_panic_on_fault",
            "recursion_small_frames",
            "cgo_null_write",
            "cgo_abort",
        ];
        let scenarios: Vec<&Scenario> = names
            .iter()
            .map(|n| {
                let all = catalog.get(n).unwrap_or_else(|e| panic!("{n}: {e}"));
                *all.iter().find(|s| s.language == Language::Go).unwrap_or_else(|| panic!("{n} has no Go entry"))
            })
            .collect();
        let skipped = || Ending::Skipped { why: "install Go ≥ 1.24".into() };
        let mut outcomes = Vec::new();
        for s in &scenarios {
            let (wasm, native) = match s.name.as_str() {
                "seed_low_address" => (
                    outcome(s, MODELS[0], Verdict::Undetected, None, Ending::Completed { value: 1 }),
                    outcome(s, MODELS[1], Verdict::Recovered, MemoryFault, recovered()),
                ),
                "null_write" => (
                    outcome(s, MODELS[0], Verdict::Recovered, MemoryFault, recovered()),
                    outcome(s, MODELS[1], Verdict::Recovered, MemoryFault, recovered()),
                ),
                "wild_write" => (
                    outcome(s, MODELS[0], Verdict::Recovered, MemoryFault, trapped(TrapCode::MemoryOutOfBounds)),
                    outcome(s, MODELS[1], Verdict::Crashed, MemoryFault, Ending::Exited { code: 2 }),
                ),
                "wild_write_panic_on_fault" => (
                    outcome(s, MODELS[0], Verdict::Contained, MemoryFault, trapped(TrapCode::MemoryOutOfBounds)),
                    outcome(s, MODELS[1], Verdict::Recovered, MemoryFault, recovered()),
                ),
                "recursion_small_frames" => (
                    outcome(s, MODELS[0], Verdict::Contained, StackExhaustion, trapped(TrapCode::StackOverflow)),
                    outcome(s, MODELS[1], Verdict::Crashed, StackExhaustion, Ending::Exited { code: 2 }),
                ),
                _ => (
                    outcome(s, MODELS[0], Verdict::NotApplicable, None, Ending::NotApplicable { why: "cgo".into() }),
                    outcome(s, MODELS[1], Verdict::Skipped, None, skipped()),
                ),
            };
            outcomes.extend([wasm, native]);
        }
        Report::new(&scenarios, &MODELS, outcomes)
    }

    fn catalog() -> Catalog {
        Catalog::load(&Catalog::default_dir()).expect("the shipped catalog loads")
    }

    /// The markdown table row of claim `n`.
    fn claim_row(md: &str, n: u8) -> &str {
        md.lines().find(|l| l.starts_with(&format!("| {n} |"))).unwrap_or_else(|| panic!("no row for claim {n}:\n{md}"))
    }

    pub fn markdown_puts_the_article_s_claims_first_with_verdicts_computed_from_the_outcomes() {
        let md = go_report(&catalog()).to_markdown();
        let section = md.find("### The article's claims, as observed").unwrap_or_else(|| panic!("no article section:\n{md}"));
        assert!(section < md.find("| scenario | language |").unwrap(), "the article's table heads the report:\n{md}");
        let one = claim_row(&md, 1);
        assert!(one.contains("**holds only for some cases**"), "{one}");
        assert!(one.contains("`seed_low_address`<br>`null_write`<br>`wild_write`<br>`wild_write_panic_on_fault`"), "{one}");
        assert!(one.contains("recovered (memory_fault)<br>recovered (memory_fault)<br>crashed (memory_fault)"), "{one}");
        assert!(
            md.contains("The article's own example (`seed_low_address`) is recovered natively: the claim does not hold as stated."),
            "{md}"
        );
        assert!(
            md.contains("recover caught `seed_low_address`, `null_write` and `wild_write_panic_on_fault`; it does hold for `wild_write` (crashed, memory_fault)"),
            "{md}"
        );
        // The other claims' scenarios are not in this report: not tested.
        for n in 4..=8 {
            assert!(claim_row(&md, n).contains("**not tested**"), "{}", claim_row(&md, n));
        }
        // The wasm side: recover ran for null_write; the rest were traps or nothing.
        assert!(one.contains("recover ran for `null_write`; the host survived"), "{one}");
        assert!(md.contains("`wild_write` and `wild_write_panic_on_fault`: a wasm trap that Go never saw"), "{md}");
        let two = claim_row(&md, 2);
        assert!(two.contains("**holds**") && two.contains("recover never ran"), "{two}");
        let three = claim_row(&md, 3);
        assert!(three.contains("**not tested**") && three.contains("skipped"), "{three}");
        // Skipped is said in the headline, with what to install.
        assert!(md.contains("skipped (go in native): install Go ≥ 1.24"), "{md}");
    }

    pub fn the_html_page_has_the_article_s_table_too() {
        let html = go_report(&catalog()).to_html();
        assert!(html.contains("<section class=\"article\"><h2>The article's claims, as observed</h2>"), "{html}");
        assert!(html.contains("<td class=\"claim-partial\"><b>holds only for some cases</b></td>"), "{html}");
        assert!(html.contains("<td class=\"claim-holds\"><b>holds</b></td>"), "{html}");
        assert!(html.contains("<td class=\"claim-untested\"><b>not tested</b></td>"), "{html}");
        assert!(html.contains("<dt class=\"v-skipped\">skipped</dt>"), "skipped in the legend");
        assert!(html.contains("<tr id=\"seed_low_address-go\""), "{html}");
    }

    pub fn a_report_without_go_has_no_article_section() {
        let catalog = catalog();
        let rust: Vec<&Scenario> =
            catalog.get("null_write").unwrap().into_iter().filter(|s| s.language == Language::Rust).collect();
        let outcomes = vec![
            outcome(rust[0], MODELS[0], Verdict::Undetected, FaultClass::None, Ending::Completed { value: 0 }),
            outcome(rust[0], MODELS[1], Verdict::Crashed, FaultClass::MemoryFault, Ending::Exited { code: 139 }),
        ];
        let md = Report::new(&rust, &MODELS, outcomes).to_markdown();
        assert!(!md.contains("article"), "{md}");
        assert!(md.starts_with("## faultbox: 1 scenario in rust × 2 execution models"), "{md}");
    }
}

crate::trials!(
    json_report_has_the_documented_fields,
    markdown_report_is_a_table_under_a_headline,
    html_report_is_one_self_contained_page,
    run_shows_one_outcome_in_full,
    explain_says_what_each_model_did_and_why,
    under_the_wasm_2_profile_a_wasm_3_scenario_is_na_and_check_passes,
    article::markdown_puts_the_article_s_claims_first_with_verdicts_computed_from_the_outcomes,
    article::the_html_page_has_the_article_s_table_too,
    article::a_report_without_go_has_no_article_section,
);
