//! The browse job's wiring: the catalog and tag services, and the facts of the tag looked at.

use yew::prelude::*;

use super::pulls::Pulls;
use super::{credentials_for, explore, reports};
use crate::components::browse_panel::{BrowsePanel, TagFacts};
use crate::services::browse::{self, CatalogRequest};
use crate::services::link::ViewLink;
use crate::services::tags::{self, TagsRequest};
use crate::state::browse::BrowseAction;
use crate::state::job::Job;
use crate::state::{Action, Phase, State};

pub fn view(state: &UseReducerHandle<State>, pulls: &Pulls, connection: Html) -> Html {
    let browse = |action: fn(String) -> BrowseAction| {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(Action::Browse(action(text))))
    };
    let on_list = {
        let state = state.clone();
        Callback::from(move |()| {
            let registry =
                skiff_core::protocol::registry::parse_registry(&state.browse.registry_input).ok();
            browse::list(
                CatalogRequest {
                    registry_input: state.browse.registry_input.clone(),
                    proxy: state.form.proxy_input.clone(),
                    credentials: credentials_for(&state, registry.as_deref()),
                },
                reports::catalog(&state),
            );
        })
    };
    let on_repository = {
        let state = state.clone();
        Callback::from(move |repository: String| {
            state.dispatch(Action::Browse(BrowseAction::OpenRepository(
                repository.clone(),
            )));
            let registry = repository.split('/').next().map(str::to_owned);
            tags::start(
                TagsRequest {
                    image_input: repository,
                    proxy: state.form.proxy_input.clone(),
                    credentials: credentials_for(&state, registry.as_deref()),
                },
                reports::browse_tags(&state),
            );
        })
    };
    let on_tag = {
        let (state, pulls) = (state.clone(), pulls.clone());
        Callback::from(move |reference: String| {
            // The address names the tag, as a pull's does: a link to share.
            ViewLink {
                job: Job::Browse,
                images: vec![reference.clone()],
                ..ViewLink::current()
            }
            .show(true);
            state.dispatch(Action::Browse(BrowseAction::OpenTag(reference.clone())));
            state.dispatch(Action::EditImage(reference.clone()));
            pulls.inspect_images(vec![reference]);
        })
    };
    let on_pull_tag = {
        let (state, pulls) = (state.clone(), pulls.clone());
        Callback::from(move |reference: String| {
            ViewLink {
                job: Job::Pull,
                images: vec![reference],
                ..ViewLink::current()
            }
            .show(true);
            state.dispatch(Action::ShowJob(Job::Pull));
            pulls.start(None, None);
        })
    };
    let looking = matches!(state.pull.phase, Phase::Running { .. });
    html! {
        <BrowsePanel view={state.browse.clone()} facts={facts(state)} {looking}
            on_registry={browse(BrowseAction::EditRegistry)}
            {on_list}
            on_filter={browse(BrowseAction::Filter)}
            {on_repository} {on_tag} {on_pull_tag}>
            { connection }
        </BrowsePanel>
    }
}

/// The tag's platforms, size and date, from what the explorer fetched.
fn facts(state: &State) -> Option<TagFacts> {
    let contents = explore::image(state)?;
    // Only if the explorer holds the tag picked here, not an image pulled since.
    let tag = state.browse.tag.clone()?;
    let same = |a: &str, b: &str| {
        a.parse::<skiff_core::Reference>().ok() == b.parse::<skiff_core::Reference>().ok()
    };
    if !same(&contents.reference, &tag) {
        return None;
    }
    // An artifact's config may be anything, `{}` included.
    let config: serde_json::Value = serde_json::from_str(&contents.config).unwrap_or_default();
    let summary = skiff_core::image::summary::summarize(&config);
    Some(TagFacts {
        reference: tag,
        platforms: state.pull.offers.iter().map(|o| o.label.clone()).collect(),
        platform: summary.platform,
        size: contents.sizes.iter().sum(),
        layers: contents.layers.len(),
        created: summary.created,
        what: state
            .pull
            .kind
            .as_ref()
            .filter(|kind| !kind.is_image())
            .map(|kind| kind.describe()),
    })
}
