fn main() {
    std::process::exit(faultbox::cli::main());
}

/// Runs before `main` and before Rust's runtime, which reopens a closed
/// standard descriptor on /dev/null read-write, the very way a script
/// discards output on purpose (`1<>/dev/null`, Python's DEVNULL): only
/// here can a closed stdout still be told from that.
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_STDOUT: extern "C" fn() = note_stdout;

extern "C" fn note_stdout() {
    faultbox::process::note_stdout_at_start();
}
