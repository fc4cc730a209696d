//! The page's jobs: each has its own view and address, reached from the navigation.

/// What the page is doing: pull an image (the start), a bundle of images, browse a registry,
/// or push and copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Job {
    #[default]
    Pull,
    /// The images of a compose file, Kubernetes manifests or a list, in one archive.
    Bundle,
    /// A registry's repositories, a repository's tags, a tag opened in the explorer.
    Browse,
    /// Push an archive, or copy between registries.
    Transfer,
}

impl Job {
    /// In the navigation's order.
    pub const ALL: [Job; 4] = [Job::Pull, Job::Bundle, Job::Browse, Job::Transfer];

    /// The address's path: `#/` for a pull (links from before the jobs keep working),
    /// `#/bundle`, `#/browse`, `#/push`.
    pub fn path(self) -> &'static str {
        match self {
            Job::Pull => "",
            Job::Bundle => "bundle",
            Job::Browse => "browse",
            Job::Transfer => "push",
        }
    }

    /// A path from an address; an unknown one is `None` (the page shows a pull).
    pub fn from_path(path: &str) -> Option<Job> {
        Self::ALL.into_iter().find(|job| job.path() == path)
    }

    /// The navigation's words.
    pub fn label(self) -> &'static str {
        match self {
            Job::Pull => "Pull",
            Job::Bundle => "Bundle",
            Job::Browse => "Browse a registry",
            Job::Transfer => "Push & copy",
        }
    }

    /// The element id of the job's navigation link.
    pub fn nav_id(self) -> &'static str {
        match self {
            Job::Pull => "nav-pull",
            Job::Bundle => "nav-bundle",
            Job::Browse => "nav-browse",
            Job::Transfer => "nav-push",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_has_its_own_path_and_reads_back() {
        for job in Job::ALL {
            assert_eq!(Job::from_path(job.path()), Some(job));
            assert_eq!(
                Job::ALL.iter().filter(|j| j.path() == job.path()).count(),
                1
            );
        }
        assert_eq!(Job::from_path("nowhere"), None);
    }
}
