//! The page's address as the view's state: `#/JOB?image=…&platform=…&view=…&object=sha256:…`
//! (`#/?…` for a pull, `#/push?…` for push and copy).
//! A shared link reproduces the view; opening an object or a tab adds a history entry, so
//! back and forward move between them.

use skiff_core::Digest;

use crate::state::explorer::View;
use crate::state::job::Job;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewLink {
    pub job: Job,
    /// One or more images (several go into one archive).
    pub images: Vec<String>,
    pub platform: Option<String>,
    pub view: Option<View>,
    pub object: Option<Digest>,
}

impl ViewLink {
    /// From a location hash (`#/JOB?…`, `#/?…` or `#?…`); an unknown job is a pull; unknown
    /// or malformed parts are dropped.
    pub fn parse(hash: &str) -> Self {
        let mut link = Self::default();
        let Some(rest) = hash.strip_prefix('#') else {
            return link;
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        link.job = Job::from_path(path).unwrap_or_default();
        for (key, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
            let value = decode(value);
            if value.trim().is_empty() {
                continue;
            }
            match key {
                "image" => link.images.push(value),
                "platform" => link.platform = Some(value),
                "view" => link.view = View::parse(&value),
                "object" => link.object = value.parse().ok(),
                _ => {}
            }
        }
        link
    }

    pub fn to_hash(&self) -> String {
        let mut pairs: Vec<String> = self
            .images
            .iter()
            .map(|image| format!("image={}", encode(image)))
            .collect();
        if let Some(platform) = &self.platform {
            pairs.push(format!("platform={}", encode(platform)));
        }
        if let Some(view) = self.view {
            pairs.push(format!("view={}", view.as_str()));
        }
        if let Some(object) = &self.object {
            pairs.push(format!("object={object}"));
        }
        format!("#/{}?{}", self.job.path(), pairs.join("&"))
    }

    /// The page's current link.
    pub fn current() -> Self {
        web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .map(|hash| Self::parse(&hash))
            .unwrap_or_default()
    }

    /// Makes this the page's address: a new history entry (`push`) or in place.
    pub fn show(&self, push: bool) {
        let hash = self.to_hash();
        let Some(history) = web_sys::window().and_then(|w| w.history().ok()) else {
            return;
        };
        if Self::current() == *self {
            return;
        }
        let null = wasm_bindgen::JsValue::NULL;
        let _ = if push {
            history.push_state_with_url(&null, "", Some(&hash))
        } else {
            history.replace_state_with_url(&null, "", Some(&hash))
        };
    }
}

/// Percent-encodes all but unreserved characters (a reference's `:`, `/`, `@` included), so
/// the link survives any mail client.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Percent-decoding; `+` is a space, as forms write it. A `%` not followed by two hex
/// digits stays as it is.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', high, low]) => hex(*high).zip(hex(*low)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_part() {
        let link = ViewLink {
            job: Job::Transfer,
            images: vec!["ghcr.io/org/app:1.0@sha256:abc".into(), "nginx".into()],
            platform: Some("linux/arm64/v8".into()),
            view: Some(View::Objects),
            object: Some(Digest::of(b"x")),
        };
        let hash = link.to_hash();
        assert!(hash.contains("image=ghcr.io%2Forg%2Fapp%3A1.0%40sha256%3Aabc"));
        assert_eq!(ViewLink::parse(&hash), link);
    }

    #[test]
    fn reads_older_and_hand_written_links() {
        let table = [
            ("", ViewLink::default()),
            (
                "#/?image=alpine%3A3.19",
                ViewLink {
                    images: vec!["alpine:3.19".into()],
                    ..Default::default()
                },
            ),
            (
                "#?image=a+b&view=requests",
                ViewLink {
                    images: vec!["a b".into()],
                    view: Some(View::Requests),
                    ..Default::default()
                },
            ),
            (
                "#/?view=bogus&object=sha256:nothex&image=",
                ViewLink::default(),
            ),
            (
                "#/push",
                ViewLink {
                    job: Job::Transfer,
                    ..Default::default()
                },
            ),
            (
                "#/push?image=alpine",
                ViewLink {
                    job: Job::Transfer,
                    images: vec!["alpine".into()],
                    ..Default::default()
                },
            ),
            ("#/nowhere?image=", ViewLink::default()),
            (
                "#/?image=%zz",
                ViewLink {
                    images: vec!["%zz".into()],
                    ..Default::default()
                },
            ),
            (
                "#/?image=50%",
                ViewLink {
                    images: vec!["50%".into()],
                    ..Default::default()
                },
            ),
        ];
        for (hash, expected) in table {
            assert_eq!(ViewLink::parse(hash), expected, "{hash}");
        }
    }
}
