//! A bundle: the text the user pasted or dropped, the images found in it, and which of them go
//! into the archive.

use skiff_core::bundle::{find_images, Bundle};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BundleView {
    /// What the text area holds.
    pub text: String,
    /// The images found in the text as it was when the user asked.
    pub found: Option<Bundle>,
    /// One per found image: whether it goes into the archive.
    pub chosen: Vec<bool>,
}

pub enum BundleAction {
    EditText(String),
    /// Reads the text for images; all are chosen.
    Find,
    Toggle(usize),
}

impl BundleView {
    pub fn reduce(&mut self, action: BundleAction) {
        match action {
            BundleAction::EditText(text) => self.text = text,
            BundleAction::Find => {
                let found = find_images(&self.text);
                self.chosen = vec![true; found.images.len()];
                self.found = Some(found);
            }
            BundleAction::Toggle(index) => {
                if let Some(chosen) = self.chosen.get_mut(index) {
                    *chosen = !*chosen;
                }
            }
        }
    }

    /// The chosen images' references, in the order found.
    pub fn chosen_references(&self) -> Vec<String> {
        let Some(found) = &self.found else {
            return Vec::new();
        };
        found
            .images
            .iter()
            .zip(&self.chosen)
            .filter(|(_, chosen)| **chosen)
            .map(|(image, _)| image.reference.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_then_leaves_out_what_is_unticked() {
        let mut view = BundleView::default();
        view.reduce(BundleAction::EditText("nginx:1\nredis:7\n".into()));
        assert!(view.chosen_references().is_empty());
        view.reduce(BundleAction::Find);
        assert_eq!(view.chosen_references().len(), 2);
        view.reduce(BundleAction::Toggle(0));
        assert_eq!(view.chosen_references(), ["docker.io/library/redis:7"]);
        view.reduce(BundleAction::Toggle(9));
        view.reduce(BundleAction::EditText("busybox\n".into()));
        assert_eq!(view.chosen_references(), ["docker.io/library/redis:7"]);
    }
}
