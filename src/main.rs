use clap::Parser;

/// mimalloc rather than glibc's malloc. A profile of the centre during
/// `bench hop` put about a fifth of its CPU in glibc's malloc and free;
/// with mimalloc beside whole-program LTO the simulator's hour ran 4–23 %
/// faster than with LTO alone. It keeps freed memory a second before
/// giving it back, 13–27 MB more per process than glibc, unless
/// `MIMALLOC_PURGE_DELAY=0`, which the supervisor sets for its children
/// (docs/operations.md, "Memory"; docs/performance.md, 2026-12-05).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match start(hotline::cmd::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotline: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Pins the process when asked, before the runtime starts, so the
/// runtime's threads inherit the CPU; then runs the command.
fn start(cli: hotline::cmd::Cli) -> anyhow::Result<()> {
    if let Some(cpu) = cli.command.cpu() {
        hotline::cpu::pin(cpu)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("async runtime: {e}"))?;
    runtime.block_on(hotline::cmd::run(cli))
}
