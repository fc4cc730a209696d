//! The Content-Security-Policy of the app's page, however it is served (`skiff-proxy
//! --serve-app`, the tests' server): scripts only from the app's own origin and the page's own
//! inline scripts (Trunk's loader, the theme script) by their hashes, WebAssembly allowed, no
//! plugins, and no framing by any site. The hashes are computed from the page as served, since
//! Trunk's loader names hashed file names that change with every build.

use sha2::{Digest as _, Sha256};

/// The policy for `page` (the app's `index.html`).
pub fn app_page_policy(page: &str) -> String {
    let hashes: String = inline_scripts(page)
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                " 'sha256-{}'",
                crate::protocol::auth::base64(digest.as_slice())
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         connect-src 'self' http: https: blob:; worker-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The text of each `<script>` without a `src`, exactly as the browser hashes it.
fn inline_scripts(page: &str) -> impl Iterator<Item = &str> {
    let mut rest = page;
    std::iter::from_fn(move || loop {
        let open = rest.find("<script")?;
        let after_open = &rest[open..];
        let tag_end = after_open.find('>')?;
        let tag = &after_open[..tag_end];
        let body_start = &after_open[tag_end + 1..];
        let close = body_start.find("</script>")?;
        let body = &body_start[..close];
        rest = &body_start[close + "</script>".len()..];
        if !tag.contains(" src=") {
            return Some(body);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_each_inline_script_and_forbids_framing() {
        let page = r#"<html><head><script type="module">import init from '/a.js';</script>
<script src="/b.js"></script><script>
  theme();
</script></head></html>"#;
        let policy = app_page_policy(page);
        let hash = |text: &str| {
            format!(
                "'sha256-{}'",
                crate::protocol::auth::base64(Sha256::digest(text.as_bytes()).as_slice())
            )
        };
        assert!(
            policy.contains(&hash("import init from '/a.js';")),
            "{policy}"
        );
        assert!(policy.contains(&hash("\n  theme();\n")), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(policy.ends_with("frame-ancestors 'none'"));
        // A known vector: the empty script.
        assert!(app_page_policy("<script></script>")
            .contains("'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"));
    }
}
