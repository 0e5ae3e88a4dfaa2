fn main() {
    std::process::exit(faultbox::cli::main());
}
