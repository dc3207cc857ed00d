//! The egress policy of outbound delivery: which addresses and ports the delivery worker may
//! connect to. It is enforced where the connection is made (a resolver that drops refused
//! addresses, and a check of literal IP hosts before each attempt), and again when an endpoint
//! is registered, so a URL cannot reach loopback, private, link-local, unique-local,
//! unspecified, IPv4-mapped or cloud metadata addresses unless explicitly allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why an address or port is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10.
    Private,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// ::ffff:0:0/96 and 64:ff9b::/96: an IPv4 address in an IPv6 one.
    Ipv4Mapped,
    /// 169.254.169.254, fd00:ec2::254: cloud instance metadata.
    Metadata,
    /// Multicast, broadcast and reserved ranges.
    NotUnicast,
    /// A port other than the allowed ones (80 and 443 by default).
    Port,
    /// A name that resolves to no allowed address.
    NoAllowedAddress,
    /// Any address outside the allowed networks, under an allow-list-only policy.
    NotAllowListed,
}

impl Refusal {
    /// The reason, as registration answers it.
    pub fn message(self) -> &'static str {
        match self {
            Self::Loopback => "resolves to a loopback address, which the egress policy refuses",
            Self::Private => "resolves to a private address, which the egress policy refuses",
            Self::LinkLocal => "resolves to a link-local address, which the egress policy refuses",
            Self::UniqueLocal => {
                "resolves to a unique-local address, which the egress policy refuses"
            }
            Self::Unspecified => {
                "resolves to an unspecified address, which the egress policy refuses"
            }
            Self::Ipv4Mapped => "is an IPv4-mapped IPv6 address, which the egress policy refuses",
            Self::Metadata => "is a cloud metadata address, which the egress policy refuses",
            Self::NotUnicast => "is not a unicast address",
            Self::Port => {
                "uses a port the egress policy does not allow (80 and 443 unless configured)"
            }
            Self::NoAllowedAddress => "resolves to no address the egress policy allows",
            Self::NotAllowListed => {
                "is outside the networks the egress policy allows (EGRESS_ALLOW_ONLY)"
            }
        }
    }
}

/// The addresses and ports outbound delivery may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Networks allowed even though their class is refused (e.g. loopback in tests).
    allowed: Vec<(IpAddr, u8)>,
    /// Allowed destination ports; `None`: any.
    ports: Option<Vec<u16>>,
    /// Refuse public addresses too: only `allowed` may be reached (tests, closed networks).
    only: bool,
}

fn in_network(ip: IpAddr, (network, prefix): (IpAddr, u8)) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<Refusal> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some(Refusal::Metadata)
    } else if a == 0 {
        Some(Refusal::Unspecified)
    } else if ip.is_loopback() {
        Some(Refusal::Loopback)
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some(Refusal::Private)
    } else if ip.is_link_local() {
        Some(Refusal::LinkLocal)
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some(Refusal::NotUnicast)
    } else {
        None
    }
}

fn v6_class(ip: Ipv6Addr) -> Option<Refusal> {
    let segments = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        Some(Refusal::Metadata)
    } else if ip.is_unspecified() {
        Some(Refusal::Unspecified)
    } else if ip.is_loopback() {
        Some(Refusal::Loopback)
    } else if ip.to_ipv4_mapped().is_some() || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(Refusal::Ipv4Mapped)
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some(Refusal::LinkLocal)
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some(Refusal::UniqueLocal)
    } else if ip.is_multicast() {
        Some(Refusal::NotUnicast)
    } else {
        None
    }
}

impl EgressPolicy {
    /// From the configuration: `allow` lists `loopback`, IP addresses and CIDR networks;
    /// `ports` is a comma-separated list or `any`.
    ///
    /// ```
    /// use fluxora_server::egress::EgressPolicy;
    ///
    /// let policy = EgressPolicy::parse(&["loopback".into()], "any", false).unwrap();
    /// assert!(policy.check_ip("127.0.0.1".parse().unwrap()).is_ok());
    /// assert!(policy.check_ip("10.0.0.5".parse().unwrap()).is_err());
    /// ```
    pub fn parse(allow: &[String], ports: &str, only: bool) -> Result<Self, String> {
        let mut allowed = Vec::new();
        for item in allow.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            if item.eq_ignore_ascii_case("loopback") {
                allowed.push((IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8));
                allowed.push((IpAddr::V6(Ipv6Addr::LOCALHOST), 128));
                continue;
            }
            let (address, prefix) = match item.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (item, None),
            };
            let ip: IpAddr = address.parse().map_err(|_| {
                format!("EGRESS_ALLOW: {item:?} is not loopback, an IP address or a CIDR network")
            })?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(prefix) => {
                    prefix
                        .parse::<u8>()
                        .ok()
                        .filter(|p| *p <= max)
                        .ok_or_else(|| {
                            format!("EGRESS_ALLOW: {item:?} has an invalid prefix length")
                        })?
                }
            };
            allowed.push((ip, prefix));
        }
        let ports = if ports.trim().eq_ignore_ascii_case("any") {
            None
        } else {
            let list = ports
                .split(',')
                .map(|p| p.trim().parse::<u16>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    "EGRESS_ALLOW_PORTS must be `any` or a comma-separated list of ports".to_owned()
                })?;
            Some(list)
        };
        Ok(Self {
            allowed,
            ports,
            only,
        })
    }

    /// Whether the worker may connect to `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.allowed.iter().any(|network| in_network(ip, *network)) {
            return Ok(());
        }
        if self.only {
            return Err(Refusal::NotAllowListed);
        }
        let class = match ip {
            IpAddr::V4(ip) => v4_class(ip),
            IpAddr::V6(ip) => v6_class(ip),
        };
        class.map_or(Ok(()), Err)
    }

    /// Whether the worker may connect to `port`.
    pub fn check_port(&self, port: u16) -> Result<(), Refusal> {
        match &self.ports {
            Some(ports) if !ports.contains(&port) => Err(Refusal::Port),
            _ => Ok(()),
        }
    }

    /// The checks that need no name resolution: the port, and the host when it is a literal
    /// IP address.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refusal> {
        self.check_port(url.port_or_known_default().unwrap_or(0))?;
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }

    /// Every check, resolving a host name (bounded in time): refused when the name resolves
    /// only to refused addresses. A name that does not resolve now is left to the check at
    /// connect time.
    pub async fn check_endpoint(&self, url: &reqwest::Url) -> Result<(), Refusal> {
        self.check_url(url)?;
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(0);
        let lookup = tokio::net::lookup_host((name, port));
        let Ok(Ok(addresses)) =
            tokio::time::timeout(std::time::Duration::from_secs(2), lookup).await
        else {
            // A name that does not resolve now may later; only an allow-list-only policy,
            // which can never reach it unless it resolves into the list, refuses it now.
            return if self.only {
                Err(Refusal::NoAllowedAddress)
            } else {
                Ok(())
            };
        };
        let mut first_refusal = None;
        for address in addresses {
            match self.check_ip(address.ip()) {
                Ok(()) => return Ok(()),
                Err(refusal) => {
                    first_refusal.get_or_insert(refusal);
                }
            }
        }
        first_refusal.map_or(Ok(()), Err)
    }
}

/// A resolver for the delivery client that keeps only the addresses the policy allows, so a
/// name that resolves (or is re-bound) to a refused address is never connected to.
#[derive(Clone, Debug)]
pub struct PolicyResolver(pub Arc<EgressPolicy>);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| policy.check_ip(address.ip()).is_ok())
                .collect();
            if resolved.is_empty() {
                let error: Box<dyn std::error::Error + Send + Sync> =
                    Refusal::NoAllowedAddress.message().into();
                return Err(error);
            }
            Ok(Box::new(resolved.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(policy: &EgressPolicy, ip: &str) -> Option<Refusal> {
        policy.check_ip(ip.parse().unwrap()).err()
    }

    #[test]
    fn refuses_every_internal_class_by_default() {
        let policy = EgressPolicy::parse(&[], "80,443", false).unwrap();
        for (ip, want) in [
            ("127.0.0.1", Refusal::Loopback),
            ("10.0.0.5", Refusal::Private),
            ("172.16.3.4", Refusal::Private),
            ("192.168.1.1", Refusal::Private),
            ("100.64.0.1", Refusal::Private),
            ("169.254.169.254", Refusal::Metadata),
            ("169.254.1.1", Refusal::LinkLocal),
            ("0.0.0.0", Refusal::Unspecified),
            ("224.0.0.1", Refusal::NotUnicast),
            ("255.255.255.255", Refusal::NotUnicast),
            ("::1", Refusal::Loopback),
            ("::", Refusal::Unspecified),
            ("fd00::1", Refusal::UniqueLocal),
            ("fd00:ec2::254", Refusal::Metadata),
            ("fe80::1", Refusal::LinkLocal),
            ("::ffff:169.254.169.254", Refusal::Ipv4Mapped),
            ("::ffff:127.0.0.1", Refusal::Ipv4Mapped),
            ("64:ff9b::a00:1", Refusal::Ipv4Mapped),
        ] {
            assert_eq!(refusal(&policy, ip), Some(want), "{ip}");
        }
        assert_eq!(refusal(&policy, "93.184.216.34"), None);
        assert_eq!(refusal(&policy, "2606:2800:220:1::1"), None);
    }

    #[test]
    fn allows_what_is_configured_and_nothing_more() {
        let policy =
            EgressPolicy::parse(&["loopback".into(), "10.1.0.0/16".into()], "any", false).unwrap();
        assert_eq!(refusal(&policy, "127.0.0.1"), None);
        assert_eq!(refusal(&policy, "::1"), None);
        assert_eq!(refusal(&policy, "10.1.2.3"), None);
        assert_eq!(refusal(&policy, "10.2.0.1"), Some(Refusal::Private));
        assert_eq!(
            refusal(&policy, "::ffff:127.0.0.1"),
            Some(Refusal::Ipv4Mapped)
        );
        assert!(policy.check_port(6379).is_ok());
        let strict = EgressPolicy::parse(&[], "443", false).unwrap();
        assert_eq!(strict.check_port(80), Err(Refusal::Port));
        assert!(EgressPolicy::parse(&["10.0.0.0/40".into()], "any", false).is_err());
        assert!(EgressPolicy::parse(&["example.com".into()], "any", false).is_err());
        assert!(EgressPolicy::parse(&[], "http", false).is_err());
    }

    #[tokio::test]
    async fn an_allow_list_only_policy_refuses_public_addresses_and_unresolvable_names() {
        let only = EgressPolicy::parse(&["loopback".into()], "any", true).unwrap();
        assert_eq!(only.check_ip("127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(only.check_ip("::1".parse().unwrap()), Ok(()));
        assert_eq!(
            only.check_ip("93.184.216.34".parse().unwrap()),
            Err(Refusal::NotAllowListed)
        );
        let url = |text: &str| reqwest::Url::parse(text).unwrap();
        assert_eq!(
            only.check_endpoint(&url("http://127.0.0.1:9/")).await,
            Ok(())
        );
        assert!(
            only.check_endpoint(&url("https://example.invalid/"))
                .await
                .is_err()
        );
        let open = EgressPolicy::parse(&["loopback".into()], "any", false).unwrap();
        assert_eq!(open.check_ip("93.184.216.34".parse().unwrap()), Ok(()));
    }
}
