//! Skiff: pull container images from any OCI/Docker registry inside a browser tab and save a tar
//! that `docker load` accepts.

mod components;
mod error;
mod services;
mod state;

fn main() {
    yew::Renderer::<components::app::App>::new().render();
}
