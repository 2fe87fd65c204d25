use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = hotline::cmd::Cli::parse();
    // Pinned before the runtime starts, so its threads inherit the CPU.
    if let Some(cpu) = cli.command.cpu()
        && let Err(e) = hotline::cpu::pin(cpu)
    {
        eprintln!("hotline: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hotline: async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(hotline::cmd::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotline: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
