//! The native execution model: the same guest source, linked into this
//! binary, run in a forked child of a fork server inside `catch_unwind`;
//! or a guest program of its own (Go's), exec'd by that child (`exec`);
//! or a shared library (C's), dlopen'd by the fork server and called in
//! that child (`library`).

mod alloc_watch;
mod child;
mod exec;
mod forkserver;
mod library;
mod once;
pub mod probe;
mod region;

pub use child::EXIT_SETUP_FAILED;
pub use exec::{REPORT_FD, ReportLines, address_space_limit};
pub use forkserver::{CycleParts, ForkServer, ServerError, on_fork_thread};
pub use once::{ExecCycles, REGION_FD, run as run_once};
