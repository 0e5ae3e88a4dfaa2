//! After a full compare the supervisor has no children, no zombies and no
//! file descriptors it did not start with. One test in its own binary: the
//! counts are of this process.


use crate::common;
use faultbox::model::ExecutionModel;
use faultbox::scenario::Catalog;
use faultbox::supervisor::Supervisor;
use std::path::{Path, PathBuf};

fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| format!("{} -> {:?}", e.file_name().to_string_lossy(), std::fs::read_link(e.path()).ok()))
        .collect();
    fds.sort();
    fds
}

/// Children of every thread of this process, zombies included.
fn children() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn after_compare_there_are_no_children_no_zombies_and_no_new_fds() {
    let tag = common::new_tag("hygiene");
    // SAFETY: set before any thread of this test binary spawns processes.
    unsafe { std::env::set_var("FAULTBOX_TEST_TAG", &tag) };
    let catalog = Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")).unwrap();
    let before = open_fds();
    {
        let supervisor = Supervisor::new(PathBuf::from(common::FAULTBOX));
        let all: Vec<_> = catalog.scenarios.iter().collect();
        let outcomes = supervisor.run_all(&all, &ExecutionModel::ALL, 4).unwrap();
        assert_eq!(outcomes.len(), all.len() * ExecutionModel::ALL.len());
        assert!(!children().is_empty(), "workers were running");
        supervisor.pool().shutdown();
    }
    assert_eq!(children(), Vec::<String>::new(), "children or zombies left");
    assert_eq!(open_fds(), before, "file descriptors left open");
    assert_eq!(common::wait_until_gone(&tag, 2), Vec::<u32>::new(), "descendants left running");
}

crate::trials!(
    after_compare_there_are_no_children_no_zombies_and_no_new_fds,
);
