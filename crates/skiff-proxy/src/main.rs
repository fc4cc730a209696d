use skiff_proxy::{serve_until, Config};

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
    match &config.app_dir {
        Some(dir) => eprintln!(
            "skiff-proxy listening on http://{}/, serving the app from {} ({} upstream host rules)",
            config.listen,
            dir.display(),
            config.upstream_hosts.len()
        ),
        None => eprintln!(
            "skiff-proxy listening on http://{}/ ({} upstream host rules)",
            config.listen,
            config.upstream_hosts.len()
        ),
    }
    match serve_until(listener, config, stop_signal()).await {
        Ok(()) => {
            eprintln!("skiff-proxy: stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("skiff-proxy: {error}");
            std::process::ExitCode::from(1)
        }
    }
}

/// SIGTERM (an orchestrator stopping the container) or Ctrl-C.
async fn stop_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    eprintln!("skiff-proxy: stopping: no new connections; requests in flight may finish");
}
