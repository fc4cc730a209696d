//! The images a whole application names, found in what its people already have: a compose
//! file, Kubernetes manifests (one or many YAML documents, `helm template` output included), or
//! a plain list of references. Each image comes with where it was found; a reference that cannot
//! be read is named with its line, and the rest are still offered.

use serde_yaml::Value;

use crate::Reference;

/// One image of the bundle, and every place that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundImage {
    pub reference: Reference,
    /// As written (`nginx:1.27`), for the user to recognise.
    pub written: String,
    /// `service web`, `Deployment shop/api, container api`, `line 3`, …
    pub sources: Vec<String>,
}

/// A reference the text names that Skiff cannot pull as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// 1-based, when the text shows where.
    pub line: Option<usize>,
    pub written: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundle {
    /// What the text was read as.
    pub format: Format,
    pub images: Vec<FoundImage>,
    pub unreadable: Vec<Unreadable>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    List,
    Compose,
    Kubernetes,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Self::List => "a list of references",
            Self::Compose => "a compose file",
            Self::Kubernetes => "Kubernetes manifests",
        }
    }
}

/// The images `text` names. YAML with `services` is a compose file; YAML documents with a
/// `kind` are Kubernetes manifests; anything else is a list, one reference a line, `#` starting
/// a comment.
pub fn find_images(text: &str) -> Bundle {
    let mut bundle = Bundle::default();
    let documents = yaml_documents(text);
    let compose = documents
        .iter()
        .any(|d| d.get("services").is_some_and(Value::is_mapping));
    let kubernetes = documents
        .iter()
        .any(|d| d.get("kind").is_some_and(Value::is_string));
    if compose {
        bundle.format = Format::Compose;
        for document in &documents {
            let Some(services) = document.get("services").and_then(Value::as_mapping) else {
                continue;
            };
            for (name, service) in services {
                let name = name.as_str().unwrap_or("?");
                if let Some(image) = service.get("image").and_then(Value::as_str) {
                    bundle.add(text, image, format!("service {name}"));
                }
            }
        }
    } else if kubernetes {
        bundle.format = Format::Kubernetes;
        for document in &documents {
            kubernetes_images(document, text, &mut bundle);
        }
    } else {
        for (number, line) in text.lines().enumerate() {
            let written = line.split('#').next().unwrap_or_default().trim();
            if !written.is_empty() {
                bundle.add_at(Some(number + 1), written, format!("line {}", number + 1));
            }
        }
    }
    bundle
}

/// Every document of a multi-document YAML text that parses; a text that is no YAML has none.
fn yaml_documents(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map_while(|document| Value::deserialize(document).ok())
        .filter(Value::is_mapping)
        .collect()
}

const WORKLOADS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

fn kubernetes_images(document: &Value, text: &str, bundle: &mut Bundle) {
    let kind = document.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "List" {
        for item in document
            .get("items")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            kubernetes_images(item, text, bundle);
        }
        return;
    }
    if !WORKLOADS.contains(&kind) {
        return;
    }
    let metadata = document.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    let shown = match metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
    {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    };
    let spec = document.get("spec");
    let pod = match kind {
        "Pod" => spec,
        "CronJob" => spec
            .and_then(|s| s.get("jobTemplate"))
            .and_then(|j| j.get("spec"))
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec")),
        _ => spec
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec")),
    };
    let Some(pod) = pod else { return };
    for (list, what) in [
        ("initContainers", "init container"),
        ("containers", "container"),
        ("ephemeralContainers", "ephemeral container"),
    ] {
        for container in pod
            .get(list)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let container_name = container.get("name").and_then(Value::as_str).unwrap_or("?");
            if let Some(image) = container.get("image").and_then(Value::as_str) {
                bundle.add(text, image, format!("{shown}, {what} {container_name}"));
            }
        }
    }
}

impl Bundle {
    /// An `image:` value of a YAML text: its line is the first `image:` line that names it.
    fn add(&mut self, text: &str, written: &str, source: String) {
        let line = text
            .lines()
            .position(|line| line.contains("image") && line.contains(written))
            .map(|index| index + 1);
        self.add_at(line, written, source);
    }

    fn add_at(&mut self, line: Option<usize>, written: &str, source: String) {
        let written = written.trim();
        let reference = match readable(written) {
            Ok(reference) => reference,
            Err(reason) => {
                return self.unreadable.push(Unreadable {
                    line,
                    written: written.to_owned(),
                    reason,
                })
            }
        };
        let source = match line {
            Some(line) if !source.starts_with("line ") => format!("{source} (line {line})"),
            _ => source,
        };
        match self.images.iter_mut().find(|i| i.reference == reference) {
            Some(found) => found.sources.push(source),
            None => self.images.push(FoundImage {
                reference,
                written: written.to_owned(),
                sources: vec![source],
            }),
        }
    }
}

fn readable(written: &str) -> Result<Reference, String> {
    if let Some(start) = written.find("${").or_else(|| written.find('$')) {
        let variable: String = written[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/' && *c != ':')
            .collect();
        return Err(format!(
            "it uses the variable {variable}: write the reference it stands for (compose and Helm fill it in where they run)"
        ));
    }
    if written.contains("{{") {
        return Err("it is a template: run `helm template` and paste its output".to_owned());
    }
    written.parse::<Reference>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(bundle: &Bundle) -> Vec<String> {
        bundle
            .images
            .iter()
            .map(|i| i.reference.to_string())
            .collect()
    }

    #[test]
    fn a_compose_file_names_its_services_images() {
        let text = "services:\n  web:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n  db:\n    image: postgres:16\n  worker:\n    build: .\n  cache:\n    image: ${REGISTRY}/redis:7\n  again:\n    image: nginx:1.27\n";
        let bundle = find_images(text);
        assert_eq!(bundle.format, Format::Compose);
        assert_eq!(
            names(&bundle),
            [
                "docker.io/library/nginx:1.27",
                "docker.io/library/postgres:16"
            ]
        );
        assert_eq!(
            bundle.images[0].sources,
            ["service web (line 3)", "service again (line 3)"]
        );
        assert_eq!(bundle.unreadable.len(), 1);
        assert_eq!(bundle.unreadable[0].line, Some(10));
        assert!(bundle.unreadable[0].reason.contains("${REGISTRY}"));
    }

    #[test]
    fn kubernetes_workloads_of_every_kind_and_their_init_containers() {
        let text = r#"# Source: chart/templates/api.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      initContainers: [{name: migrate, image: "ghcr.io/acme/migrate:2"}]
      containers: [{name: api, image: ghcr.io/acme/api:2}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {ports: [{port: 80}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: "busybox:1.36"}]
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: debug}
  spec:
    containers: [{name: shell, image: "Not A Reference"}]
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {name: db}
  spec: {template: {spec: {containers: [{name: db, image: "postgres@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]}}}
"#;
        let bundle = find_images(text);
        assert_eq!(bundle.format, Format::Kubernetes);
        assert_eq!(
            names(&bundle),
            [
                "ghcr.io/acme/migrate:2",
                "ghcr.io/acme/api:2",
                "docker.io/library/busybox:1.36",
                "docker.io/library/postgres@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ]
        );
        assert_eq!(
            bundle.images[0].sources,
            ["Deployment shop/api, init container migrate (line 8)"]
        );
        assert_eq!(bundle.unreadable.len(), 1);
        assert_eq!(bundle.unreadable[0].line, Some(34));
    }

    #[test]
    fn a_plain_list_with_comments_and_a_bad_line() {
        let text = "# the app\nnginx:1.27   # front\n\nghcr.io/acme/api:2\nhttp://nope\n{{ .Values.image }}\nnginx:1.27\n";
        let bundle = find_images(text);
        assert_eq!(bundle.format, Format::List);
        assert_eq!(
            names(&bundle),
            ["docker.io/library/nginx:1.27", "ghcr.io/acme/api:2"]
        );
        assert_eq!(bundle.images[0].sources, ["line 2", "line 7"]);
        let lines: Vec<_> = bundle.unreadable.iter().map(|u| u.line).collect();
        assert_eq!(lines, [Some(5), Some(6)]);
        assert!(bundle.unreadable[1].reason.contains("helm template"));
    }

    #[test]
    fn nothing_found_in_empty_or_unrelated_text() {
        assert_eq!(find_images("").images, []);
        assert_eq!(
            find_images("kind: ConfigMap\ndata: {a: b}\n").format,
            Format::Kubernetes
        );
        assert_eq!(find_images("kind: ConfigMap\ndata: {a: b}\n").images, []);
    }
}
