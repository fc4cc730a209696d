//! An image at a glance, from its config: how it runs (env, entrypoint, cmd, workdir, user,
//! ports, labels), when and for what platform it was built, and its history — each step's
//! `created_by`, with the layer it made (empty steps, like `ENV`, made none).

use serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageSummary {
    pub created: Option<String>,
    pub author: Option<String>,
    pub platform: String,
    pub env: Vec<(String, String)>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub exposed_ports: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub history: Vec<Step>,
}

/// One step of the build history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub created: Option<String>,
    pub created_by: String,
    pub comment: Option<String>,
    /// The layer (0-based, in the manifest's order) this step made; `None` for an empty step.
    pub layer: Option<usize>,
}

pub fn summarize(config: &Value) -> ImageSummary {
    let run = &config["config"];
    let text = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let strings = |value: &Value| {
        value.as_array().map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        })
    };
    let platform = [&config["os"], &config["architecture"], &config["variant"]]
        .iter()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join("/");
    let mut next_layer = 0;
    let history = config["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|step| {
            let empty = step["empty_layer"].as_bool().unwrap_or(false);
            let layer = (!empty).then(|| {
                next_layer += 1;
                next_layer - 1
            });
            Step {
                created: text(&step["created"]),
                created_by: step["created_by"].as_str().unwrap_or_default().to_owned(),
                comment: text(&step["comment"]),
                layer,
            }
        })
        .collect();
    let mut labels: Vec<(String, String)> = run["Labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    labels.sort();
    ImageSummary {
        created: text(&config["created"]),
        author: text(&config["author"]),
        platform,
        env: run["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .map(|v| match v.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (v.to_owned(), String::new()),
            })
            .collect(),
        entrypoint: strings(&run["Entrypoint"]),
        cmd: strings(&run["Cmd"]),
        workdir: text(&run["WorkingDir"]),
        user: text(&run["User"]),
        exposed_ports: run["ExposedPorts"]
            .as_object()
            .map(|ports| ports.keys().cloned().collect())
            .unwrap_or_default(),
        labels,
        history,
    }
}

/// A command as a shell would take it: `["sh", "-c", "echo hi"]` → `sh -c 'echo hi'`.
pub fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_docker_built_config() {
        let config = serde_json::json!({
            "created": "2024-05-01T10:00:00Z",
            "architecture": "arm64", "os": "linux", "variant": "v8",
            "config": {
                "Env": ["PATH=/usr/bin:/bin", "EMPTY", "A=b=c"],
                "Entrypoint": ["/docker-entrypoint.sh"],
                "Cmd": ["nginx", "-g", "daemon off;"],
                "WorkingDir": "/srv", "User": "",
                "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
                "Labels": {"z": "last", "a": "first"}
            },
            "history": [
                {"created": "2024-04-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
                {"created_by": "/bin/sh -c #(nop)  ENV PATH=/usr/bin:/bin", "empty_layer": true},
                {"created_by": "RUN apt-get install nginx", "comment": "buildkit.dockerfile.v0"},
                {"created_by": "CMD [\"nginx\"]", "empty_layer": true}
            ]
        });
        let summary = summarize(&config);
        assert_eq!(summary.platform, "linux/arm64/v8");
        assert_eq!(summary.created.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(
            summary.env,
            [
                ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
                ("EMPTY".to_owned(), String::new()),
                ("A".to_owned(), "b=c".to_owned())
            ]
        );
        assert_eq!(
            summary.user, None,
            "an empty user is root, shown as none set"
        );
        assert_eq!(summary.workdir.as_deref(), Some("/srv"));
        assert_eq!(summary.exposed_ports, ["443/tcp", "80/tcp"]);
        assert_eq!(summary.labels[0], ("a".to_owned(), "first".to_owned()));
        let layers: Vec<Option<usize>> = summary.history.iter().map(|s| s.layer).collect();
        assert_eq!(layers, [Some(0), None, Some(1), None]);
        assert_eq!(
            summary.history[2].comment.as_deref(),
            Some("buildkit.dockerfile.v0")
        );
        assert_eq!(
            shell_words(summary.cmd.as_deref().unwrap()),
            "nginx -g 'daemon off;'"
        );
    }

    #[test]
    fn a_bare_config() {
        let summary = summarize(&serde_json::json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []}}));
        assert_eq!(summary.platform, "linux/amd64");
        assert!(summary.history.is_empty() && summary.env.is_empty() && summary.cmd.is_none());
        assert_eq!(
            shell_words(&["it's".to_owned(), String::new()]),
            "'it'\\''s' ''"
        );
    }
}
