//! The execution models faultbox compares, and the guest languages.

pub use crate::registry::EngineConfig;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where and how guest code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExecutionModel {
    /// The guest compiled to wasm and run by one engine configuration of
    /// the registry ([`crate::registry`]) in a worker process.
    Wasm(EngineConfig),
    /// The same guest source compiled natively and run in a forked child
    /// (or a program exec'd from it), with the language's own recovery.
    Native,
}

impl ExecutionModel {
    /// Every model, in column order: the registry's wasm configurations,
    /// then native.
    pub const ALL: [ExecutionModel; EngineConfig::ALL.len() + 1] = {
        let mut all = [ExecutionModel::Native; EngineConfig::ALL.len() + 1];
        let mut i = 0;
        while i < EngineConfig::ALL.len() {
            all[i] = ExecutionModel::Wasm(EngineConfig::ALL[i]);
            i += 1;
        }
        all
    };

    /// The first wasm configuration: the one whose manifest entry
    /// (`[expect.<language>.wasm]`) every other wasm model inherits.
    pub const DEFAULT_WASM: ExecutionModel = ExecutionModel::Wasm(EngineConfig::Cranelift);

    pub fn name(self) -> &'static str {
        match self {
            ExecutionModel::Wasm(engine) => engine.name(),
            ExecutionModel::Native => "native",
        }
    }

    pub fn from_name(name: &str) -> Option<ExecutionModel> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn is_wasm(self) -> bool {
        self.wasm_engine().is_some()
    }

    /// The engine configuration of a wasm model; `None` for native.
    pub fn wasm_engine(self) -> Option<EngineConfig> {
        match self {
            ExecutionModel::Wasm(engine) => Some(engine),
            ExecutionModel::Native => None,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ExecutionModel::Wasm(engine) => engine.row().description,
            ExecutionModel::Native => "native code in a forked child, with the language's own recovery",
        }
    }

    /// The model names joined for a message.
    pub fn names() -> String {
        Self::ALL.map(|m| m.name()).join(", ")
    }
}

impl From<EngineConfig> for ExecutionModel {
    fn from(e: EngineConfig) -> ExecutionModel {
        ExecutionModel::Wasm(e)
    }
}

impl fmt::Display for ExecutionModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// Written as the model's name, as it always was: "wasm", "native", ...
impl Serialize for ExecutionModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ExecutionModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ExecutionModel::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown execution model `{name}` (known: {})", ExecutionModel::names())))
    }
}

impl schemars::JsonSchema for ExecutionModel {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExecutionModel".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = ExecutionModel::ALL.iter().map(|m| m.name()).collect();
        schemars::json_schema!({
            "description": "An execution model, by name: a wasm engine configuration of the registry, or native.",
            "type": "string",
            "enum": names,
        })
    }
}

/// The language a guest is written in: the matrix's third axis, beside
/// scenario and execution model. What faultbox knows of each (how it is
/// built, called, launched and how it dies) is its descriptor in
/// `crate::language`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// The `faultbox-guests` crate (`guests/rust/`): embedded as wasm,
    /// linked natively and run in the fork server's child.
    Rust,
    /// The Go guest (`guests/go/`): a `GOOS=wasip1` reactor, and a program
    /// exec'd per run natively.
    Go,
    /// Hand-written WebAssembly text (`scenarios/wat/`): wasm models only.
    Wat,
    /// The C guest (`guests/c/`): a wasm32-wasi reactor built with clang
    /// and wasi-libc, and a shared library dlopen'd in the fork server's
    /// child natively.
    C,
    /// A module or program faultbox did not build: `run --wasm FILE`,
    /// `run --native PROGRAM`, or a manifest's `[guest.prebuilt]`.
    Prebuilt,
}

impl Language {
    pub const ALL: [Language; 5] = [Language::Rust, Language::Go, Language::Wat, Language::C, Language::Prebuilt];

    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Wat => "wat",
            Language::C => "c",
            Language::Prebuilt => "prebuilt",
        }
    }

    pub fn from_name(name: &str) -> Option<Language> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
