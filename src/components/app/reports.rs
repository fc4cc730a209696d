//! The one place where what services report becomes the app's actions: each service emits its
//! own events (and its requests, for the explorer), and knows nothing of the UI.

use skiff_core::explorer::exchange::Exchange;
use yew::prelude::*;

use crate::services::Report;
use crate::state::browse::{BrowseAction, CatalogView};
use crate::state::explorer::ExplorerAction;
use crate::state::push::PushEvent;
use crate::state::{Action, CacheInfo, PullEvent, State, TagsView};

/// Every request a service made goes to the explorer's list.
fn exchanges(state: &UseReducerHandle<State>) -> Callback<Exchange> {
    let dispatcher = state.dispatcher();
    Callback::from(move |exchange| dispatcher.dispatch(Action::Exchange(exchange)))
}

fn report<E: 'static>(state: &UseReducerHandle<State>, action: fn(E) -> Action) -> Report<E> {
    let dispatcher = state.dispatcher();
    Report::new(
        Callback::from(move |event| dispatcher.dispatch(action(event))),
        exchanges(state),
    )
}

pub fn tags(state: &UseReducerHandle<State>) -> Report<TagsView> {
    report(state, Action::Tags)
}

pub fn catalog(state: &UseReducerHandle<State>) -> Report<CatalogView> {
    report(state, |view| Action::Browse(BrowseAction::Catalog(view)))
}

pub fn browse_tags(state: &UseReducerHandle<State>) -> Report<TagsView> {
    report(state, |view| Action::Browse(BrowseAction::Tags(view)))
}

pub fn explorer(state: &UseReducerHandle<State>) -> Report<ExplorerAction> {
    report(state, Action::Explorer)
}

pub fn push(state: &UseReducerHandle<State>) -> Report<PushEvent> {
    report(state, Action::Push)
}

/// A pull's events (under its number: a superseded pull's are ignored), and what the layer
/// cache holds once it ended.
pub fn pull(
    state: &UseReducerHandle<State>,
    pull_id: u32,
) -> (Callback<PullEvent>, Callback<CacheInfo>) {
    let dispatcher = state.dispatcher();
    let events = Callback::from(move |event| dispatcher.dispatch(Action::Pull { pull_id, event }));
    let dispatcher = state.dispatcher();
    let cache = Callback::from(move |info| dispatcher.dispatch(Action::CacheInfo(info)));
    (events, cache)
}
