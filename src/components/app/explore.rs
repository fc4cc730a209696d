//! The explorer's wiring: its callbacks, the page address that mirrors its view, and objects
//! a link asked for, opened once the image is known.

use yew::prelude::*;

use super::credentials_for;
use crate::components::explorer::Explorer;
use crate::services::link::ViewLink;
use crate::services::objects::{self, Origin};
use crate::state::explorer::{ExplorerAction, Opened, Target, View};
use crate::state::{Action, ImageContents, Phase, State};

/// The explorer, with its callbacks.
pub fn explorer(state: &UseReducerHandle<State>) -> Html {
    let on_show = {
        let state = state.clone();
        Callback::from(move |view: View| {
            let object = (view == View::Objects)
                .then(|| state.explorer.opened.digest().cloned())
                .flatten();
            ViewLink {
                view: Some(view),
                object,
                ..ViewLink::current()
            }
            .show(true);
            state.dispatch(Action::Explorer(ExplorerAction::Show(view)));
        })
    };
    let on_open = {
        let state = state.clone();
        Callback::from(move |target: Target| {
            ViewLink {
                view: Some(View::Objects),
                object: Some(target.digest.clone()),
                ..ViewLink::current()
            }
            .show(true);
            state.dispatch(Action::Explorer(ExplorerAction::Show(View::Objects)));
            open(&state, target);
        })
    };
    let on_find_referrers = {
        let state = state.clone();
        Callback::from(move |()| {
            let Some(origin) = origin(&state) else { return };
            let mut subjects: Vec<_> = state.explorer.subject().into_iter().cloned().collect();
            if let Some(manifest) = state.explorer.manifest() {
                if !subjects.contains(&manifest.digest) {
                    subjects.push(manifest.digest.clone());
                }
            }
            objects::find_referrers(origin, subjects, super::reports::explorer(&state));
        })
    };
    let on_verify = {
        let state = state.clone();
        Callback::from(move |signer: crate::state::trust::SignerFields| {
            let (Some(origin), Some(manifest)) = (origin(&state), state.explorer.manifest()) else {
                return;
            };
            // The platform's manifest, and the index that named it: either may be signed.
            let subjects = std::iter::once(manifest.digest.clone())
                .chain(state.explorer.subject().cloned())
                .fold(Vec::new(), |mut all, d| {
                    if !all.contains(&d) {
                        all.push(d);
                    }
                    all
                });
            crate::services::verify::verify(
                origin,
                subjects,
                signer,
                super::reports::explorer(&state),
            );
        })
    };
    let on_compare_sbom = {
        let state = state.clone();
        Callback::from(
            move |(typed, like): (String, skiff_core::trust::sbom::SbomFormat)| {
                let report = super::reports::explorer(&state);
                let reference = match typed.parse::<skiff_core::Reference>() {
                    Ok(reference) => reference,
                    Err(error) => {
                        return report.emit(ExplorerAction::OtherSbom(
                            crate::state::explorer::OtherSbom::Failed(format!("{typed}: {error}")),
                        ))
                    }
                };
                let origin = Origin {
                    credentials: credentials_for(&state, Some(reference.registry())),
                    reference,
                    proxy: state.form.proxy_input.clone(),
                };
                crate::services::sbom::find_sbom(origin, like, report);
            },
        )
    };
    html! {
        <Explorer
            exchanges={state.pull.exchanges.clone()}
            state={state.explorer.clone()}
            // Parsed only for the tab that shows it: the app redraws 4× a second mid-pull.
            image={(state.explorer.view == View::Summary).then(|| image(state)).flatten()}
            platforms={state.pull.offers.iter().map(|o| o.label.clone()).collect::<Vec<_>>()}
            what={state.pull.kind.as_ref().filter(|k| !k.is_image()).map(|k| k.describe())}
            {on_show}
            {on_open}
            {on_find_referrers}
            {on_verify}
            {on_compare_sbom}
        />
    }
}

/// Opens an object: a known document at once, anything else fetched from the image's
/// repository.
fn open(state: &UseReducerHandle<State>, target: Target) {
    if state.explorer.doc(&target.digest).is_some() {
        return state.dispatch(Action::Explorer(ExplorerAction::Open(Opened::Doc(
            target.digest,
        ))));
    }
    if let Some(origin) = origin(state) {
        objects::open(origin, target, super::reports::explorer(state));
    }
}

/// A link's object, once the pull or inspection that could fetch it has ended.
#[hook]
pub fn use_pending_object(state: &UseReducerHandle<State>) {
    let settled = !matches!(state.pull.phase, Phase::Running { .. } | Phase::Idle);
    let pending = state.explorer.pending.clone().filter(|_| settled);
    let state = state.clone();
    use_effect_with(pending, move |pending| {
        if let Some(digest) = pending {
            let target = state.explorer.descriptor_of(digest).unwrap_or(Target {
                digest: digest.clone(),
                media_type: skiff_core::image::media_type::MediaType::Other(String::new()),
                size: None,
            });
            open(&state, target);
        }
    });
}

/// The page's address changed (back, forward, a followed link): the view follows it.
pub fn follow_link(state: &UseReducerHandle<State>, link: ViewLink) {
    state.dispatch(Action::ShowJob(link.job));
    if let Some(image) = link.images.last() {
        state.dispatch(Action::EditImage(image.clone()));
    }
    if let Some(platform) = link.platform {
        state.dispatch(Action::EditPlatform(platform));
    }
    let explorer = |action| Action::Explorer(action);
    state.dispatch(explorer(ExplorerAction::Show(
        link.view.unwrap_or_default(),
    )));
    match link.object {
        Some(digest) => state.dispatch(explorer(ExplorerAction::Await(digest))),
        None => state.dispatch(explorer(ExplorerAction::Open(Opened::Nothing))),
    }
}

fn origin(state: &UseReducerHandle<State>) -> Option<Origin> {
    let reference = state.explorer.reference.clone()?;
    Some(Origin {
        credentials: credentials_for(state, Some(reference.registry())),
        reference,
        proxy: state.form.proxy_input.clone(),
    })
}

/// The image for the summary: the archive's, or the inspected manifest and config.
pub(super) fn image(state: &State) -> Option<ImageContents> {
    if let Phase::Done(archive) = &state.pull.phase {
        return archive.contents.last().cloned();
    }
    let explorer = &state.explorer;
    let (manifest, config) = (explorer.manifest()?, explorer.config()?);
    let media_type = manifest.media_type.to_string();
    let parsed =
        skiff_core::image::manifest::Manifest::parse(Some(&media_type), manifest.text.as_bytes());
    let Ok((skiff_core::image::manifest::Manifest::Image(image), _)) = parsed else {
        return None;
    };
    Some(ImageContents {
        reference: explorer
            .reference
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        layers: image.layers.iter().map(|l| l.digest.clone()).collect(),
        sizes: image.layers.iter().map(|l| l.size).collect(),
        config: config.text.clone(),
    })
}
