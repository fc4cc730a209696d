//! Which platforms of an index a copy takes. All of them (like `skopeo copy --all`) keeps the
//! index's exact bytes, so its digest; a choice writes a new index with only the chosen
//! entries (and the attestations that describe them), every other field left as it was.

use crate::image::manifest::{Descriptor, ImageIndex};
use crate::image::platform::is_runnable_entry;
use crate::{Digest, Platform};

/// The index a copy writes and the manifests it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenIndex {
    /// The index's bytes as the target gets them.
    pub bytes: Vec<u8>,
    /// Its entries that the copy takes, in the index's order.
    pub entries: Vec<Descriptor>,
    /// Whether these are the source's own bytes (the digest stays the same).
    pub unchanged: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChooseError {
    #[error("none of the chosen platforms ({wanted}) is in the index; it offers {offered}")]
    NoneOffered { wanted: String, offered: String },
    #[error("the index could not be rewritten: {reason}")]
    Rewrite { reason: String },
}

/// The entries of `index` (whose bytes are `body`) for the `wanted` platforms; none wanted
/// means all of them.
pub fn choose_platforms(
    body: &[u8],
    index: &ImageIndex,
    wanted: &[Platform],
) -> Result<ChosenIndex, ChooseError> {
    let chosen_image = |d: &Descriptor| {
        is_runnable_entry(d)
            && d.platform
                .as_ref()
                .is_some_and(|spec| wanted.iter().any(|w| w.matches(spec)))
    };
    let images: Vec<&Digest> = index
        .manifests
        .iter()
        .filter(|d| chosen_image(d))
        .map(|d| &d.digest)
        .collect();
    let keep = |d: &Descriptor| {
        wanted.is_empty()
            || chosen_image(d)
            || attested(d).is_some_and(|subject| images.iter().any(|i| i.to_string() == subject))
    };
    let entries: Vec<Descriptor> = index
        .manifests
        .iter()
        .filter(|d| keep(d))
        .cloned()
        .collect();
    if !wanted.is_empty() && images.is_empty() {
        let join = |list: Vec<String>| list.join(", ");
        return Err(ChooseError::NoneOffered {
            wanted: join(wanted.iter().map(ToString::to_string).collect()),
            offered: join(
                crate::image::platform::offered(index)
                    .into_iter()
                    .map(|(label, _)| label)
                    .collect(),
            ),
        });
    }
    if entries.len() == index.manifests.len() {
        return Ok(ChosenIndex {
            bytes: body.to_vec(),
            entries,
            unchanged: true,
        });
    }
    let rewrite = |e: serde_json::Error| ChooseError::Rewrite {
        reason: e.to_string(),
    };
    let mut document: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(rewrite)?;
    let kept: Vec<serde_json::Value> = document
        .get("manifests")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .filter(|entry| {
            entry
                .get("digest")
                .and_then(|d| d.as_str())
                .is_some_and(|d| entries.iter().any(|e| e.digest.to_string() == d))
        })
        .cloned()
        .collect();
    document.insert("manifests".to_owned(), serde_json::Value::Array(kept));
    Ok(ChosenIndex {
        bytes: serde_json::to_vec_pretty(&document).map_err(rewrite)?,
        entries,
        unchanged: false,
    })
}

/// The manifest digest an attestation entry describes (BuildKit's annotation).
fn attested(descriptor: &Descriptor) -> Option<&str> {
    let annotations = descriptor.annotations.as_ref()?;
    (annotations.get("vnd.docker.reference.type")? == "attestation-manifest")
        .then(|| annotations.get("vnd.docker.reference.digest"))
        .flatten()
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::manifest::Manifest;

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    /// amd64 (a), arm64 (b), an attestation of amd64 (c), and a field Skiff does not know.
    fn index_body() -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
              {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{a}","size":10,"platform":{{"architecture":"amd64","os":"linux"}}}},
              {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{b}","size":11,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
              {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{c}","size":12,"platform":{{"architecture":"unknown","os":"unknown"}},
                "annotations":{{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"{a}"}}}}],
              "annotations":{{"org.opencontainers.image.source":"https://example.com"}}}}"#,
            a = digest('a'),
            b = digest('b'),
            c = digest('c')
        )
    }

    fn index(body: &str) -> ImageIndex {
        match Manifest::parse(None, body.as_bytes()).unwrap().0 {
            Manifest::Index(index) => index,
            Manifest::Image(_) => panic!("an index"),
        }
    }

    fn platforms(list: &[&str]) -> Vec<Platform> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn cases() {
        let body = index_body();
        let index = index(&body);
        // (wanted, entries kept, bytes unchanged)
        let table: &[(&[&str], &[char], bool)] = &[
            (&[], &['a', 'b', 'c'], true),
            (&["linux/amd64", "linux/arm64"], &['a', 'b', 'c'], true),
            (&["linux/amd64"], &['a', 'c'], false),
            (&["linux/arm64/v8"], &['b'], false),
            (&["linux/aarch64"], &['b'], false),
        ];
        for (wanted, kept, unchanged) in table {
            let chosen = choose_platforms(body.as_bytes(), &index, &platforms(wanted)).unwrap();
            let digests: Vec<String> = chosen
                .entries
                .iter()
                .map(|e| e.digest.to_string())
                .collect();
            let expected: Vec<String> = kept.iter().map(|c| digest(*c)).collect();
            assert_eq!(digests, expected, "{wanted:?}");
            assert_eq!(chosen.unchanged, *unchanged, "{wanted:?}");
            if *unchanged {
                assert_eq!(chosen.bytes, body.as_bytes());
            } else {
                // The new index lists exactly the kept entries and keeps the other fields.
                let rewritten = self::index(std::str::from_utf8(&chosen.bytes).unwrap());
                assert_eq!(rewritten.manifests, chosen.entries, "{wanted:?}");
                let value: serde_json::Value = serde_json::from_slice(&chosen.bytes).unwrap();
                assert_eq!(
                    value["annotations"]["org.opencontainers.image.source"],
                    "https://example.com"
                );
                assert_eq!(
                    value["mediaType"],
                    "application/vnd.oci.image.index.v1+json"
                );
            }
        }
    }

    #[test]
    fn a_platform_the_index_lacks_is_named_with_what_it_offers() {
        let body = index_body();
        let error = choose_platforms(body.as_bytes(), &index(&body), &platforms(&["linux/s390x"]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "none of the chosen platforms (linux/s390x) is in the index; it offers linux/amd64, linux/arm64/v8"
        );
    }
}
