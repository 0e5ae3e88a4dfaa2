//! Issue 23, native side: what a native guest may not do to faultbox, and
//! what faultbox refuses to run. Items 6 (a guest cannot kill or trace the
//! fork server or the supervisor), 7 (a prebuilt program has no report
//! channel), 11 (everything a guest starts counts toward its CPU budget),
//! 12 (bench's fork+exec baseline classifies as the fork server does) and
//! 14 (a program the kernel would not exec is one line and exit 2).
//!
//! The hostile program is built here from `tests/byo/hostile.c` with `cc`.


use crate::common::{FAULTBOX, Scratch};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/byo")
}

/// `source` (in `tests/byo`) compiled to `name` in `dir` with `cc`,
/// executable by everyone (faultbox run as root runs it as another user).
fn compile(dir: &Scratch, source: &str, name: &str) -> PathBuf {
    let path = dir.0.join(name);
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&path)
        .arg(sources().join(source))
        .status()
        .expect("cc is on the PATH (the hostile program is built from tests/byo)");
    assert!(status.success(), "cc failed to build tests/byo/{source}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The scratch directory too: a guest that is not root must reach it.
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn hostile(dir: &Scratch) -> PathBuf {
    compile(dir, "hostile.c", "hostile")
}

fn faultbox(args: &[&str]) -> Output {
    Command::new(FAULTBOX).args(args).env("NO_COLOR", "1").output().expect("faultbox runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `faultbox run --native PROGRAM -- MODE --format json`: it must end with
/// a report (exit 0 or 1: never killed, never a tool error), whose one
/// native outcome is returned.
fn run_native(program: &Path, mode: &str) -> Value {
    let out = faultbox(&["run", "--native", program.to_str().unwrap(), "--format", "json", "--", mode]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{mode}: faultbox ended {:?}: {stderr}\n{stdout}", out.status);
    let outcomes: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{mode}: no report ({e}): {stdout}\n{stderr}"));
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    outcomes.into_iter().next().unwrap()
}

/// The program's own stdout, from the outcome's output tail.
fn said(o: &Value) -> String {
    o["output_tail"].as_str().unwrap_or_default().to_string()
}

/// The fork server survived the run: the program's own end is the outcome,
/// not a lost worker.
fn ran_to_its_end(o: &Value) {
    assert_eq!(o["ending"]["kind"], "exited", "the fork server did not survive: {o:#}");
    assert_eq!(o["ending"]["code"], 0, "{o:#}");
    assert_eq!(o["verdict"], "ok", "{o:#}");
}

// Item 6: a native guest can neither kill nor trace faultbox's processes.

fn a_guest_cannot_kill_the_fork_server() {
    let dir = Scratch::new("hn-kill-parent");
    let o = run_native(&hostile(&dir), "kill-parent");
    ran_to_its_end(&o);
    assert!(said(&o).contains("kill fork server") && !said(&o).contains(": done"), "{}", said(&o));
}

fn a_guest_cannot_kill_the_supervisor() {
    let dir = Scratch::new("hn-kill-supervisor");
    let o = run_native(&hostile(&dir), "kill-supervisor");
    ran_to_its_end(&o);
    assert!(said(&o).contains("kill supervisor") && !said(&o).contains(": done"), "{}", said(&o));
}

fn a_guest_cannot_trace_the_fork_server_or_the_supervisor() {
    let dir = Scratch::new("hn-trace");
    let o = run_native(&hostile(&dir), "trace");
    ran_to_its_end(&o);
    let said = said(&o);
    assert!(said.contains("attach fork server") && said.contains("attach supervisor"), "{said}");
    assert!(!said.contains(": done"), "an attach went through: {said}");
}

/// The linked Rust guest of the catalog (no exec: the forked child itself)
/// runs `kill -KILL <its parent>`: the fork server lives on.
fn a_linked_guest_cannot_kill_the_fork_server() {
    let out = faultbox(&["run", "kill_parent", "--model", "native", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let outcomes: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let o = &outcomes[0];
    assert_eq!(o["ending"]["kind"], "completed", "{o:#}");
    assert_eq!(o["ending"]["value"], -1, "the kill went through: {o:#}");
}

// Item 7: a prebuilt program gets no report channel; what it writes is
// not its report.

fn a_prebuilt_program_has_no_report_channel_and_its_claims_are_not_believed() {
    let dir = Scratch::new("hn-forge");
    let o = run_native(&hostile(&dir), "forge");
    let said = said(&o);
    assert!(said.contains("FAULTBOX_REPORT_FD=(unset)"), "{said}");
    assert!(said.contains("write fd 3: Bad file descriptor"), "{said}");
    // A clean exit 0: nothing recovered, nothing reused, no health check.
    ran_to_its_end(&o);
    assert_eq!(o["fault"], "none", "{o:#}");
    assert_eq!(o["containment"]["reuse"], "not_checked", "{o:#}");
    let evidence = o["evidence"].to_string();
    assert!(!evidence.contains("forged") && !evidence.contains("recovered"), "{evidence}");
}

/// A prebuilt program cannot say when it is ready for a signal: an
/// `[inject]` with one is refused when the manifest loads.
fn an_injected_signal_for_a_prebuilt_program_is_refused() {
    let dir = Scratch::new("hn-inject");
    hostile(&dir);
    let manifest = dir.file(
        "inject.toml",
        "summary = \"s\"\ncategory = \"control\"\ninjects = \"external_signal\"\n[inject]\nsignal = \"SIGTERM\"\n\
         [guest.prebuilt]\nprogram = \"hostile\"\nargs = [\"escape\"]\n",
    );
    refused(&["compare", "--scenarios", dir.path()], &manifest, "no channel to report it");
}

// Item 11: a child that leaves the guest's process group still spends
// the guest's CPU budget.

fn a_child_in_a_session_of_its_own_spends_the_budget_and_is_killed() {
    let dir = Scratch::new("hn-escape");
    let o = run_native(&hostile(&dir), "escape");
    assert_eq!(o["verdict"], "killed", "{o:#}");
    assert_eq!(o["fault"], "timeout", "{o:#}");
    assert_eq!(o["ending"]["deadline"], "cpu", "not stalled: {o:#}");
    // The budget is 1 s of CPU: the spinner's, counted, and not many more.
    let cpu_us = o["cost"]["cpu_us"].as_u64().unwrap();
    assert!((1_000_000..3_000_000).contains(&cpu_us), "{cpu_us} µs of CPU: {o:#}");
    let pid: u32 = said(&o)
        .lines()
        .find_map(|l| l.strip_prefix("spinner ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no spinner pid: {}", said(&o)));
    // Reaped, not only killed: no such process is left (or a later one
    // took its pid, which is not our spinner).
    let left = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(!left.contains("hostile"), "the spinner {pid} outlived faultbox: {left}");
}

/// Whether this process can make a cgroup in its cgroup v2: when it can,
/// so can faultbox's fork server, which then counts its guests in one.
fn cgroup2_writable() -> bool {
    if unsafe { libc::geteuid() } != 0 {
        return false;
    }
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else { return false };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Some(mount) = mountinfo.lines().find_map(|l| {
        let (fields, after) = l.split_once(" - ")?;
        (after.split_whitespace().next()? == "cgroup2" && fields.split_whitespace().nth(3)? == "/").then(|| fields.split_whitespace().nth(4).map(String::from))?
    }) else {
        return false;
    };
    let probe = Path::new(&mount).join(path.trim_start_matches('/')).join(format!("faultbox-test-probe-{}", std::process::id()));
    let made = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    made
}

/// Children reaped by the kernel (their parent ignores SIGCHLD) take their
/// CPU times with them out of `/proc`: only a cgroup still counts them.
fn children_reaped_by_the_kernel_spend_the_budget_where_a_cgroup_counts_them() {
    if !cgroup2_writable() {
        println!("skipped: not root, or no writable cgroup2 hierarchy here (faultbox counts descendants from /proc then)");
        return;
    }
    let dir = Scratch::new("hn-autoreap");
    let o = run_native(&hostile(&dir), "autoreap");
    assert_eq!(o["verdict"], "killed", "{o:#}");
    assert_eq!(o["ending"]["deadline"], "cpu", "not stalled: {o:#}");
}

// Item 12: bench's fork+exec baseline classifies its cycles as the fork
// server's are.

fn bench_fork_exec_classifies_a_recovered_panic_as_the_fork_server_does() {
    let dir = Scratch::new("hn-bench");
    // One scenario, so that the compare bench also times is short.
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/unwinding_panic.toml")).unwrap();
    dir.file("unwinding_panic.toml", &manifest);
    let cache = Scratch::new("hn-bench-cache");
    let out = Command::new(FAULTBOX)
        .args(["bench", "--scenarios", dir.path(), "--scenario", "unwinding_panic", "--iterations", "10", "--format", "json"])
        .env("FAULTBOX_CACHE_DIR", &cache.0)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let classes = |name: &str| {
        report["configurations"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}"))["classes"].clone()
    };
    assert_eq!(classes("native"), serde_json::json!({"panic": 10}));
    assert_eq!(classes("native-fork-exec"), classes("native"));
}

// Item 14: a program the kernel would not exec is refused before any
// worker starts, in one line naming it, exit 2.

/// Exit 2 and one line on stderr that names `file` and says `problem`.
fn refused(args: &[&str], file: &Path, problem: &str) {
    let out = faultbox(args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}{}", text(&out.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line: {stderr}");
    assert!(stderr.contains(file.to_str().unwrap()), "{args:?}: names the file: {stderr}");
    assert!(stderr.contains(problem), "{args:?}: says `{problem}`: {stderr}");
}

fn executable(dir: &Scratch, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.0.join(name);
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn a_file_with_neither_a_shebang_nor_an_elf_header_is_refused() {
    let dir = Scratch::new("hn-noshebang");
    let plain = executable(&dir, "plain", b"echo hello\nexit 0\n");
    refused(&["run", "--native", plain.to_str().unwrap()], &plain, "neither an ELF executable nor a script");
}

fn a_script_whose_interpreter_is_missing_is_refused() {
    let dir = Scratch::new("hn-badinterp");
    let script = executable(&dir, "script", b"#!/nonexistent/faultbox-interpreter -x\necho hello\n");
    refused(&["run", "--native", script.to_str().unwrap()], &script, "interpreter `/nonexistent/faultbox-interpreter`");
    // An interpreter that is itself no program.
    let not_a_program = executable(&dir, "not-a-program", b"just text\n");
    let via = executable(&dir, "via", format!("#!{}\n", not_a_program.display()).as_bytes());
    refused(&["run", "--native", via.to_str().unwrap()], &via, "neither an ELF executable nor a script");
}

fn a_truncated_elf_file_is_refused() {
    let dir = Scratch::new("hn-truncated");
    let whole = std::fs::read(hostile(&dir)).unwrap();
    // Its header and program headers whole; its segments cut.
    let cut = executable(&dir, "cut", &whole[..whole.len() / 3]);
    refused(&["run", "--native", cut.to_str().unwrap()], &cut, "truncated");
    // Cut inside the ELF header.
    let stub = executable(&dir, "stub", &whole[..20]);
    refused(&["run", "--native", stub.to_str().unwrap()], &stub, "truncated");
}

fn arguments_too_long_for_exec_are_refused() {
    let dir = Scratch::new("hn-e2big");
    hostile(&dir);
    // Too long for faultbox's own command line too: in a manifest.
    let long = "x".repeat(200_000);
    dir.file(
        "big.toml",
        &format!(
            "summary = \"s\"\ncategory = \"control\"\ninjects = \"unknown\"\n[guest.prebuilt]\nprogram = \"hostile\"\nargs = [\"{long}\"]\n"
        ),
    );
    let program = dir.0.join("hostile");
    refused(&["compare", "--scenarios", dir.path()], &program, "Argument list too long");
    // Many arguments, each short, past what exec takes in all.
    let many = vec!["\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""; 70_000].join(",");
    dir.file(
        "big.toml",
        &format!("summary = \"s\"\ncategory = \"control\"\ninjects = \"unknown\"\n[guest.prebuilt]\nprogram = \"hostile\"\nargs = [{many}]\n"),
    );
    refused(&["compare", "--scenarios", dir.path()], &program, "Argument list too long");
}

crate::trials!(
    a_guest_cannot_kill_the_fork_server,
    a_guest_cannot_kill_the_supervisor,
    a_guest_cannot_trace_the_fork_server_or_the_supervisor,
    a_linked_guest_cannot_kill_the_fork_server,
    a_prebuilt_program_has_no_report_channel_and_its_claims_are_not_believed,
    an_injected_signal_for_a_prebuilt_program_is_refused,
    a_child_in_a_session_of_its_own_spends_the_budget_and_is_killed,
    children_reaped_by_the_kernel_spend_the_budget_where_a_cgroup_counts_them,
    bench_fork_exec_classifies_a_recovered_panic_as_the_fork_server_does,
    a_file_with_neither_a_shebang_nor_an_elf_header_is_refused,
    a_script_whose_interpreter_is_missing_is_refused,
    a_truncated_elf_file_is_refused,
    arguments_too_long_for_exec_are_refused,
);
