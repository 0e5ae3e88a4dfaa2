//! One run, or one scenario, in full.

use crate::outcome::{Ending, Outcome};
use crate::scenario::{Guest, Scenario};
use std::fmt::Write;

fn us(v: Option<u64>) -> String {
    match v {
        Some(v) if v >= 10_000 => format!("{:.1} ms", v as f64 / 1000.0),
        Some(v) => format!("{v} µs"),
        None => "-".into(),
    }
}

/// Everything one outcome holds, for `faultbox run`.
pub fn run_detail(s: &Scenario, o: &Outcome) -> String {
    let mut out = String::new();
    let c = &o.containment;
    let _ = writeln!(out, "{} [{}] in {}: {}", o.scenario, o.language, o.model, super::term::verdict(o.verdict));
    let _ = writeln!(out, "  scenario      {} (injects {})", s.summary, s.injects);
    let _ = writeln!(out, "  fault class   {}", o.fault);
    let _ = writeln!(out, "  ending        {}", ending_text(&o.ending));
    let _ = writeln!(out, "  host survived {}", yes(c.host_survived));
    let _ = writeln!(out, "  detected      {}", yes(c.detected));
    let _ = writeln!(out, "  classified    {}", yes(c.classified));
    let _ = writeln!(out, "  reuse         {}", c.reuse);
    for d in &c.reuse_detail {
        let _ = writeln!(out, "                - {d}");
    }
    let _ = writeln!(out, "  recovery      {}", us(c.recovery_us));
    if let Some(p) = o.progress {
        let _ = writeln!(out, "  progress      {} ({} reports)", p.last, p.reports);
    }
    let _ = writeln!(
        out,
        "  cost          wall {}, to fault {}, cpu {}, max rss {}",
        us(Some(o.cost.wall_us)),
        us(o.cost.fault_us),
        us(o.cost.cpu_us),
        o.cost.max_rss_kib.map(|k| format!("{k} KiB")).unwrap_or("-".into())
    );
    let _ = writeln!(out, "  limits        {}", o.limits.summary());
    let _ = writeln!(out, "  evidence");
    for e in &o.evidence {
        let _ = writeln!(out, "    - {e}");
    }
    let exp = s.expectation(o.model);
    let mismatches = s.mismatches(o);
    if s.is_one_off() {
        let _ = writeln!(out, "  expected      nothing (a one-off run has no manifest)");
    } else if exp.unwritten {
        let _ = writeln!(out, "  expected      nothing yet (the manifest has no [expect.*])");
    } else {
        let _ = writeln!(out, "  expected      {} ({})", exp.verdict, if mismatches.is_empty() { "matches" } else { "DIFFERS" });
    }
    for m in mismatches.iter().filter(|_| !s.is_one_off()) {
        let _ = writeln!(out, "                - {m}");
    }
    if !s.is_one_off() {
        let _ = writeln!(out, "  why           {}", exp.why);
    }
    if let Some(tail) = &o.output_tail {
        let lines: Vec<&str> = tail.lines().collect();
        let shown = &lines[lines.len().saturating_sub(12)..];
        let _ = writeln!(out, "  output (last {} lines)", shown.len());
        for l in shown {
            let l: String = l.chars().take(160).collect();
            let _ = writeln!(out, "    | {l}");
        }
    }
    out
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn ending_text(e: &Ending) -> String {
    match e {
        Ending::Completed { value } => format!("completed, returned {value} ({value:#x})"),
        Ending::Recovered { panic_message, by } => format!("caught by {by}: {panic_message}"),
        Ending::Trapped { trap, message, .. } => format!("trap {trap} ({message})"),
        Ending::HostError { message } => format!("host error: {message}"),
        Ending::HostPanic { message } => format!("host panic: {message}"),
        Ending::Exited { code } => format!("exited with code {code}"),
        Ending::Signaled { signal, core_dumped } => {
            format!("killed by {signal}{}", if *core_dumped { " (core dumped)" } else { "" })
        }
        Ending::TimedOut { deadline: crate::limits::Deadline::Cpu, cpu_ms, wall_ms } => {
            format!("killed after burning its CPU budget ({cpu_ms} ms CPU in {wall_ms} ms)")
        }
        Ending::TimedOut { deadline: crate::limits::Deadline::Wall, cpu_ms, wall_ms } => {
            format!("killed as stalled: {wall_ms} ms passed with only {cpu_ms} ms of CPU used")
        }
        Ending::WorkerLost { .. } => format!("{}", e.label()),
        Ending::NotApplicable { why } => format!("not applicable: {why}"),
        Ending::Skipped { why } => format!("skipped: {why}"),
    }
}

/// `faultbox explain`: what the scenario does, what each model did, and why.
pub fn explain(s: &Scenario, outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} [{}] ({}): {}", s.name, s.language, s.category.name(), s.summary);
    let guest = match &s.guest {
        Guest::Rust { entry } => format!("guests crate, function `{entry}` (wasm export fb_{entry})"),
        Guest::Wat { path, entry } => format!("{} (export fb_{entry})", path.display()),
        Guest::Built { language, entry } => {
            format!("guests/{language}, entry `{entry}` (wasm export fb_{entry}; native: the program, argument {entry})")
        }
        Guest::Missing { language } => format!("none in {language}"),
        Guest::Prebuilt { module, program } => {
            let mut parts = Vec::new();
            if let Some(m) = module {
                parts.push(format!("{} (export {}{})", m.path.display(), m.export, if m.wasi { ", WASI" } else { "" }));
            }
            if let Some(p) = program {
                parts.push(format!("{} {}", p.path.display(), p.args.join(" ")).trim_end().to_string());
            }
            format!("prebuilt: {}", parts.join("; native: "))
        }
    };
    let _ = writeln!(out, "  guest: {guest}, arg {}", s.arg);
    let _ = writeln!(out, "  injects: {}", s.injects);
    if !s.description.is_empty() {
        let _ = writeln!(out);
        for line in s.description.trim().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    for o in outcomes {
        let exp = s.expectation(o.model);
        let _ = writeln!(out);
        let _ = writeln!(out, "  {}: {} — {}", o.model, super::term::verdict(o.verdict), ending_text(&o.ending));
        let _ = writeln!(out, "    why: {}", exp.why);
        for e in &o.evidence {
            let _ = writeln!(out, "    - {e}");
        }
        let _ = writeln!(out, "    reuse: {} ({})", o.containment.reuse, o.containment.reuse_detail.join("; "));
        let m = s.mismatches(o);
        if !m.is_empty() {
            let _ = writeln!(out, "    (!) differs from the manifest: {}", m.join("; "));
        }
    }
    out
}

/// What the models did, as `[expect.<language>.<model>]` tables ready to
/// paste into a new manifest, each `why` left as "TODO" (which `--check` refuses): the
/// observation is where an expectation starts, never what makes it pass.
/// The wasm engines after the first are written only where they differ.
pub fn expect_block(outcomes: &[Outcome]) -> String {
    let table = |o: &Outcome| {
        let mut t = format!("verdict = \"{}\"\n", o.verdict);
        if !super::did_not_run(o.verdict) {
            t.push_str(&format!("fault = \"{}\"\n", o.fault));
            match &o.ending {
                Ending::Trapped { trap, .. } => t.push_str(&format!("trap = \"{}\"\n", trap.name())),
                Ending::Signaled { signal, .. } => t.push_str(&format!("signal = \"{signal}\"\n")),
                _ => {}
            }
            if o.containment.reuse != crate::outcome::Reuse::NotChecked {
                t.push_str(&format!("reuse = \"{}\"\n", o.containment.reuse));
            }
        }
        t.push_str("why = \"TODO\"\n");
        t
    };
    let wasm = outcomes.iter().find(|o| o.model == crate::model::ExecutionModel::DEFAULT_WASM).map(table);
    let mut out = String::new();
    for o in outcomes {
        if let Ending::Skipped { why } = &o.ending {
            // Nothing observed: an expectation cannot start here.
            out.push_str(&format!("# [expect.{}.{}]: skipped on this machine ({why})\n\n", o.language, o.model));
            continue;
        }
        let t = table(o);
        let is_wasm_engine = o.model.is_wasm() && o.model != crate::model::ExecutionModel::DEFAULT_WASM;
        if is_wasm_engine && wasm.as_ref() == Some(&t) {
            continue;
        }
        out.push_str(&format!("[expect.{}.{}]\n{t}\n", o.language, o.model));
    }
    out
}
