//! What the tests against a real Distribution registry share: the registry (Debian's
//! `docker-registry`, started per test on a free loopback port with its own storage), the
//! proxy in front of it, and a client that follows no redirects.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skiff_proxy::{Config, HostRule, OriginRule};

pub const PAGE_ORIGIN: &str = "http://127.0.0.1:9";

pub struct Registry {
    child: Child,
    dir: PathBuf,
    pub addr: SocketAddr,
}

impl Registry {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let dir =
            std::env::temp_dir().join(format!("skiff-proxy-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed: run scripts/setup.sh (Debian package docker-registry)");
        let registry = Self { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = reqwest::get(format!("http://{addr}/v2/")).await {
                if response.status() == 200 {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not start on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        registry
    }

    /// Pushes `data` as a blob of `repo` with the registry's upload API; returns its digest.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let client = reqwest::Client::new();
        let digest = skiff_core::Digest::of(data).to_string();
        let started = client
            .post(format!("http://{}/v2/{repo}/blobs/uploads/", self.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 202);
        let location = started.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with('/') {
            format!("http://{}{location}", self.addr)
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let finished = client
            .put(format!("{location}{separator}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(finished.status(), 201, "{}", finished.text().await.unwrap());
        digest
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn start_proxy(registry: &Registry) -> String {
    start_proxy_with(registry, |_| {}).await
}

/// The proxy allowing `registry` and pages from [`PAGE_ORIGIN`], adjusted by `adjust`.
pub async fn start_proxy_with(registry: &Registry, adjust: impl FnOnce(&mut Config)) -> String {
    let mut config = Config::default();
    config
        .upstream_hosts
        .push(HostRule::new(&registry.addr.to_string()));
    config.origins = vec![OriginRule::parse(PAGE_ORIGIN)];
    adjust(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(skiff_proxy::serve(listener, config));
    format!("http://{addr}/")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
