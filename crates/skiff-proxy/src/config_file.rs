//! `--config FILE`: the same options as the flags, one per line, so a deployment keeps its
//! allowlists in a file. `allow-host = ghcr.io` is `--allow-host ghcr.io`; a flag without a
//! value stands alone (`no-default-hosts`); `#` starts a comment.

use crate::ConfigError;

/// The arguments with every `--config FILE` replaced by the options the file holds.
pub fn expand<I: IntoIterator<Item = String>>(args: I) -> Result<Vec<String>, ConfigError> {
    let mut expanded = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let file = match arg.strip_prefix("--config") {
            Some("") => args.next().ok_or(ConfigError::MissingValue {
                flag: "--config".to_owned(),
            })?,
            Some(rest) if rest.starts_with('=') => rest[1..].to_owned(),
            _ => {
                expanded.push(arg);
                continue;
            }
        };
        let text = std::fs::read_to_string(&file).map_err(|e| ConfigError::BadConfigFile {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        expanded.extend(parse(&text).map_err(|reason| ConfigError::BadConfigFile {
            file: file.clone(),
            reason,
        })?);
    }
    Ok(expanded)
}

/// A file's lines as arguments; `Err` names the first line that is not an option.
fn parse(text: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (line, None),
        };
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && name != "config";
        if !valid {
            return Err(format!(
                "line {}: {line:?} is not `option = value`",
                number + 1
            ));
        }
        args.push(format!("--{name}"));
        args.extend(value.map(|v| v.trim_matches('"').to_owned()));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_and_comments() {
        let text = "# Skiff for the team\nlisten = 0.0.0.0:8787\nallow-host = \"registry.corp\"  # ours\n\nno-default-hosts\n";
        assert_eq!(
            parse(text).unwrap(),
            [
                "--listen",
                "0.0.0.0:8787",
                "--allow-host",
                "registry.corp",
                "--no-default-hosts"
            ]
        );
        for bad in ["Listen = x", "--listen = x", "config = other.conf", "= x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let error =
            expand(["--config".to_owned(), "/nonexistent/skiff.conf".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/skiff.conf"));
    }
}
