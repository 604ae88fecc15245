//! `coroner-collect`: parse the command line, run, exit 0 (clean), 1 (bundle with problems) or 2 (no bundle).

fn main() {
    let code = match coroner_collect::cli::run(std::env::args_os().collect()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("coroner-collect: error: {e:#}");
            eprintln!("coroner-collect: no bundle was written");
            2
        }
    };
    std::process::exit(code);
}
