//! Terminal tables.

use super::Report;
use crate::model::ExecutionModel;
use crate::outcome::{Ending, FaultClass, Outcome};
use crate::scenario::Catalog;
use super::term::{self, Layout};
use crate::outcome::Verdict;

/// The decisive fact behind a verdict: the trap code, the signal, the
/// value returned.
pub fn cell_fact(o: &Outcome) -> String {
    // The class a trap code or signal stands for by itself; when the
    // observed class differs (a panic that ended in `unreachable`, a stack
    // overflow reported through SIGABRT), the cell names both.
    let implied = match &o.ending {
        Ending::Trapped { trap, .. } => Some(trap.fault_class()),
        Ending::Signaled { signal, .. } => Some(crate::classify::signal_class(*signal)),
        _ => None,
    };
    match &o.ending {
        Ending::NotApplicable { .. } | Ending::Skipped { .. } => String::new(),
        Ending::Completed { .. } if o.fault != FaultClass::None => o.fault.name().to_string(),
        Ending::Completed { value } => format!("= {value}"),
        Ending::Recovered { by, .. } => format!("{by} ({})", o.fault),
        Ending::WorkerLost { .. } => format!("{} ({})", o.ending.label(), o.fault),
        other if implied.is_some_and(|c| c != o.fault) => format!("{} ({})", other.label(), o.fault),
        other => other.label(),
    }
}

/// The verdict (coloured) and its decisive fact, e.g. `crashed SIGSEGV`,
/// then `depth` (for stack scenarios, `@N`).
fn cell(o: &Outcome, depth: &str) -> String {
    let text = format!("{} {} {depth}", term::verdict(o.verdict), cell_fact(o));
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `@N`, the depth the guest reported, for the scenarios where it matters.
fn depth_of(outs: &[&Outcome], show: bool) -> String {
    let depths: Vec<i64> = outs.iter().filter_map(|o| o.progress.map(|p| p.last)).collect();
    match (depths.iter().min(), depths.iter().max()) {
        (Some(lo), Some(hi)) if show && lo == hi => format!("@{lo}"),
        (Some(lo), Some(hi)) if show => format!("@{lo}–{hi}"),
        _ => String::new(),
    }
}

const MISMATCH: &str = "(!)";

/// A table for the terminal: columns that wrap to fit a width, and
/// headings that split the rows into groups.
struct Grid {
    header: Vec<String>,
    /// Columns allowed to wrap (the others keep their width while they can).
    wraps: Vec<bool>,
    rows: Vec<Row>,
}

enum Row {
    /// One entry per column; each holds lines that start anew.
    Cells(Vec<Vec<String>>),
    Heading(String),
}

/// Two blanks between columns, one before the first.
const GAP: usize = 2;

impl Grid {
    fn natural(&self, col: usize) -> usize {
        let cells = self.rows.iter().filter_map(|r| match r {
            Row::Cells(c) => Some(&c[col]),
            Row::Heading(_) => None,
        });
        cells.flatten().chain(std::iter::once(&self.header[col])).map(|l| term::width(l)).max().unwrap_or(0)
    }

    fn longest_word(&self, col: usize) -> usize {
        let cells = self.rows.iter().filter_map(|r| match r {
            Row::Cells(c) => Some(&c[col]),
            Row::Heading(_) => None,
        });
        cells.flatten().flat_map(|l| l.split(' ')).map(term::width).max().unwrap_or(0)
    }

    /// Column widths: every column as wide as its content when that fits;
    /// otherwise the widest wrapping column gives way first, down to its
    /// longest word, then every column down to a few characters.
    fn widths(&self, width: Option<usize>) -> Vec<usize> {
        let n = self.header.len();
        let mut w: Vec<usize> = (0..n).map(|c| self.natural(c)).collect();
        let Some(total) = width else { return w };
        let room = total.saturating_sub(1 + GAP * (n - 1));
        const FLOOR: usize = 6;
        let floors: [Vec<usize>; 2] = [
            (0..n).map(|c| if self.wraps[c] { self.longest_word(c).clamp(FLOOR, 16) } else { w[c] }).collect(),
            vec![FLOOR; n],
        ];
        for floor in &floors {
            while w.iter().sum::<usize>() > room {
                let widest = (0..n).filter(|&c| w[c] > floor[c]).max_by_key(|&c| (w[c] - floor[c], c));
                match widest {
                    Some(c) => w[c] -= 1,
                    None => break,
                }
            }
        }
        w
    }

    fn render(&self, layout: Layout) -> String {
        let w = self.widths(layout.width);
        let total = 1 + w.iter().sum::<usize>() + GAP * (w.len() - 1);
        let (thin, thick) = if layout.ascii { ('-', '=') } else { ('─', '═') };
        let rule = |c: char| format!("{}\n", c.to_string().repeat(total));
        let mut out = rule(thin);
        out.push_str(&lines(&self.header.iter().map(|h| vec![h.clone()]).collect::<Vec<_>>(), &w));
        out.push_str(&rule(thick));
        for row in &self.rows {
            match row {
                Row::Cells(cells) => out.push_str(&lines(cells, &w)),
                Row::Heading(h) => {
                    let fill = total.saturating_sub(term::width(h) + 2);
                    out.push_str(&format!(" {} {}\n", term::paint(anstyle::Style::new().bold(), h), thin.to_string().repeat(fill)));
                }
            }
        }
        out.push_str(&rule(thin));
        out
    }
}

/// One table row, its cells wrapped to their widths, side by side.
fn lines(cells: &[Vec<String>], w: &[usize]) -> String {
    let wrapped: Vec<Vec<String>> =
        cells.iter().zip(w).map(|(lines, &w)| lines.iter().flat_map(|l| wrap(l, w)).collect()).collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = String::new();
    for i in 0..height {
        let mut line = String::from(" ");
        for (c, cell) in wrapped.iter().enumerate() {
            let text = cell.get(i).map_or("", String::as_str);
            line.push_str(text);
            if c + 1 < wrapped.len() {
                line.push_str(&" ".repeat(w[c].saturating_sub(term::width(text)) + GAP));
            }
        }
        // Padding at the end of a line only makes copies ugly.
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `line` broken at blanks into pieces no wider than `w`; a word wider
/// than `w` is cut.
pub(crate) fn wrap(line: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in line.split(' ') {
        let (cw, ww) = (term::width(&cur), term::width(word));
        if !cur.is_empty() && cw + 1 + ww <= w {
            cur.push(' ');
            cur.push_str(word);
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        // Cut in one pass: each piece takes exactly `w` of the width left
        // (re-measuring and copying the rest per piece was quadratic).
        let chars: Vec<char> = word.chars().collect();
        let mut rest: &[char] = &chars;
        let mut left = ww;
        while left > w {
            let cut = cut_at(rest, w);
            out.push(rest[..cut].iter().collect());
            rest = &rest[cut..];
            left -= w;
        }
        cur = rest.iter().collect();
    }
    out.push(cur);
    out
}

/// The index in `chars` after `w` printed characters (escape sequences
/// are kept whole and take no room).
fn cut_at(chars: &[char], w: usize) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < chars.len() && n < w {
        if chars[i] == '\x1b' {
            i += 1;
            while i < chars.len() && !(('@'..='~').contains(&chars[i]) && chars[i] != '[') {
                i += 1;
            }
        } else {
            n += 1;
        }
        i += 1;
    }
    i
}

/// `n thing` or `n things`.
pub fn count(n: usize, thing: &str) -> String {
    if n == 1 { format!("1 {thing}") } else { format!("{n} {thing}s") }
}

/// `54 scenarios in 3 languages × 4 execution models`: what a report
/// spans, for titles (a scenario counts once, whatever its languages).
pub fn extent(report: &Report) -> String {
    let names: std::collections::BTreeSet<&str> = report.scenarios.iter().map(|r| r.name.as_str()).collect();
    let languages = report.languages();
    let langs = match languages.as_slice() {
        [one] => format!(" in {one}"),
        more => format!(" in {}", count(more.len(), "language")),
    };
    format!("{}{langs} × {}", count(names.len(), "scenario"), count(report.models.len(), "execution model"))
}

/// The columns of a table that fits a width: one per engine family (its
/// configurations share a cell where they agree), one for native; every
/// model its own with `--wide`. Each column is model indices, and the
/// header it goes by.
pub(crate) fn columns(report: &Report, merge: bool) -> Vec<(Vec<usize>, String)> {
    let family = |i: usize| report.models[i].engine.as_ref().map(|e| e.family);
    let mut columns: Vec<(Vec<usize>, String)> = Vec::new();
    for i in 0..report.models.len() {
        let Some(f) = family(i).filter(|_| merge) else {
            columns.push((vec![i], report.models[i].name.name().to_string()));
            continue;
        };
        match columns.iter_mut().find(|(col, _)| family(col[0]) == Some(f)) {
            Some((col, header)) => {
                col.push(i);
                *header = f.name().to_string();
            }
            None => columns.push((vec![i], report.models[i].name.name().to_string())),
        }
    }
    columns
}

/// `wasmtime = wasm, wasm-explicit, wasm-pulley; …`: what the shared
/// columns hold, when any does.
fn legend(columns: &[(Vec<usize>, String)], report: &Report) -> Option<String> {
    let shared: Vec<String> = columns
        .iter()
        .filter(|(col, _)| col.len() > 1)
        .map(|(col, header)| format!("{header} = {}", col.iter().map(|&i| report.models[i].name.name()).collect::<Vec<_>>().join(", ")))
        .collect();
    (!shared.is_empty()).then(|| format!("columns: {}", shared.join("; ")))
}

/// The side-by-side matrix `compare` prints. To fit a width, the rows are
/// grouped under their category and the configurations of one engine
/// family share one column where they agree; `Layout::wide` shows every
/// column.
pub fn comparison_table(report: &Report, layout: Layout) -> String {
    let fit = layout.width.is_some();
    let merge = fit;
    let columns = columns(report, merge);
    // The language in a narrow column of its own: always with `--wide`,
    // and to fit a width where the rows are in more than one language.
    let show_language = !fit || report.languages().len() > 1;
    let mut header = vec!["scenario".to_string()];
    if show_language {
        header.push(if fit { "lang" } else { "language" }.into());
    }
    if !fit {
        header.push("category".into());
    }
    let fixed = header.len();
    for (_, name) in &columns {
        header.push(name.clone());
    }
    let mut rows = Vec::new();
    let mut category = "";
    for row in &report.scenarios {
        if fit && row.category != category {
            category = &row.category;
            rows.push(Row::Heading(category.to_string()));
        }
        let mut cells = vec![vec![row.name.clone()]];
        if show_language {
            cells.push(vec![row.language.name().to_string()]);
        }
        if !fit {
            cells.push(vec![row.category.clone()]);
        }
        let stack = row.category == "stack";
        for (col, _) in &columns {
            let text = |i: usize, depth: &str| {
                let mark = if row.outcomes[i].mismatches.is_empty() { "" } else { MISMATCH };
                format!("{} {mark}", cell(&row.outcomes[i], depth)).trim_end().to_string()
            };
            let same = col.iter().map(|&i| text(i, "")).collect::<std::collections::BTreeSet<_>>().len() == 1;
            if same {
                let outs: Vec<&Outcome> = col.iter().map(|&i| &row.outcomes[i].outcome).collect();
                cells.push(vec![text(col[0], &depth_of(&outs, stack))]);
            } else {
                // The engines disagree: each says its own.
                cells.push(
                    col.iter()
                        .map(|&i| {
                            let depth = depth_of(&[&row.outcomes[i]], stack);
                            format!("{}: {}", report.models[i].name, text(i, &depth))
                        })
                        .collect(),
                );
            }
        }
        rows.push(Row::Cells(cells));
    }
    let n = header.len();
    // The scenario, its language and category keep their width.
    let wraps = (0..n).map(|c| c >= fixed).collect();
    let mut out = Grid { header, wraps, rows }.render(layout);
    let width = layout.width.unwrap_or(usize::MAX);
    // What was skipped says once what to install, and what it kept from
    // running: the languages, and the models when not all of them.
    let mut skips: Vec<(&str, Vec<String>, Vec<&str>)> = Vec::new();
    for row in &report.scenarios {
        for r in &row.outcomes {
            if let Ending::Skipped { why } = &r.ending {
                let at = match skips.iter().position(|(w, ..)| *w == why.as_str()) {
                    Some(at) => at,
                    None => {
                        skips.push((why.as_str(), Vec::new(), Vec::new()));
                        skips.len() - 1
                    }
                };
                let (_, languages, models) = &mut skips[at];
                if !languages.contains(&row.language.name().to_string()) {
                    languages.push(row.language.name().to_string());
                }
                if !models.contains(&r.model.name()) {
                    models.push(r.model.name());
                }
            }
        }
    }
    let reasons = skips.into_iter().map(|(why, languages, models)| {
        let mut what = languages.join(", ");
        if models.len() < report.models.len() {
            what.push_str(&format!(" in {}", models.join(", ")));
        }
        format!("skipped ({what}): {why}")
    });
    let legend = legend(&columns, report);
    for line in legend.into_iter().chain(summary_lines(report, merge)).chain(reasons).chain(super::disagreement::lines(report)).chain(super::remedy::lines(&report.remedy)) {
        for (k, piece) in wrap(&line, width.saturating_sub(2)).into_iter().enumerate() {
            out.push_str(if k == 0 { "" } else { "  " });
            out.push_str(&piece);
            out.push('\n');
        }
    }
    let unexpected: Vec<String> = report
        .scenarios
        .iter()
        .flat_map(|row| {
            row.outcomes.iter().filter(|r| !r.mismatches.is_empty()).map(move |r| {
                // Wrapped like the summary: a mismatch list must fit too.
                wrap(&format!("{} / {}: {}", row.label(), r.model, r.mismatches.join("; ")), width.saturating_sub(4))
                    .into_iter()
                    .enumerate()
                    .map(|(k, piece)| format!("{}{piece}", if k == 0 { "  " } else { "    " }))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        })
        .collect();
    if unexpected.is_empty() {
        out.push_str("every outcome matches its manifest\n");
    } else {
        out.push_str(&format!(
            "{MISMATCH} {} from {}:\n{}\n",
            if unexpected.len() == 1 { "1 outcome differs".to_string() } else { format!("{} outcomes differ", unexpected.len()) },
            if unexpected.len() == 1 { "its manifest" } else { "their manifests" },
            unexpected.join("\n")
        ));
    }
    out
}

/// `n verdict, …` in the order of [`Verdict::ALL`], verdicts coloured.
fn verdict_counts(counts: &std::collections::BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = Verdict::ALL
        .iter()
        .filter_map(|v| counts.get(v.name()).map(|n| format!("{n} {}", term::verdict(*v))))
        .collect();
    parts.join(", ")
}

/// Per model, one sentence over one stated base: the fault scenarios, then
/// the correct programs. Models that say the same are named together. With
/// more than one language, one sentence per (language, model) that ran
/// something.
fn summary_lines(report: &Report, merge: bool) -> Vec<String> {
    if report.summary.per_language.len() > 1 {
        return report
            .summary
            .per_language
            .iter()
            .flat_map(|l| {
                let ran: Vec<&super::ModelSummary> = l.per_model.iter().filter(|m| m.ran > 0 || m.skipped > 0).collect();
                model_lines(&ran, merge).into_iter().map(move |line| format!("{} · {line}", l.language))
            })
            .collect();
    }
    model_lines(&report.summary.per_model.iter().collect::<Vec<_>>(), merge)
}

fn model_lines(per_model: &[&super::ModelSummary], merge: bool) -> Vec<String> {
    let mut said: Vec<(Vec<String>, String)> = Vec::new();
    for m in per_model {
        let mut text = if m.ran == 0 && m.skipped > 0 {
            format!("{} skipped (no toolchain)", count(m.skipped, "scenario"))
        } else {
            format!(
                "of {}: host survived {}, detected {}, classified {}",
                count(m.faults, "fault scenario"),
                m.host_survived,
                m.detected,
                m.classified
            )
        };
        if !m.fault_verdicts.is_empty() {
            text.push_str(&format!(" ({})", verdict_counts(&m.fault_verdicts)));
        }
        if m.correct > 0 {
            text.push_str(&format!("; of {}: {}", count(m.correct, "correct program"), verdict_counts(&m.correct_verdicts)));
        }
        if m.ran > 0 && m.skipped > 0 {
            text.push_str(&format!("; {} skipped", m.skipped));
        }
        match said.iter_mut().find(|(_, t)| merge && *t == text) {
            Some((models, _)) => models.push(m.model.clone()),
            None => said.push((vec![m.model.clone()], text)),
        }
    }
    said.into_iter().map(|(models, text)| format!("{}: {text}", models.join(", "))).collect()
}

/// `faultbox list`. To fit a width, rows are grouped under their category
/// and the guest and injected fault are left to `--wide` (and `explain`).
pub fn catalog_table(catalog: &Catalog, layout: Layout) -> String {
    let fit = layout.width.is_some();
    // To fit a width the guest column goes, so the language gets a narrow
    // one of its own where the catalog has more than one.
    let languages: std::collections::BTreeSet<crate::model::Language> = catalog.scenarios.iter().map(|s| s.language).collect();
    let show_language = fit && languages.len() > 1;
    let mut header = vec!["scenario"];
    if show_language {
        header.push("lang");
    }
    if !fit {
        header.extend(["category", "guest"]);
    }
    if !fit {
        header.push("injects");
    }
    header.extend(["expected wasm / native", "summary"]);
    let mut rows = Vec::new();
    let mut category = "";
    for s in &catalog.scenarios {
        if fit && s.category.name() != category {
            category = s.category.name();
            rows.push(Row::Heading(category.to_string()));
        }
        let guest = match &s.guest {
            crate::scenario::Guest::Rust { entry } => format!("rust:{entry}"),
            crate::scenario::Guest::Wat { path, .. } => {
                format!("wat:{}", path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default())
            }
            crate::scenario::Guest::Built { language, entry } => format!("{language}:{entry}"),
            crate::scenario::Guest::Missing { language } => format!("{language}: none"),
            crate::scenario::Guest::Prebuilt { module, program } => {
                let name = |p: &std::path::Path| p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                let parts: Vec<String> = module.iter().map(|m| name(&m.path)).chain(program.iter().map(|p| name(&p.path))).collect();
                format!("prebuilt:{}", parts.join("+"))
            }
        };
        // A manifest without `[expect.*]` expects nothing yet; `n/a` would
        // say the model cannot run it.
        let expected = if s.unfinished().is_some() && s.expectation(ExecutionModel::DEFAULT_WASM).unwritten {
            "none yet".to_string()
        } else {
            format!(
                "{} / {}",
                term::verdict(s.expectation(ExecutionModel::DEFAULT_WASM).verdict),
                term::verdict(s.expectation(ExecutionModel::Native).verdict)
            )
        };
        let mut cells = vec![vec![s.name.clone()]];
        if show_language {
            cells.push(vec![s.language.name().to_string()]);
        }
        if !fit {
            cells.extend([vec![s.category.name().to_string()], vec![guest]]);
        }
        if !fit {
            cells.push(vec![s.injects.name().to_string()]);
        }
        cells.extend([vec![expected], vec![s.summary.clone()]]);
        rows.push(Row::Cells(cells));
    }
    // The scenario's name is what a reader looks for: it wraps last; the
    // language never.
    let wraps = (0..header.len()).map(|c| c > show_language as usize).collect();
    let grid = Grid { header: header.into_iter().map(String::from).collect(), wraps, rows };
    let names: std::collections::BTreeSet<&str> = catalog.scenarios.iter().map(|s| s.name.as_str()).collect();
    let per_language: Vec<String> = languages
        .iter()
        .map(|l| format!("{} {l}", catalog.scenarios.iter().filter(|s| s.language == *l).count()))
        .collect();
    let footer = format!(
        "{} in {} (by language: {})",
        count(names.len(), "scenario"),
        catalog.dir.display(),
        per_language.join(", ")
    );
    let width = layout.width.unwrap_or(usize::MAX);
    let footer: Vec<String> =
        wrap(&footer, width.saturating_sub(2)).into_iter().enumerate().map(|(k, l)| if k == 0 { l } else { format!("  {l}") }).collect();
    format!("{}{}\n", grid.render(layout), footer.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_never_exceeds_the_width() {
        let text = "crashed worker lost (SIGABRT) (host_fault) an_identifier_longer_than_the_width";
        for w in [6, 10, 17, 40] {
            for piece in wrap(text, w) {
                assert!(term::width(&piece) <= w, "{piece:?} wider than {w}");
            }
        }
        assert_eq!(wrap("a b", 10), vec!["a b"]);
    }

    #[test]
    fn a_grid_fits_its_width() {
        let grid = Grid {
            header: vec!["scenario".into(), "wasm".into(), "native".into()],
            wraps: vec![false, true, true],
            rows: vec![Row::Cells(vec![
                vec!["indirect_call_bad_signature".into()],
                vec![format!("{} unreachable_code_reached (panic) @10916", term::verdict(Verdict::Recovered))],
                vec!["crashed worker lost (SIGKILL) (unknown)".into()],
            ])],
        };
        for width in [40, 60, 80] {
            let out = grid.render(Layout { width: Some(width), ascii: true });
            assert!(out.lines().all(|l| term::width(l) <= width), "{width}:\n{out}");
        }
    }
}
