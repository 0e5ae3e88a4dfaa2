//! `faultbox fuzz`'s summary as text.

use crate::commands::fuzz::FuzzSummary;

impl FuzzSummary {
    pub fn text(&self) -> String {
        let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        // A `timeout` is fuel running out or the CPU budget: the trap
        // codes line (out_of_fuel, interrupt) says which.
        let classes: Vec<String> = self.classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let traps: Vec<String> = self.trap_codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let steps: u64 = self.classes.values().sum();
        let mut out = format!(
            "fuzz: {} in {}, {:.1} s\n  \
             {} instantiated, {} trapped while instantiating (start function or segment initialisation)\n  \
             {} into the instantiated modules\n  \
             fault classes over the {} (instantiations and calls): {}\n  \
             trap codes: {}\n  \
             workers lost: {}\n",
            if self.replayed {
                format!("{} (replayed)", plural(self.modules, "saved module", "saved modules"))
            } else {
                format!("{} (seed {})", plural(self.modules, "random module", "random modules"), self.seed)
            },
            self.model,
            self.seconds,
            self.instantiated,
            self.modules - self.instantiated.min(self.modules),
            plural(self.calls, "call", "calls"),
            plural(steps, "step", "steps"),
            if classes.is_empty() { "none".to_string() } else { classes.join(", ") },
            if traps.is_empty() { "none".to_string() } else { traps.join(", ") },
            self.workers_lost
        );
        if self.rule_breakers.is_empty() {
            out.push_str("every step ended classified, no worker died, and no module ran past its wall-clock deadline\n");
        } else {
            out.push_str(&format!("{} broke a rule:\n", if self.rule_breakers.len() == 1 { "1 module".to_string() } else { format!("{} modules", self.rule_breakers.len()) }));
            for b in &self.rule_breakers {
                let saved = b.saved.as_ref().map(|p| format!(" (saved as {})", p.display())).unwrap_or_default();
                out.push_str(&format!("  module {}: {}{saved}\n", b.index, b.broken.join("; ")));
            }
        }
        out
    }
}
