//! Where each image of a pushed archive goes: one image to the reference typed; several under
//! the typed registry and namespace, each with its own repository and tag.

use crate::image::reference::DOCKER_HUB;
use crate::{Error, Reference};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the archive holds {images} images, so the target names where they go, not one image: type a registry and namespace such as `localhost:5000/team` (each image keeps its own name and tag under it), not `{typed}`")]
    NeedsNamespace { typed: String, images: usize },
    #[error("image {position} of the archive's {images} was saved without a name, so it has no repository to go under `{typed}`; push it alone, to a reference of its own (or save it with a tag)")]
    Unnamed {
        typed: String,
        position: usize,
        images: usize,
    },
    #[error("the target `{typed}`: {source}")]
    Reference {
        typed: String,
        #[source]
        source: Error,
    },
}

/// The references to push to. `names`: each image's saved name, if it has one.
pub fn push_targets(typed: &str, names: &[Option<&str>]) -> Result<Vec<Reference>, TargetError> {
    let typed = typed.trim();
    let parse = |text: &str| {
        text.parse::<Reference>()
            .map_err(|source| TargetError::Reference {
                typed: typed.to_owned(),
                source,
            })
    };
    if names.len() == 1 {
        return Ok(vec![parse(typed)?]);
    }
    let prefix = typed.trim_end_matches('/');
    let last = prefix.rsplit('/').next().unwrap_or(prefix);
    let has_tag = prefix.contains('/') && last.contains(':');
    if prefix.is_empty() || prefix.contains('@') || has_tag {
        return Err(TargetError::NeedsNamespace {
            typed: typed.to_owned(),
            images: names.len(),
        });
    }
    names
        .iter()
        .enumerate()
        .map(|(position, name)| {
            let saved = name.ok_or_else(|| TargetError::Unnamed {
                typed: typed.to_owned(),
                position: position + 1,
                images: names.len(),
            })?;
            let saved = parse(saved)?;
            // `library/` is Docker Hub's own namespace for its official images: under another
            // namespace it means nothing (`busybox` goes to `<namespace>/busybox`).
            let repository = match saved.repository().strip_prefix("library/") {
                Some(short) if saved.registry() == DOCKER_HUB => short,
                _ => saved.repository(),
            };
            let tag = saved.tag().unwrap_or("latest");
            parse(&format!("{prefix}/{repository}:{tag}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_images_go() {
        let two = [
            Some("docker.io/library/busybox:1.36"),
            Some("ghcr.io/org/app:2"),
        ];
        // (typed, saved names, the targets or the error's kind)
        type Row<'a> = (
            &'a str,
            &'a [Option<&'a str>],
            Result<Vec<&'a str>, &'a str>,
        );
        let table: [Row; 8] = [
            (
                "localhost:5000/skiff/one:1",
                &[None],
                Ok(vec!["localhost:5000/skiff/one:1"]),
            ),
            (
                "localhost:5000/team",
                &two,
                Ok(vec![
                    "localhost:5000/team/busybox:1.36",
                    "localhost:5000/team/org/app:2",
                ]),
            ),
            (
                "localhost:5000",
                &[Some("busybox"), Some("localhost:5000/library/x:3")],
                Ok(vec![
                    "localhost:5000/busybox:latest",
                    "localhost:5000/library/x:3",
                ]),
            ),
            (
                "localhost:5000/team/",
                &two,
                Ok(vec![
                    "localhost:5000/team/busybox:1.36",
                    "localhost:5000/team/org/app:2",
                ]),
            ),
            ("localhost:5000/team/app:t", &two, Err("NeedsNamespace")),
            (
                "localhost:5000/team@sha256:abc",
                &two,
                Err("NeedsNamespace"),
            ),
            ("localhost:5000/team", &[Some("a:1"), None], Err("Unnamed")),
            ("", &[Some("a:1")], Err("Reference")),
        ];
        for (typed, names, expected) in table {
            let got = push_targets(typed, names);
            match (got, expected) {
                (Ok(got), Ok(expected)) => {
                    let got: Vec<String> = got.iter().map(Reference::to_string).collect();
                    assert_eq!(got, expected, "{typed}");
                }
                (Err(error), Err(kind)) => {
                    assert!(format!("{error:?}").starts_with(kind), "{typed}: {error:?}")
                }
                (got, expected) => panic!("{typed}: {got:?}, expected {expected:?}"),
            }
        }
        let message = push_targets("localhost:5000/team/app:t", &two)
            .unwrap_err()
            .to_string();
        assert!(message.contains("registry and namespace"), "{message}");
    }
}
