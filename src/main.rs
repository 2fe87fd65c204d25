use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = hotline::cmd::Cli::parse();
    match hotline::cmd::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotline: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
