//! What the app remembers: the proxy URL and the last platform (localStorage), credentials
//! only when the user opts in (sessionStorage: this tab only) and the image in the page's link
//! (`#/?image=…`), so a link opens the app with the form filled in.

use skiff_core::transfer::layer::UnpackLimits;

use crate::services::pull::PullSettings;
use crate::state::Credentials;

const PROXY_KEY: &str = "skiff.proxy";
const PLATFORM_KEY: &str = "skiff.platform";
const LAYER_FORMAT_KEY: &str = "skiff.layer-format";
pub const DEFAULT_PROXY: &str = "http://127.0.0.1:8787/";
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The proxy the user last used here; else this origin when skiff-proxy serves the app
/// (`--serve-app` marks the page), else the local proxy `scripts/serve.sh` starts.
pub fn saved_proxy() -> String {
    let saved = local_storage().and_then(|s| s.get_item(PROXY_KEY).ok()?);
    match (saved, same_origin_proxy()) {
        // The old default (a separate proxy on 8787) is what `scripts/serve.sh` now serves
        // on the page's own origin.
        (Some(saved), Some(own)) if saved == DEFAULT_PROXY => own,
        (Some(saved), _) => saved,
        (None, own) => own.unwrap_or_else(|| DEFAULT_PROXY.to_owned()),
    }
}

fn same_origin_proxy() -> Option<String> {
    let window = web_sys::window()?;
    let marked = window
        .document()?
        .query_selector(r#"meta[name="skiff-proxy"][content="same-origin"]"#)
        .ok()??;
    drop(marked);
    Some(format!("{}/", window.location().origin().ok()?))
}

pub fn save_proxy(proxy: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(PROXY_KEY, proxy);
    }
}

/// Whether the user last chose uncompressed layers.
pub fn saved_uncompressed() -> bool {
    local_storage()
        .and_then(|s| s.get_item(LAYER_FORMAT_KEY).ok()?)
        .is_some_and(|v| v == "uncompressed")
}

pub fn save_uncompressed(uncompressed: bool) {
    if let Some(storage) = local_storage() {
        let value = if uncompressed {
            "uncompressed"
        } else {
            "as-downloaded"
        };
        let _ = storage.set_item(LAYER_FORMAT_KEY, value);
    }
}

/// The platform last pulled, else linux/amd64.
pub fn saved_platform() -> String {
    local_storage()
        .and_then(|s| s.get_item(PLATFORM_KEY).ok()?)
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PLATFORM.to_owned())
}

pub fn save_platform(platform: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(PLATFORM_KEY, platform);
    }
}

/// Calls `on_change` whenever the page's address changes without a reload: back, forward, or
/// a link followed (`popstate`, `hashchange`); dropping the listener stops it.
pub struct AddressListener {
    closure: wasm_bindgen::closure::Closure<dyn FnMut()>,
}

const ADDRESS_EVENTS: [&str; 2] = ["popstate", "hashchange"];

pub fn listen_address_change(on_change: yew::Callback<()>) -> AddressListener {
    let closure = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || on_change.emit(()));
    if let Some(window) = web_sys::window() {
        use wasm_bindgen::JsCast as _;
        for event in ADDRESS_EVENTS {
            let _ =
                window.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
    }
    AddressListener { closure }
}

impl Drop for AddressListener {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            use wasm_bindgen::JsCast as _;
            for event in ADDRESS_EVENTS {
                let _ = window.remove_event_listener_with_callback(
                    event,
                    self.closure.as_ref().unchecked_ref(),
                );
            }
        }
    }
}

const CREDENTIALS_KEY: &str = "skiff.credentials";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Credentials the user chose to remember for this tab.
pub fn remembered_credentials() -> Option<Credentials> {
    let text = session_storage()?.get_item(CREDENTIALS_KEY).ok()??;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(Credentials {
        registry: value["registry"].as_str().unwrap_or_default().to_owned(),
        username: value["username"].as_str()?.to_owned(),
        password: value["password"].as_str()?.to_owned(),
    })
}

/// Keeps the credentials in sessionStorage (gone when the tab closes), or forgets them.
pub fn remember_credentials(credentials: Option<&Credentials>) {
    let Some(storage) = session_storage() else {
        return;
    };
    match credentials {
        Some(c) => {
            let text =
                serde_json::json!({ "registry": c.registry, "username": c.username, "password": c.password }).to_string();
            let _ = storage.set_item(CREDENTIALS_KEY, &text);
        }
        None => {
            let _ = storage.remove_item(CREDENTIALS_KEY);
        }
    }
}

const SETTINGS_KEY: &str = "skiff.settings";

/// The engine's settings: the layer cache's limit (set in the app), layer parallelism, chunk
/// and read buffer sizes (set by hand or by the benchmark in localStorage `skiff.settings`, e.g.
/// `{"parallelLayers": 4, "chunkBytes": 1048576, "readBytes": 1048576, "cacheCapBytes": 21474836480}`;
/// `"readBytes": 0` reads bodies with the default reader; `"nativeHashBytes"`: memory all layer
/// workers may hold for the browser's SHA-256, 0 to hash every blob as it streams;
/// `"hashLanes"`: blobs one worker hashes in step, 1 for one each with `sha2`;
/// `"cacheChosenFile"`: a pull into a chosen file also keeps its layers in the cache).
pub fn pull_settings() -> PullSettings {
    let mut settings = PullSettings::default();
    let saved = local_storage()
        .and_then(|s| s.get_item(SETTINGS_KEY).ok()?)
        .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok());
    let Some(saved) = saved else {
        return settings;
    };
    if let Some(n) = saved["parallelLayers"].as_u64() {
        settings.parallel_layers = n.clamp(1, 16) as usize;
    }
    if let Some(n) = saved["chunkBytes"].as_u64() {
        settings.job.chunk_bytes = n.clamp(64 << 10, 16 << 20) as u32;
    }
    if let Some(n) = saved["readBytes"].as_u64() {
        settings.job.read_bytes = if n == 0 {
            0
        } else {
            n.clamp(16 << 10, 16 << 20) as u32
        };
    }
    if let Some(n) = saved["cacheCapBytes"].as_u64() {
        settings.cache_cap_bytes = n.max(1 << 20);
    }
    if let Some(n) = saved["nativeHashBytes"].as_u64() {
        settings.hashing.native_budget = n;
    }
    if let Some(n) = saved["hashLanes"].as_u64() {
        settings.hashing.lanes = n.clamp(1, 4) as usize;
    }
    if let Some(keep) = saved["cacheChosenFile"].as_bool() {
        settings.cache_chosen_file = keep;
    }
    settings.job.unpack_limits = unpack_limits_in(&saved);
    settings
}

/// Remembers whether a pull into a chosen file also keeps its layers in the cache
/// (`cacheChosenFile` in `skiff.settings`, beside the other settings).
pub fn save_cache_chosen_file(keep: bool) {
    save_setting(|saved| saved["cacheChosenFile"] = keep.into());
}

/// The caps on what one layer may unpack to (`maxUnpackedBytes`, `maxUnpackRatio`).
pub fn unpack_limits() -> UnpackLimits {
    local_storage()
        .and_then(|s| s.get_item(SETTINGS_KEY).ok()?)
        .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
        .map(|saved| unpack_limits_in(&saved))
        .unwrap_or_default()
}

fn unpack_limits_in(saved: &serde_json::Value) -> UnpackLimits {
    let mut limits = UnpackLimits::default();
    if let Some(n) = saved["maxUnpackedBytes"].as_u64() {
        limits.max_unpacked_bytes = n.max(1 << 20);
    }
    if let Some(n) = saved["maxUnpackRatio"].as_u64() {
        limits.max_ratio = n.clamp(2, 100_000) as u32;
    }
    limits
}

pub fn save_unpack_limits(limits: UnpackLimits) {
    save_setting(|saved| {
        saved["maxUnpackedBytes"] = limits.max_unpacked_bytes.into();
        saved["maxUnpackRatio"] = limits.max_ratio.into();
    });
}

pub fn save_cache_cap(bytes: u64) {
    save_setting(|saved| saved["cacheCapBytes"] = serde_json::json!(bytes));
}

/// Changes the saved settings object (keeping what else it holds).
fn save_setting(change: impl FnOnce(&mut serde_json::Value)) {
    let Some(storage) = local_storage() else {
        return;
    };
    let mut saved = storage
        .get_item(SETTINGS_KEY)
        .ok()
        .flatten()
        .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    change(&mut saved);
    let _ = storage.set_item(SETTINGS_KEY, &saved.to_string());
}

const IN_PROGRESS_KEY: &str = "skiff.pull-in-progress";

/// A pull that was running when the page went away (a reload, a crash): what to pull again.
/// Its finished layers are in the layer cache and its partial layer continues where it broke.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InterruptedPull {
    pub images: Vec<String>,
    pub platform: String,
    pub uncompressed: bool,
    /// A bundle's archive also lists what it holds (`images.txt`).
    #[serde(default)]
    pub bundle: bool,
}

pub fn mark_pull_in_progress(pull: &InterruptedPull) {
    if let (Some(storage), Ok(json)) = (session_storage(), serde_json::to_string(pull)) {
        let _ = storage.set_item(IN_PROGRESS_KEY, &json);
    }
}

pub fn clear_pull_in_progress() {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(IN_PROGRESS_KEY);
    }
}

pub fn interrupted_pull() -> Option<InterruptedPull> {
    let json = session_storage()?.get_item(IN_PROGRESS_KEY).ok()??;
    serde_json::from_str(&json).ok()
}

const THEME_KEY: &str = "skiff.theme";

/// Light or dark, or whatever the system prefers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    /// The theme the toggle switches to.
    pub fn next(self) -> Self {
        match self {
            Self::System => Self::Light,
            Self::Light => Self::Dark,
            Self::Dark => Self::System,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::System => "Theme: system",
            Self::Light => "Theme: light",
            Self::Dark => "Theme: dark",
        }
    }

    fn stored(self) -> Option<&'static str> {
        match self {
            Self::System => None,
            Self::Light => Some("light"),
            Self::Dark => Some("dark"),
        }
    }
}

/// The theme chosen in this browser (index.html applies it before the app starts).
pub fn theme() -> Theme {
    match local_storage()
        .and_then(|s| s.get_item(THEME_KEY).ok().flatten())
        .as_deref()
    {
        Some("light") => Theme::Light,
        Some("dark") => Theme::Dark,
        _ => Theme::System,
    }
}

/// Shows `theme` and remembers it.
pub fn apply_theme(theme: Theme) {
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element());
    match (theme.stored(), root) {
        (Some(name), Some(root)) => {
            let _ = root.set_attribute("data-theme", name);
        }
        (None, Some(root)) => {
            let _ = root.remove_attribute("data-theme");
        }
        _ => {}
    }
    if let Some(storage) = local_storage() {
        let _ = match theme.stored() {
            Some(name) => storage.set_item(THEME_KEY, name),
            None => storage.remove_item(THEME_KEY),
        };
    }
}
