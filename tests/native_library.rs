//! Native guests that are shared libraries (`NativeRequest::library`, C's
//! launcher): the fork server dlopens the library once, its child calls
//! `fb_<entry>` in itself, progress and recoveries come back through the
//! library's hook variables. Driven through a real native worker process,
//! with a library built here from a few lines of C by `cc`; without `cc`
//! the tests print a note and pass, unless `CI` is set.


use crate::common::{FAULTBOX, Scratch};
use faultbox::limits::Limits;
use faultbox::outcome::Signal;
use faultbox::protocol::{ChildStage, ChildStatus, Message, NativeObservation, NativeRequest, Request};
use faultbox::worker::WorkerKind;
use faultbox::worker::client::{CallError, WorkerPool};
use std::path::{Path, PathBuf};
use std::time::Duration;

const HEALTH_OK: i64 = 0x600DF00D;

const SOURCE: &str = r#"
#include <stdint.h>
#include <stddef.h>
void (*volatile fb_progress_hook)(int64_t) = 0;
void (*volatile fb_recovered_hook)(const char *) = 0;
int64_t fb_health(void) { return 0x600DF00DLL; }
int64_t fb_add(int64_t arg) {
    for (int64_t i = 1; i <= 3; i++) if (fb_progress_hook) fb_progress_hook(i);
    return arg + 1;
}
int64_t fb_says_recovered(int64_t arg) {
    if (fb_recovered_hook) fb_recovered_hook("SIGSEGV, pretended");
    return arg;
}
static volatile int64_t *volatile nowhere = 0;
int64_t fb_segv(int64_t arg) { (void)arg; return *nowhere; }
"#;

fn build(dir: &Scratch) -> Option<PathBuf> {
    let src = dir.file("lib.c", SOURCE);
    let out = dir.0.join("libtest.so");
    match std::process::Command::new("cc").args(["-O1", "-fPIC", "-shared", "-o"]).arg(&out).arg(&src).status() {
        Ok(s) if s.success() => Some(out),
        other => {
            assert!(std::env::var_os("CI").is_none(), "cc is needed under CI: {other:?}");
            eprintln!("note: no cc here ({other:?}): the library launcher's tests are skipped");
            None
        }
    }
}

fn request(library: &Path, entry: &str, arg: i64) -> Request {
    Request::Native(NativeRequest {
        entry: entry.into(),
        arg,
        limits: Limits::default(),
        backtrace: false,
        exec: None,
        library: Some(library.to_path_buf()),
        inject: None,
    })
}

fn call(pool: &WorkerPool, req: &Request) -> Result<Message, CallError> {
    pool.call(WorkerKind::Native, req, Duration::from_secs(60))
}

fn observe(pool: &WorkerPool, req: &Request) -> NativeObservation {
    match call(pool, req) {
        Ok(Message::Native(obs)) => obs,
        Ok(other) => panic!("not an observation: {other:?}"),
        Err(e) => panic!("{req:?}: {:#}", anyhow::Error::from(e)),
    }
}

fn a_library_entry_runs_in_the_child_with_its_hooks() {
    let dir = Scratch::new("native-library");
    let Some(lib) = build(&dir) else { return };
    let pool = WorkerPool::new(PathBuf::from(FAULTBOX));

    let obs = observe(&pool, &request(&lib, "add", 41));
    assert_eq!(obs.status, ChildStatus::Exited { code: 0 }, "{obs:?}");
    assert_eq!((obs.report.stage, obs.report.value, obs.report.health), (ChildStage::Completed, Some(42), Some(HEALTH_OK)));
    let progress = obs.report.progress.expect("progress through fb_progress_hook");
    assert_eq!((progress.last, progress.reports), (3, 3));

    let obs = observe(&pool, &request(&lib, "says_recovered", 7));
    assert_eq!(obs.report.stage, ChildStage::Recovered, "{obs:?}");
    assert_eq!(obs.report.panics, ["SIGSEGV, pretended"]);
    assert_eq!(obs.report.health, Some(HEALTH_OK));

    let obs = observe(&pool, &request(&lib, "segv", 0));
    assert_eq!(obs.status, ChildStatus::Signaled { signal: Signal::SIGSEGV, core_dumped: false }, "{obs:?}");
    assert_eq!(obs.report.stage, ChildStage::Running);

    // The same worker runs the library again (loaded once), and a linked
    // guest beside it.
    assert_eq!(observe(&pool, &request(&lib, "add", 1)).report.value, Some(2));
    let linked = Request::Native(NativeRequest { entry: "clean_run".into(), arg: 0, limits: Limits::default(), backtrace: false, exec: None, library: None, inject: None });
    assert_eq!(observe(&pool, &linked).report.stage, ChildStage::Completed);
}

fn a_library_that_cannot_be_loaded_or_lacks_the_entry_is_a_tool_failure() {
    let dir = Scratch::new("native-library-bad");
    let Some(lib) = build(&dir) else { return };
    let pool = WorkerPool::new(PathBuf::from(FAULTBOX));
    let missing = dir.0.join("no-such-library.so");
    let not_a_library = dir.file("not-a-library.so", "plain text\n");
    for (req, want) in [
        (request(&missing, "add", 0), "cannot load the guest library"),
        (request(&not_a_library, "add", 0), "cannot load the guest library"),
        (request(&lib, "nope", 0), "the library has no function `fb_nope`"),
    ] {
        match call(&pool, &req) {
            Err(CallError::Tool(e)) => {
                let text = format!("{e:#}");
                println!("{text}");
                assert!(text.contains(want), "{text}");
                assert_eq!(text.lines().count(), 1, "{text}");
            }
            other => panic!("{req:?}: {other:?}"),
        }
    }
    // The worker that reported them serves the next run.
    assert_eq!(observe(&pool, &request(&lib, "add", 0)).report.value, Some(1));
}

crate::trials!(
    a_library_entry_runs_in_the_child_with_its_hooks,
    a_library_that_cannot_be_loaded_or_lacks_the_entry_is_a_tool_failure,
);
