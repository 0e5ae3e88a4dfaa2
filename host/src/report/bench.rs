//! `faultbox bench`'s report and baseline comparison as text.

use crate::commands::bench::{BenchReport, Comparison, Verdict};

impl BenchReport {
    /// The report for the terminal: one line per configuration, then the
    /// breakdowns and ratios.
    pub fn text(&self) -> String {
        let mut out = format!("faultbox bench: scenario {}, {} cycles per configuration\n\n", self.scenario, self.iterations);
        out.push_str(&format!("{:<22} {:>12} {:>12} {:>14}  {}\n", "configuration", "median", "p99", "cycles/s", "observed"));
        for c in &self.configurations {
            let classes: Vec<String> = c.classes.iter().map(|(k, n)| format!("{k}×{n}")).collect();
            out.push_str(&format!(
                "{:<22} {:>9.1} µs {:>9.1} µs {:>14.0}  {}\n",
                c.name,
                c.cycle.median_us,
                c.cycle.p99_us,
                c.cycle.cycles_per_second,
                classes.join(", ")
            ));
        }
        out.push('\n');
        for c in &self.configurations {
            if !c.parts_median_us.is_empty() {
                let parts: Vec<String> = c.parts_median_us.iter().map(|(k, v)| format!("{k} {v:.2} µs")).collect();
                out.push_str(&format!("{} cycle breakdown (medians): {}\n", c.name, parts.join(", ")));
            }
        }
        out.push_str(&format!("backtrace capture adds {:.2} µs to a wasm trap cycle (median)\n", self.backtrace_cost_us));
        if let (Some(ud2), Some(segv)) = (self.platform_trap_us.get("ud2_sigill"), self.platform_trap_us.get("unmapped_load_sigsegv")) {
            out.push_str(&format!(
                "the platform's own trap round trip, no runtime involved (medians): ud2 -> SIGILL {ud2:.2} µs, \
                 unmapped load -> SIGSEGV {segv:.2} µs: the kernel's share of a signals-based trap\n"
            ));
        }
        for (m, r) in &self.native_over_wasm {
            out.push_str(&format!("{m} cycle is {r:.1}× faster than a native fork-server cycle\n"));
        }
        if let (Some(r), Some(floor)) = (self.native_over_floor, self.configurations.iter().find(|c| c.name == "native-floor")) {
            out.push_str(&format!(
                "native fork-server cycle is {r:.2}× the platform's fork floor ({:.1} µs: fork, trap, reap)\n",
                floor.cycle.median_us
            ));
        }
        if let (Some(r), Some(floor)) = (self.wasm_explicit_over_floor, self.wasm_explicit_floor_us) {
            out.push_str(&format!(
                "wasm-explicit cycle is {r:.2}× its instantiate + call-to-trap ({floor:.2} µs) from fault to a usable fresh instance; \
                 {:.2}× in CPU, counting the reaper thread's drop of the faulted instance\n",
                self.wasm_explicit_cpu_over_floor.unwrap_or(f64::NAN)
            ));
        }
        if let Some(r) = self.fork_exec_over_fork_server {
            out.push_str(&format!("fork server cycle is {r:.2}× faster than fork+exec\n"));
        }
        for (m, ms) in &self.compile_ms {
            let cached = self.cache_load_ms.get(m).map(|c| format!("{c:.2} ms")).unwrap_or_else(|| "not measured".into());
            out.push_str(&format!("one-off compile of the module ({m}): {ms:.1} ms; from faultbox's module cache: {cached}\n"));
        }
        if let (Some(ms), Some(jobs)) = (self.compare_ms, self.compare_jobs) {
            out.push_str(&format!("full compare (every scenario × every model, --jobs {jobs}): {ms:.0} ms\n"));
        }
        out
    }
}

impl Comparison {
    /// One line per configuration (`native cycle  270.0 µs → 281.0 µs
    /// +4.1%  (noise ±10%)`), then a verdict line.
    pub fn text(&self) -> String {
        let noise = self.noise_percent;
        let mut out = format!("against baseline `{}` ({}), median cycle:\n", self.baseline, self.baseline_file.display());
        for c in &self.changes {
            let verdict = match c.verdict {
                Verdict::Regressed => "REGRESSED",
                Verdict::Improved => "improved",
                Verdict::WithinNoise => "within noise",
            };
            out.push_str(&format!(
                "  {:<22} {:>9.1} µs → {:>9.1} µs  {:>+7.1}%  (noise ±{noise}%)  {verdict}\n",
                c.name, c.baseline_median_us, c.median_us, c.change_percent
            ));
        }
        for n in &self.new {
            out.push_str(&format!("  {n:<22} not in the baseline\n"));
        }
        for n in &self.missing {
            out.push_str(&format!("  {n:<22} in the baseline, not measured in this run\n"));
        }
        let slower: Vec<&str> = self.regressions().map(|c| c.name.as_str()).collect();
        if slower.is_empty() {
            out.push_str(&format!("no configuration regressed beyond the noise threshold of {noise}%\n"));
        } else {
            out.push_str(&format!("regressed beyond the noise threshold of {noise}%: {}\n", slower.join(", ")));
        }
        out
    }
}
