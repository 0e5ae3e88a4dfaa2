//! POSIX signals by name, as child deaths are reported.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A signal number, shown and parsed by its conventional name (`SIGSEGV`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signal(pub i32);

impl Signal {
    pub const SIGSEGV: Signal = Signal(libc::SIGSEGV);
    pub const SIGBUS: Signal = Signal(libc::SIGBUS);
    pub const SIGABRT: Signal = Signal(libc::SIGABRT);
    pub const SIGILL: Signal = Signal(libc::SIGILL);
    pub const SIGTRAP: Signal = Signal(libc::SIGTRAP);
    pub const SIGFPE: Signal = Signal(libc::SIGFPE);
    pub const SIGKILL: Signal = Signal(libc::SIGKILL);
    pub const SIGXCPU: Signal = Signal(libc::SIGXCPU);

    pub fn name(self) -> String {
        match nix::sys::signal::Signal::try_from(self.0) {
            Ok(s) => s.as_str().to_string(),
            Err(_) => format!("SIG{}", self.0),
        }
    }

    /// Parses a conventional name, or `SIG<n>` for a signal without one
    /// (real-time signals): whatever [`Signal::name`] writes reads back.
    pub fn from_name(name: &str) -> Option<Signal> {
        if let Ok(s) = name.parse::<nix::sys::signal::Signal>() {
            return Some(Signal(s as i32));
        }
        let n: i32 = name.strip_prefix("SIG")?.parse().ok()?;
        (1..=64).contains(&n).then_some(Signal(n))
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// In the JSON Schema as it is written: a name.
impl schemars::JsonSchema for Signal {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Signal".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^SIG[A-Z0-9]+$",
            "description": "A POSIX signal by its conventional name (SIGSEGV), or SIG<n> for one without a name."
        })
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Signal::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown signal `{name}` (expected a name such as SIGSEGV)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_number_round_trips_through_its_name() {
        for n in 1..=64 {
            let s = Signal(n);
            assert_eq!(Signal::from_name(&s.name()), Some(s), "{}", s.name());
        }
        assert_eq!(Signal::SIGSEGV.name(), "SIGSEGV");
        assert_eq!(Signal::from_name("SIGBOOM"), None);
    }
}
