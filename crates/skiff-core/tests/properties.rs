#![cfg(not(target_arch = "wasm32"))]
//! Property tests (proptest): the parsers that read what a registry or a user sends never panic,
//! refuse with a typed error, and read back what they are given; the tar writer's output reads
//! back with the `tar` crate for any names and sizes.

use std::collections::BTreeMap;
use std::io::Read;

use proptest::prelude::*;

use skiff_core::archive::tar_parts::{Part, TarBuilder};
use skiff_core::image::manifest::{ImageConfig, Manifest};
use skiff_core::image::reference::PullInput;
use skiff_core::protocol::auth::Challenge;
use skiff_core::protocol::registry::next_page_url;
use skiff_core::protocol::resume::ContentRange;
use skiff_core::{Digest, Reference};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_reference_or_a_typed_refusal(text in "\\PC{0,120}") {
        let _ = text.parse::<Reference>();
        let _ = text.parse::<PullInput>();
    }

    #[test]
    fn references_read_back_what_they_print(
        registry in prop::option::of("[a-z]([a-z0-9-]{0,8}[a-z0-9])?\\.[a-z]{2,6}(:[1-9][0-9]{0,3})?"),
        path in "[a-z0-9]{1,8}([._-][a-z0-9]{1,5})?(/[a-z0-9]{1,8}){0,3}",
        tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}",
    ) {
        let text = format!("{}{path}:{tag}", registry.map(|r| r + "/").unwrap_or_default());
        let parsed: Reference = text.parse().expect("a valid reference");
        prop_assert_eq!(parsed.tag(), Some(tag.as_str()));
        let again: Reference = parsed.to_string().parse().expect("what it prints parses");
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn any_www_authenticate_is_a_challenge_or_a_typed_refusal(header in "\\PC{0,200}") {
        let _ = Challenge::parse(&header);
    }

    #[test]
    fn bearer_challenges_read_back(
        realm in "https://[a-z]{1,12}\\.example/[a-z]{1,8}",
        service in "[a-z][a-z.-]{0,20}",
        scope in "repository:[a-z0-9]{1,8}(/[a-z0-9]{1,8})?:(pull|push,pull)",
    ) {
        let header = format!(r#"Bearer realm="{realm}",service="{service}",scope="{scope}""#);
        match Challenge::parse(&header) {
            Ok(Challenge::Bearer { realm: r, service: s, scope: c, error: None }) => {
                prop_assert_eq!(r, realm);
                prop_assert_eq!(s, Some(service));
                prop_assert_eq!(c, Some(scope));
            }
            other => prop_assert!(false, "{header} gave {other:?}"),
        }
    }

    #[test]
    fn a_link_is_followed_only_on_the_same_origin(link in "\\PC{0,160}") {
        let current = "https://r.example/v2/app/tags/list?n=100";
        if let Some(next) = next_page_url(current, &link) {
            prop_assert!(next.starts_with("https://r.example/"), "{link} led to {next}");
        }
    }

    #[test]
    fn well_formed_links_are_followed(last in "[a-z0-9._-]{1,30}") {
        let link = format!("</v2/app/tags/list?n=100&last={last}>; rel=\"next\"");
        prop_assert_eq!(
            next_page_url("https://r.example/v2/app/tags/list?n=100", &link),
            Some(format!("https://r.example/v2/app/tags/list?n=100&last={last}"))
        );
    }

    #[test]
    fn any_content_range_is_read_or_refused(value in "\\PC{0,60}") {
        let _ = ContentRange::parse(&value);
    }

    #[test]
    fn content_ranges_read_back(first in 0u64..1 << 40, length in 1u64..1 << 20, extra in 0u64..1 << 20) {
        let last = first + length - 1;
        let total = last + 1 + extra;
        let parsed = ContentRange::parse(&format!("bytes {first}-{last}/{total}"));
        prop_assert_eq!(
            parsed,
            Ok(ContentRange::Bytes { first, last, complete_length: Some(total) })
        );
        let reversed = format!("bytes {last}-{first}/{total}");
        prop_assert_eq!(ContentRange::parse(&reversed).is_ok(), first == last);
    }

    #[test]
    fn any_document_is_a_manifest_or_a_typed_refusal(
        content_type in prop::option::of("\\PC{0,60}"),
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let _ = Manifest::parse(content_type.as_deref(), &body);
        let _ = ImageConfig::parse(&body);
    }

    #[test]
    fn manifests_read_back_their_layers(sizes in prop::collection::vec(0u64..1 << 40, 0..12)) {
        let layers: Vec<_> = sizes.iter().enumerate().map(|(i, size)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": Digest::of(&i.to_le_bytes()).to_string(),
            "size": size,
        })).collect();
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::of(b"c").to_string(), "size": 2},
            "layers": layers,
        }).to_string();
        match Manifest::parse(None, body.as_bytes()) {
            Ok((Manifest::Image(image), _)) => {
                prop_assert_eq!(image.layers.iter().map(|l| l.size).collect::<Vec<_>>(), sizes);
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn archive_parts_read_back_with_the_tar_crate(
        files in prop::collection::btree_map("[a-zA-Z0-9._-]{1,40}(/[a-zA-Z0-9._-]{1,40}){0,2}", prop::collection::vec(any::<u8>(), 0..2000), 0..8),
        blobs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..3000), 0..4),
    ) {
        let mut builder = TarBuilder::new(1_700_000_000);
        let mut expected = BTreeMap::new();
        for (name, data) in &files {
            let path = format!("files/{name}");
            match builder.append_data(&path, data) {
                Ok(()) => { expected.insert(path, data.clone()); }
                // A name ustar cannot hold, or one with `.`/`..` parts, is refused, typed.
                Err(_) => prop_assert!(
                    path.len() > 100 || path.split('/').any(|c| c == "." || c == ".."),
                    "{path} refused"
                ),
            }
        }
        let mut staged = BTreeMap::new();
        for blob in &blobs {
            let digest = Digest::of(blob);
            let path = format!("blobs/sha256/{}", digest.hex());
            if expected.contains_key(&path) { continue; }
            builder.append_blob(&path, &digest, blob.len() as u64).expect("a blob path fits");
            staged.insert(digest, blob.clone());
            expected.insert(path, blob.clone());
        }
        let mut tar_bytes = Vec::new();
        for part in builder.finish() {
            match part {
                Part::Bytes(bytes) => tar_bytes.extend(bytes),
                Part::Blob { digest, size } => {
                    let blob = &staged[&digest];
                    prop_assert_eq!(blob.len() as u64, size);
                    tar_bytes.extend(blob);
                }
            }
        }
        let mut read = BTreeMap::new();
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        for entry in archive.entries().expect("a tar") {
            let mut entry = entry.expect("an entry");
            let path = entry.path().expect("a path").to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("its data");
            read.insert(path, data);
        }
        prop_assert_eq!(read, expected);
    }
}

proptest! {
    #![proptest_config(config())]

    /// Four streams hashed in step give each stream's own SHA-256, whatever the pieces, their
    /// order across lanes and when each lane finishes.
    #[test]
    fn four_lane_sha256_is_sha256(
        pieces in proptest::collection::vec((0usize..4, proptest::collection::vec(any::<u8>(), 0..300)), 0..40),
        finish_order in Just([0usize, 1, 2, 3]).prop_shuffle(),
    ) {
        use sha2::{Digest as _, Sha256};
        use skiff_core::image::sha256x4::Sha256x4;
        let mut x4 = Sha256x4::new();
        let mut streams: [Vec<u8>; 4] = Default::default();
        for (lane, bytes) in &pieces {
            x4.update(*lane, bytes);
            streams[*lane].extend_from_slice(bytes);
        }
        for lane in finish_order {
            let expected: [u8; 32] = Sha256::digest(&streams[lane]).into();
            prop_assert_eq!(x4.finish(lane), expected);
        }
    }
}
