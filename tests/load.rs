//! A verdict depends on what the guest did, not on how busy the machine
//! is: the whole catalog, run beside CPU hogs, still matches every
//! manifest, and every pair is classified the same way twice
//! (`common::full_run`: two busy loops per core, more jobs than cores).

use crate::common::full_run;

fn the_catalog_matches_its_manifests_beside_cpu_hogs() {
    let run = full_run();
    assert!(
        run.code == Some(0),
        "compare --check --repeat 2 beside {} busy loops exited {:?}\n{}\n{}",
        run.hogs,
        run.code,
        run.table,
        run.stderr
    );
    assert_eq!(run.json["stability"]["runs"], 2);
    assert_eq!(run.json["stability"]["flaky"], serde_json::json!([]), "{}", run.stderr);
}

crate::trials!(the_catalog_matches_its_manifests_beside_cpu_hogs);
