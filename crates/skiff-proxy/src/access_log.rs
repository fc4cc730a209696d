//! One JSON line per request on stdout, for a deployment's log collector. What it may hold is
//! decided here: the upstream's host and path, never its query (signed URLs and token requests
//! carry secrets there), never a header, never where a redirect led beyond its host.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Off,
}

impl FromStr for LogFormat {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        match text {
            "json" => Ok(Self::Json),
            "off" => Ok(Self::Off),
            _ => Err(()),
        }
    }
}

/// What one request did.
pub struct Entry<'a> {
    pub method: &'a str,
    /// The upstream URL of a proxied request, `None` for the app's files and the proxy's own.
    pub upstream: Option<&'a url::Url>,
    /// The app's path, for a request that was not proxied.
    pub local_path: Option<&'a str>,
    pub status: u16,
    /// `x-skiff-proxy-error`, when the proxy refused.
    pub refusal: Option<&'a str>,
    pub redirected_to: Option<&'a str>,
    pub elapsed: Duration,
}

impl Entry<'_> {
    pub fn line(&self) -> String {
        let mut fields = serde_json::Map::new();
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        fields.insert("time".into(), seconds.into());
        fields.insert("method".into(), self.method.into());
        if let Some(url) = self.upstream {
            let host = url.host_str().unwrap_or_default();
            let upstream = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            };
            fields.insert("upstream".into(), upstream.into());
            fields.insert("path".into(), url.path().into());
        }
        if let Some(path) = self.local_path {
            fields.insert(
                "app".into(),
                path.split('?').next().unwrap_or_default().into(),
            );
        }
        fields.insert("status".into(), self.status.into());
        fields.insert("ms".into(), (self.elapsed.as_millis() as u64).into());
        if let Some(kind) = self.refusal {
            fields.insert("refused".into(), kind.into());
        }
        if let Some(host) = self.redirected_to {
            fields.insert("redirected_to".into(), host.into());
        }
        serde_json::Value::Object(fields).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_no_query_and_no_secret() {
        let url: url::Url =
            "https://auth.example/token?scope=repository:a:pull&account=alice&X-Amz-Signature=abc"
                .parse()
                .unwrap();
        let line = Entry {
            method: "GET",
            upstream: Some(&url),
            local_path: None,
            status: 200,
            refusal: None,
            redirected_to: Some("cdn.example"),
            elapsed: Duration::from_millis(12),
        }
        .line();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["upstream"], "auth.example");
        assert_eq!(value["path"], "/token");
        assert_eq!(value["status"], 200);
        assert_eq!(value["ms"], 12);
        assert_eq!(value["redirected_to"], "cdn.example");
        for secret in ["alice", "abc", "scope"] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
    }
}
