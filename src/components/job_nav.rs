//! The jobs' navigation: one link per job, the open one marked for screen readers too.

use yew::prelude::*;

use crate::services::link::ViewLink;
use crate::state::job::Job;

#[derive(Properties, PartialEq)]
pub struct JobNavProps {
    pub current: Job,
    pub on_show: Callback<Job>,
}

#[function_component(JobNav)]
pub fn job_nav(props: &JobNavProps) -> Html {
    html! {
        <nav class="jobs" aria-label="Jobs">
            { for Job::ALL.into_iter().map(|job| {
                let on_show = props.on_show.clone();
                // The address changes here (a history entry, the image and explorer kept);
                // the href is for opening a job in a new tab.
                let onclick = Callback::from(move |event: MouseEvent| {
                    if event.ctrl_key() || event.meta_key() || event.shift_key() || event.button() != 0 {
                        return;
                    }
                    event.prevent_default();
                    on_show.emit(job);
                });
                let href = ViewLink { job, ..ViewLink::default() }.to_hash();
                let current = (job == props.current).then_some("page");
                html! { <a id={job.nav_id()} {href} aria-current={current} {onclick}>{ job.label() }</a> }
            }) }
        </nav>
    }
}
