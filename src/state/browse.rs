//! Browsing a registry: its repositories (the catalog), a repository's tags, and the tag being
//! looked at (which the explorer shows).

use super::TagsView;

/// The browse job's state: a new registry is one assignment of [`BrowseView::for_registry`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BrowseView {
    /// What the registry field holds.
    pub registry_input: String,
    pub catalog: CatalogView,
    /// Typed into the filter above the repositories.
    pub filter: String,
    /// The repository whose tags are listed (`registry/name`).
    pub repository: Option<String>,
    pub tags: TagsView,
    /// The reference being looked inside (`registry/name:tag`).
    pub tag: Option<String>,
}

/// What the catalog shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum CatalogView {
    #[default]
    Idle,
    Loading {
        registry: String,
    },
    Loaded {
        registry: String,
        repositories: Vec<String>,
        pages: usize,
        /// The registry had more pages than Skiff reads.
        truncated: bool,
    },
    /// The registry does not list its repositories to this user; a repository can still be
    /// named.
    Unavailable {
        registry: String,
        why: String,
    },
    Failed {
        message: String,
    },
}

impl CatalogView {
    /// The registry the catalog belongs to, once one was asked.
    pub fn registry(&self) -> Option<&str> {
        match self {
            Self::Loading { registry }
            | Self::Loaded { registry, .. }
            | Self::Unavailable { registry, .. } => Some(registry),
            Self::Idle | Self::Failed { .. } => None,
        }
    }
}

/// What the browse job's services and the user change.
pub enum BrowseAction {
    EditRegistry(String),
    Filter(String),
    Catalog(CatalogView),
    /// A repository picked: its tags are listed next.
    OpenRepository(String),
    Tags(TagsView),
    /// A tag picked: the explorer looks inside it.
    OpenTag(String),
}

impl BrowseView {
    pub fn reduce(&mut self, action: BrowseAction) {
        match action {
            BrowseAction::EditRegistry(text) => self.registry_input = text,
            BrowseAction::Filter(text) => self.filter = text,
            BrowseAction::Catalog(catalog) => {
                // Another registry: what was open belonged to the last one.
                if catalog.registry() != self.catalog.registry() {
                    *self = Self {
                        registry_input: std::mem::take(&mut self.registry_input),
                        catalog,
                        ..Self::default()
                    };
                } else {
                    self.catalog = catalog;
                }
            }
            BrowseAction::OpenRepository(repository) => {
                self.repository = Some(repository);
                self.tags = TagsView::Hidden;
                self.tag = None;
            }
            BrowseAction::Tags(tags) => self.tags = tags,
            BrowseAction::OpenTag(reference) => self.tag = Some(reference),
        }
    }

    /// The repositories the filter lets through, in the registry's order.
    pub fn shown_repositories(&self) -> Vec<&str> {
        let CatalogView::Loaded { repositories, .. } = &self.catalog else {
            return Vec::new();
        };
        let filter = self.filter.trim().to_ascii_lowercase();
        repositories
            .iter()
            .map(String::as_str)
            .filter(|name| filter.is_empty() || name.to_ascii_lowercase().contains(&filter))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(registry: &str, repositories: &[&str]) -> CatalogView {
        CatalogView::Loaded {
            registry: registry.into(),
            repositories: repositories.iter().map(|r| (*r).to_owned()).collect(),
            pages: 1,
            truncated: false,
        }
    }

    #[test]
    fn another_registry_forgets_what_was_open() {
        let mut view = BrowseView::default();
        view.reduce(BrowseAction::EditRegistry("a.io".into()));
        view.reduce(BrowseAction::Catalog(loaded("a.io", &["x"])));
        view.reduce(BrowseAction::OpenRepository("a.io/x".into()));
        view.reduce(BrowseAction::OpenTag("a.io/x:1".into()));
        view.reduce(BrowseAction::Catalog(loaded("a.io", &["x", "y"])));
        assert_eq!(view.tag.as_deref(), Some("a.io/x:1"));
        view.reduce(BrowseAction::Catalog(CatalogView::Loading {
            registry: "b.io".into(),
        }));
        assert_eq!(view.repository, None);
        assert_eq!(view.tag, None);
        assert_eq!(view.registry_input, "a.io");
    }

    #[test]
    fn the_filter_matches_any_part_of_a_name_in_any_case() {
        let mut view = BrowseView {
            catalog: loaded("r", &["team/App", "team/db", "tools/app-cli"]),
            ..BrowseView::default()
        };
        view.reduce(BrowseAction::Filter(" APP ".into()));
        assert_eq!(view.shown_repositories(), ["team/App", "tools/app-cli"]);
        view.reduce(BrowseAction::Filter(String::new()));
        assert_eq!(view.shown_repositories().len(), 3);
    }
}
