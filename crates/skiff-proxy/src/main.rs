use skiff_proxy::{serve, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            print!("{}", skiff_proxy::USAGE);
            return std::process::ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("skiff-proxy: {error}\n\n{}", skiff_proxy::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("skiff-proxy: cannot listen on {}: {error}", config.listen);
            return std::process::ExitCode::from(1);
        }
    };
    if !config.listen.ip().is_loopback() {
        eprintln!("skiff-proxy: warning: listening on {}, not loopback: other machines can use this proxy", config.listen);
    }
    println!(
        "skiff-proxy listening on http://{}/ ({} upstream host rules)",
        config.listen,
        config.upstream_hosts.len()
    );
    tokio::select! {
        result = serve(listener, config) => match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("skiff-proxy: {error}");
                std::process::ExitCode::from(1)
            }
        },
        _ = tokio::signal::ctrl_c() => std::process::ExitCode::SUCCESS,
    }
}
