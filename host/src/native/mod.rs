//! The native execution model: the same guest source, linked into this
//! binary, run in a forked child of a fork server inside `catch_unwind`.

mod alloc_watch;
mod child;
mod forkserver;
mod once;
pub mod probe;
mod region;

pub use child::EXIT_SETUP_FAILED;
pub use forkserver::{CycleParts, ForkServer, ServerError, on_fork_thread};
pub use once::{exec_cycle, run as run_once};
