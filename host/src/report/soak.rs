//! `faultbox soak`'s report as text, and as JSON.

use crate::protocol::SoakReport;

/// `soak --format json`: the report's fields with integers as JSON
/// numbers (the worker protocol writes 64-bit ones as strings; the report
/// is for people and `jq`, and its shape predates that rule).
#[derive(serde::Serialize)]
struct SoakJson<'a> {
    model: crate::model::ExecutionModel,
    cycles: u64,
    seconds: f64,
    rss_start_kib: u64,
    rss_warm_kib: u64,
    rss_end_kib: u64,
    growth_percent: f64,
    rss_samples: &'a [(u64, u64)],
    classes: &'a std::collections::BTreeMap<String, u64>,
}

impl SoakReport {
    /// The report as `soak --format json` prints it.
    pub fn json(&self) -> String {
        let r = self;
        let json = SoakJson {
            model: r.model,
            cycles: r.cycles,
            seconds: r.seconds,
            rss_start_kib: r.rss_start_kib,
            rss_warm_kib: r.rss_warm_kib,
            rss_end_kib: r.rss_end_kib,
            growth_percent: r.growth_percent,
            rss_samples: &r.rss_samples,
            classes: &r.classes,
        };
        serde_json::to_string_pretty(&json).expect("reports serialize")
    }

    /// The report in a few lines, for the terminal.
    pub fn text(&self, scenario: &str) -> String {
        let classes: Vec<String> = self.classes.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        let samples: Vec<String> = self.rss_samples.iter().map(|(c, k)| format!("{c}: {k}")).collect();
        format!(
            "soak: {} trap-and-recover cycles of {scenario} in one {} worker, {:.1} s ({:.0} cycles/s)\n\
             observed: {}\n\
             worker RSS: {} KiB before the first cycle, {} KiB after warm-up, {} KiB at the end: {:+.2}% since warm-up\n\
             RSS samples (cycle: KiB): {}\n",
            self.cycles,
            self.model,
            self.seconds,
            self.cycles as f64 / self.seconds.max(1e-9),
            classes.join(", "),
            self.rss_start_kib,
            self.rss_warm_kib,
            self.rss_end_kib,
            self.growth_percent,
            samples.join(", ")
        )
    }
}
