//! After a full compare the supervisor has no children, no zombies and no
//! file descriptors it did not start with, and nothing it started runs on.
//!
//! The counts are of this process, so the check runs alone, after the
//! other trials (`tests/main.rs`). When the comparison suite ran whole, its
//! supervisor ran every scenario in every model: that was the full
//! compare, and what it left is checked. Otherwise (a filtered run) the
//! check runs a full compare of its own.

use crate::common;
use faultbox::model::ExecutionModel;
use faultbox::scenario::Catalog;
use faultbox::supervisor::Supervisor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| format!("{} -> {:?}", e.file_name().to_string_lossy(), std::fs::read_link(e.path()).ok()))
        .collect();
    fds.sort();
    fds
}

/// Children of every thread of this process, zombies included, with
/// their command lines.
fn children() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            format!("{pid} {}", String::from_utf8_lossy(&cmdline).replace('\0', " ").trim())
        })
        .collect()
}

/// What this process had before any trial ran, and the tag every process
/// it starts inherits.
struct Baseline {
    fds: Vec<String>,
    tag: String,
}

static BASELINE: OnceLock<Baseline> = OnceLock::new();

/// Called first thing in `main`, before any thread exists or any process
/// is started.
pub fn record_baseline() {
    let tag = common::new_tag("hygiene");
    // SAFETY: main calls this before it starts a thread.
    unsafe { std::env::set_var("FAULTBOX_TEST_TAG", &tag) };
    let _ = BASELINE.set(Baseline { fds: open_fds(), tag });
}

fn after_compare_there_are_no_children_no_zombies_and_no_new_fds() {
    let baseline = BASELINE.get().expect("main records the baseline");
    if !crate::comparison::ran_whole() {
        let catalog = Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")).unwrap();
        let supervisor = Supervisor::new(PathBuf::from(common::FAULTBOX));
        let all: Vec<_> = catalog.scenarios.iter().collect();
        let outcomes = supervisor.run_all(&all, &ExecutionModel::ALL, 4).unwrap();
        assert_eq!(outcomes.len(), all.len() * ExecutionModel::ALL.len());
        assert!(!children().is_empty(), "workers were running");
        supervisor.pool().shutdown();
    }
    assert_eq!(children(), Vec::<String>::new(), "children or zombies left");
    assert_eq!(open_fds(), baseline.fds, "file descriptors left open");
    assert_eq!(common::wait_until_gone(&baseline.tag, 2), Vec::<u32>::new(), "descendants left running");
}

crate::trials!(after_compare_there_are_no_children_no_zombies_and_no_new_fds,);
