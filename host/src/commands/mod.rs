//! Layer 5: each command's orchestration, one documented entry function
//! per command that returns a result struct; `report` renders it and `cli`
//! prints it.

pub mod fuzz;
pub mod progress;
