//! Which upstream addresses the proxy may connect to. A name on the allowlist proves nothing
//! about where it points (`*.amazonaws.com` covers names anyone can point at 10.0.0.1), so every
//! name is resolved here and non-public addresses are dropped, unless the operator allowed that
//! name to be private (`--allow-private-host`). IP literals are checked by the rules instead:
//! only a rule naming the address allows it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::HostRule;

/// The name resolved only to addresses the proxy refuses to reach.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves to {address}, a private, loopback or link-local address, which Skiff's proxy does not reach; if it is your internal registry, restart the proxy with --allow-private-host {name}")]
pub struct PrivateAddress {
    pub name: String,
    pub address: IpAddr,
}

/// Resolves with the system's resolver, then keeps public addresses only.
#[derive(Clone)]
pub struct CheckedResolver {
    rules: Arc<Vec<HostRule>>,
}

impl CheckedResolver {
    pub fn new(rules: Vec<HostRule>) -> Self {
        Self {
            rules: Arc::new(rules),
        }
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_ascii_lowercase();
        let private_ok = self.rules.iter().any(|r| r.allows_private_name(&name));
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if private_ok {
                return Ok(Box::new(resolved.into_iter()) as Addrs);
            }
            let first = resolved.first().map(SocketAddr::ip);
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| is_public(address.ip()))
                .collect();
            match first {
                Some(address) if public.is_empty() => {
                    Err(Box::new(PrivateAddress { name, address }) as _)
                }
                _ => Ok(Box::new(public.into_iter()) as Addrs),
            }
        })
    }
}

/// Globally reachable unicast: not loopback, private, link-local, CGNAT, unique-local,
/// multicast, documentation or reserved space; v4-mapped and v4-embedding v6 forms are judged
/// by their v4 address.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        // Shared address space (CGNAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = address.segments();
    let embedded_v4 =
        |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match segments {
        // NAT64 (64:ff9b::/96): the v4 address it reaches.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => is_public_v4(embedded_v4(high, low)),
        // 6to4 (2002::/16): the v4 address in bits 16..48.
        [0x2002, high, low, ..] => is_public_v4(embedded_v4(high, low)),
        // Unspecified, loopback and the deprecated v4-compatible ::/96.
        [0, 0, 0, 0, 0, 0, _, _] => false,
        [first, second, ..] => {
            let unique_local = first & 0xfe00 == 0xfc00;
            let link_local = first & 0xffc0 == 0xfe80;
            let site_local = first & 0xffc0 == 0xfec0;
            let multicast = first & 0xff00 == 0xff00;
            let documentation = first == 0x2001 && second == 0x0db8;
            let teredo = first == 0x2001 && second == 0;
            !(unique_local || link_local || site_local || multicast || documentation || teredo)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let table = [
            ("8.8.8.8", true),
            ("104.16.0.1", true),
            ("127.0.0.1", false),
            ("127.255.0.9", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("172.32.0.1", true),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("100.128.0.1", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("224.0.0.1", false),
            ("255.255.255.255", false),
            ("240.0.0.1", false),
            ("192.0.0.8", false),
            ("198.18.0.1", false),
            ("192.0.2.1", false),
            ("2606:4700::1", true),
            ("::1", false),
            ("::", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("2001:db8::1", false),
            ("2001::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:8.8.8.8", true),
            ("::127.0.0.1", false),
            ("64:ff9b::a00:1", false),
            ("64:ff9b::808:808", true),
            ("2002:a00:1::1", false),
            ("2002:808:808::1", true),
        ];
        for (text, public) in table {
            let address: IpAddr = text.parse().unwrap();
            assert_eq!(is_public(address), public, "{text}");
        }
    }

    #[tokio::test]
    async fn refuses_names_resolving_to_loopback_unless_allowed() {
        let resolver = CheckedResolver::new(vec![]);
        let error = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved to an allowed address"),
            Err(error) => error,
        };
        let refusal = error
            .downcast_ref::<PrivateAddress>()
            .expect("a PrivateAddress error");
        assert_eq!(refusal.name, "localhost");
        assert!(!is_public(refusal.address));
        assert!(error.to_string().contains("--allow-private-host localhost"));

        let allowing = CheckedResolver::new(vec![HostRule::allowing_private("localhost:5000")]);
        let addresses: Vec<SocketAddr> = allowing
            .resolve("localhost".parse().unwrap())
            .await
            .expect("allowed explicitly")
            .collect();
        assert!(addresses.iter().all(|a| a.ip().is_loopback()));
    }
}
