//! `faultbox soak`'s report as text.

use crate::protocol::SoakReport;

impl SoakReport {
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
