//! Layer 5: each command's orchestration, one documented entry function
//! per command that returns a result; `report` renders it and `cli` prints
//! it and decides the exit code.
//!
//! - [`compare::compare`], [`compare::run`], [`compare::explain`]: outcomes;
//! - [`wast::wast`]: a `WastReport`;
//! - [`bench::run`]: a [`bench::BenchReport`] (baselines saved and compared
//!   here too);
//! - [`soak::soak`]: a `SoakReport`;
//! - [`fuzz::run`]: a [`fuzz::FuzzSummary`];
//! - [`progress`]: the progress line the long ones draw on stderr.

pub mod bench;
pub mod compare;
pub mod fuzz;
pub mod progress;
pub mod soak;
pub mod wast;

use crate::error::BadInput;
use crate::model::ExecutionModel;
use crate::outcome::FaultClass;
use crate::scenario::Scenario;

/// bench and soak cycle a fault that ends by itself; one that only ends at
/// its deadline would measure the deadline.
pub fn cycles_by_itself(s: &Scenario) -> Result<(), BadInput> {
    let ends_at_deadline = s.injects == FaultClass::Timeout
        || ExecutionModel::ALL.iter().any(|m| s.expectation(*m).fault == Some(FaultClass::Timeout));
    if ends_at_deadline {
        return Err(BadInput::in_file(
            &s.manifest,
            format!("`{}` only ends at its deadline: bench and soak need a fault that ends by itself", s.name),
        ));
    }
    Ok(())
}
