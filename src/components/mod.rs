pub mod app;
pub mod browse_panel;
pub mod bundle_panel;
pub mod cache_panel;
pub mod copy_form;
pub mod credentials_panel;
pub mod error_panel;
pub mod explorer;
pub mod files;
pub mod job_nav;
pub mod layer_list;
pub mod platform_picker;
pub mod proxy_field;
pub mod pull_form;
pub mod push_panel;
pub mod save_panel;
pub mod signer_fields;
pub mod tag_list;

/// `1.5 MB`, with decimal units as download tools show them.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes() {
        assert_eq!(super::human_bytes(999), "999 B");
        assert_eq!(super::human_bytes(1_500_000), "1.5 MB");
        assert_eq!(super::human_bytes(2_000_000_000), "2.0 GB");
    }
}
