//! Skiff's layer worker: runs in a dedicated Web Worker, one per concurrent layer download.

fn main() {
    skiff::engine::worker::start();
}
