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

    pub fn from_name(name: &str) -> Option<Signal> {
        name.parse::<nix::sys::signal::Signal>().ok().map(|s| Signal(s as i32))
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

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Signal::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown signal `{name}` (expected a name such as SIGSEGV)")))
    }
}
