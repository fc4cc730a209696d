//! Foreign layers (Docker's "foreign", OCI's "non-distributable": Windows base layers, say) are
//! meant to be fetched from the URLs in their descriptor. An archive holds their bytes, and the
//! registry on the far side of an air gap neither reaches those URLs nor, as Distribution does
//! by default, accepts a manifest that names them. So a pushed archive's foreign layers are
//! uploaded and made ordinary layers: same digest and size, the ordinary media type of the same
//! compression, no `urls`. Everything else in the manifest stays as written.

use crate::image::media_type::MediaType;
use crate::Error;

/// The manifest with its foreign layers made ordinary, and how many there were; `None` when it
/// has none (its exact bytes are pushed).
pub fn made_distributable(manifest: &[u8]) -> Result<Option<(Vec<u8>, usize)>, Error> {
    let malformed = |reason: String| Error::MalformedJson {
        what: "manifest",
        reason,
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| malformed(e.to_string()))?;
    let Some(layers) = value.get_mut("layers").and_then(|l| l.as_array_mut()) else {
        return Ok(None);
    };
    let mut changed = 0;
    for layer in layers.iter_mut().filter_map(|l| l.as_object_mut()) {
        let ordinary = layer
            .get("mediaType")
            .and_then(|m| m.as_str())
            .and_then(|m| m.parse::<MediaType>().ok())
            .and_then(|m| m.distributable());
        if let Some(ordinary) = ordinary {
            layer.insert("mediaType".to_owned(), ordinary.as_str().into());
            layer.remove("urls");
            changed += 1;
        }
    }
    if changed == 0 {
        return Ok(None);
    }
    let bytes = serde_json::to_vec(&value).map_err(|e| malformed(e.to_string()))?;
    Ok(Some((bytes, changed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(layer_type: &str, urls: bool) -> String {
        let urls = if urls {
            r#","urls":["https://mcr.example/layer"]"#
        } else {
            ""
        };
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{c}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{a}","size":3}},{{"mediaType":"{layer_type}","digest":"sha256:{b}","size":4{urls},"annotations":{{"k":"v"}}}}]}}"#,
            a = "a".repeat(64),
            b = "b".repeat(64),
            c = "c".repeat(64),
        )
    }

    #[test]
    fn foreign_layers_become_ordinary_ones_of_the_same_compression() {
        let table = [
            (
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                "application/vnd.oci.image.layer.v1.tar",
            ),
        ];
        for (foreign, ordinary) in table {
            let (bytes, count) = made_distributable(manifest(foreign, true).as_bytes())
                .unwrap()
                .expect("rewritten");
            assert_eq!(count, 1);
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let layer = &value["layers"][1];
            assert_eq!(layer["mediaType"], ordinary);
            assert_eq!(layer.get("urls"), None);
            assert_eq!(layer["digest"], format!("sha256:{}", "b".repeat(64)));
            assert_eq!(layer["size"], 4);
            assert_eq!(layer["annotations"]["k"], "v");
            assert_eq!(
                value["layers"][0]["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+gzip"
            );
        }
    }

    #[test]
    fn a_manifest_without_foreign_layers_is_left_alone() {
        let plain = manifest("application/vnd.oci.image.layer.v1.tar+gzip", false);
        assert_eq!(made_distributable(plain.as_bytes()).unwrap(), None);
        assert!(made_distributable(b"{not json").is_err());
    }
}
