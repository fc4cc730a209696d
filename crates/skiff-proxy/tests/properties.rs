//! Property tests of the proxy's decisions: whatever URL a page asks for, the allowlist lets
//! through exactly what its rules name (so the proxy never contacts a host the rules refuse),
//! wildcards never reach an IP address, private addresses are never public, and any command
//! line is a configuration or a typed error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use skiff_proxy::{is_public, Config, HostRule, Scheme, Target};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A DNS label that is not an IDNA A-label: `xn--…` must be valid punycode, which URL parsing
/// checks, so a random `xn--0` is no hostname at all.
fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?".prop_filter("not an A-label", |l| !l.starts_with("xn--"))
}

/// A name whose last label is not a number (URL parsing reads `a.0.0` as an IPv4 address).
fn hostname() -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..4), "[a-z]{2,6}")
        .prop_map(|(labels, top)| format!("{}.{top}", labels.join(".")))
}

/// Whether the proxy would forward `url` under `config`, as its handler decides.
fn forwards(config: &Config, url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|url| Target::of(&url).map(|t| config.host_allowed(&t)))
        .unwrap_or(false)
}

fn only(rules: &[String]) -> Config {
    let mut args = vec!["--no-default-hosts".to_owned()];
    for rule in rules {
        args.push("--allow-host".to_owned());
        args.push(rule.clone());
    }
    Config::from_args(args).unwrap().unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_rules_no_upstream(url in "\\PC{0,120}", host in hostname()) {
        let config = only(&[]);
        prop_assert!(!forwards(&config, &url));
        let https = format!("https://{host}/v2/");
        prop_assert!(!forwards(&config, &https));
    }

    #[test]
    fn an_exact_rule_allows_its_host_on_https_443_only(
        rule in hostname(), host in hostname(), https in any::<bool>(), port in prop::option::of(1u16..),
    ) {
        let config = only(std::slice::from_ref(&rule));
        let scheme = if https { "https" } else { "http" };
        let authority = match port { Some(p) => format!("{host}:{p}"), None => host.clone() };
        let url = format!("{scheme}://{authority}/v2/a/manifests/b");
        let effective = port.unwrap_or(if https { 443 } else { 80 });
        let expected = host == rule && https && effective == 443;
        prop_assert_eq!(forwards(&config, &url), expected, "{} under {}", url, rule);
    }

    #[test]
    fn a_wildcard_allows_subdomains_and_never_an_address(
        suffix in hostname(), sub in prop::collection::vec(label(), 1..3), address in any::<Ipv4Addr>(),
    ) {
        let config = only(&[format!("*.{suffix}")]);
        let subdomain = format!("https://{}.{suffix}/", sub.join("."));
        prop_assert!(forwards(&config, &subdomain));
        let exact = format!("https://{suffix}/");
        prop_assert!(!forwards(&config, &exact), "the bare suffix is not a subdomain");
        let lookalike = format!("https://{}{suffix}/", sub[0]);
        prop_assert!(!forwards(&config, &lookalike));
        let ip = format!("https://{address}/");
        prop_assert!(!forwards(&config, &ip));
    }

    #[test]
    fn rules_never_panic(pattern in "\\PC{0,60}", scheme in any::<bool>(), host in "\\PC{0,60}", port in any::<u16>()) {
        let rule = HostRule::new(&pattern);
        let target = Target { scheme: if scheme { Scheme::Https } else { Scheme::Http }, host: &host, port };
        let _ = rule.matches(&target);
    }

    #[test]
    fn private_addresses_are_never_public(
        a in any::<u8>(), b in any::<u8>(), c in any::<u8>(), d in any::<u8>(), v6 in any::<u128>(),
    ) {
        for private in [
            Ipv4Addr::new(10, b, c, d),
            Ipv4Addr::new(127, b, c, d),
            Ipv4Addr::new(192, 168, c, d),
            Ipv4Addr::new(172, 16 | (b & 0x0f), c, d),
            Ipv4Addr::new(169, 254, c, d),
            Ipv4Addr::new(100, 64 | (b & 0x3f), c, d),
        ] {
            prop_assert!(!is_public(IpAddr::V4(private)), "{private}");
            // The same address written as IPv4-mapped IPv6.
            prop_assert!(!is_public(IpAddr::V6(private.to_ipv6_mapped())), "{private} mapped");
        }
        let unique_local = Ipv6Addr::from((v6 & !(0x7f << 121)) | (0xfc << 120));
        prop_assert!(!is_public(IpAddr::V6(unique_local)), "{unique_local}");
        let _ = is_public(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
    }

    #[test]
    fn any_command_line_is_a_configuration_or_a_typed_error(args in prop::collection::vec("\\PC{0,30}", 0..6)) {
        let _ = Config::from_args(args);
    }
}
