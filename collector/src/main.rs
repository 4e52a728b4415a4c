//! `clickstamp`: thin binary over the collector library.

use clickstamp_collector::cli::{parse_args, run_serve, CliError, USAGE};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let level = std::env::var("CLICKSTAMP_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(tracing::Level::INFO);
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(color)
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let serve_args = match parse_args(&args) {
        Ok(a) => a,
        Err(CliError::Help) => {
            print!("{USAGE}");
            return;
        }
        Err(CliError::Usage(message)) => {
            eprintln!("error: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = actix_web::rt::System::new().block_on(run_serve(serve_args)) {
        tracing::error!(error = %e, "collector stopped");
        std::process::exit(1);
    }
}
