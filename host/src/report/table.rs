//! Terminal tables.

use super::Report;
use crate::model::ExecutionModel;
use crate::outcome::{Ending, FaultClass, Outcome, Signal};
use crate::scenario::Catalog;
use comfy_table::{ContentArrangement, Table, TableComponent, presets};

/// The decisive fact behind a verdict: the trap code, the signal, the
/// value returned.
pub fn cell_fact(o: &Outcome) -> String {
    // The class a trap code or signal stands for by itself; when the
    // observed class differs (a panic that ended in `unreachable`, a stack
    // overflow reported through SIGABRT), the cell names both.
    let implied = match &o.ending {
        Ending::Trapped { trap, .. } => Some(trap.fault_class()),
        Ending::Signaled { signal, .. } => Some(match *signal {
            Signal::SIGSEGV | Signal::SIGBUS => FaultClass::MemoryFault,
            Signal::SIGFPE => FaultClass::ArithmeticFault,
            Signal::SIGABRT | Signal::SIGILL | Signal::SIGTRAP => FaultClass::Abort,
            _ => FaultClass::Unknown,
        }),
        _ => None,
    };
    match &o.ending {
        Ending::NotApplicable { .. } => String::new(),
        Ending::Completed { .. } if o.fault != FaultClass::None => o.fault.name().to_string(),
        Ending::Completed { value } => format!("= {value}"),
        Ending::Recovered { .. } => format!("catch_unwind ({})", o.fault),
        Ending::WorkerLost { .. } => format!("{} ({})", o.ending.label(), o.fault),
        other if implied.is_some_and(|c| c != o.fault) => format!("{} ({})", other.label(), o.fault),
        other => other.label(),
    }
}

/// The verdict and its decisive fact, e.g. `crashed SIGSEGV`.
/// `show_progress` appends the progress the guest reported (the depth, for
/// stack scenarios).
pub fn cell(o: &Outcome, show_progress: bool) -> String {
    let depth = match o.progress {
        Some(p) if show_progress => format!(" @{}", p.last),
        _ => String::new(),
    };
    format!("{} {}{depth}", o.verdict, cell_fact(o)).trim_end().to_string()
}

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_HORIZONTAL_ONLY).set_content_arrangement(ContentArrangement::Disabled);
    for c in [
        TableComponent::HorizontalLines,
        TableComponent::MiddleIntersections,
        TableComponent::LeftBorderIntersections,
        TableComponent::RightBorderIntersections,
    ] {
        t.remove_style(c);
    }
    t
}

/// The side-by-side matrix `compare` prints.
pub fn comparison_table(report: &Report) -> String {
    let mut t = new_table();
    let mut header = vec!["scenario".to_string(), "category".to_string()];
    header.extend(report.models.iter().map(|m| m.name.to_string()));
    t.set_header(header);
    for row in &report.scenarios {
        let mut cells = vec![row.name.clone(), row.category.clone()];
        for (o, mism) in row.outcomes.iter().zip(&row.mismatches) {
            let mark = if mism.is_empty() { "" } else { "  (!)" };
            cells.push(format!("{}{mark}", cell(o, row.category == "stack")));
        }
        t.add_row(cells);
    }
    // comfy-table pads every cell; trailing blanks only make copies ugly.
    let mut out: String = t.to_string().lines().map(|l| format!("{}\n", l.trim_end())).collect();
    for m in &report.summary.per_model {
        let verdicts: Vec<String> = m.verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        out.push_str(&format!(
            "{:<14} of {} fault scenarios: host survived {}, detected {}, classified {}  |  {}\n",
            m.model,
            m.faults,
            m.host_survived,
            m.detected,
            m.classified,
            verdicts.join(", ")
        ));
    }
    let unexpected: Vec<String> = report
        .scenarios
        .iter()
        .flat_map(|row| {
            row.outcomes.iter().zip(&row.mismatches).filter(|(_, m)| !m.is_empty()).map(move |(o, m)| {
                format!("  {} / {}: {}", row.name, o.model, m.join("; "))
            })
        })
        .collect();
    if unexpected.is_empty() {
        out.push_str("every outcome matches its manifest\n");
    } else {
        out.push_str(&format!("(!) {} outcome(s) differ from their manifest:\n{}\n", unexpected.len(), unexpected.join("\n")));
    }
    out
}

/// `faultbox list`.
pub fn catalog_table(catalog: &Catalog) -> String {
    let mut t = new_table();
    t.set_header(vec!["scenario", "category", "injects", "guest", "expected (wasm / native)", "summary"]);
    for s in &catalog.scenarios {
        let guest = match &s.guest {
            crate::scenario::Guest::Rust { entry } => format!("rust:{entry}"),
            crate::scenario::Guest::Wat { path, .. } => {
                format!("wat:{}", path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default())
            }
        };
        let expected = format!(
            "{} / {}",
            s.expectation(ExecutionModel::Wasm).verdict,
            s.expectation(ExecutionModel::Native).verdict
        );
        t.add_row(vec![s.name.clone(), s.category.name().into(), s.injects.name().into(), guest, expected, s.summary.clone()]);
    }
    format!("{t}\n{} scenarios in {}\n", catalog.scenarios.len(), catalog.dir.display())
}
