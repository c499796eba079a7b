//! Who is on the other end of a request: the client's address, for limits and the audit log. It
//! comes from the socket ([`Peer`], which [`super::serve`] attaches to every page request), or
//! from `X-Forwarded-For` only when the socket's peer is one of `server.trusted_proxies` (the
//! TLS proxy in front): a client cannot name its own address.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads CIDRs (`10.0.0.0/8`, `::1/128`) or bare addresses (one host). `Err` names the entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let nets = entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>().or_else(|_| e.parse::<IpAddr>().map(IpNet::from)).map_err(|_| format!("{e:?} is not an address or CIDR"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(nets))
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|n| n.contains(&addr))
    }

    /// The client behind a request from `peer`: `peer` itself unless it is a trusted proxy; then
    /// the right-most `X-Forwarded-For` entry that is not a trusted proxy (each proxy appends the
    /// address it got the request from, so entries to its left are the client's to choose).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> =
            headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
        for hop in hops.iter().rev() {
            let Ok(addr) = hop.parse::<IpAddr>() else { break };
            client = canonical(addr);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address a dual-stack socket shows as `::ffff:a.b.c.d` is that IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

/// The socket a request came in on, and the proxies to believe: put in each page request's
/// extensions by [`super::serve`].
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    pub trusted: Arc<TrustedProxies>,
}

/// The client's address (see the module's doc). A request that did not come through
/// [`super::serve`] (none in the server) has the unspecified address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key limits count under: the address, or for IPv6 its /64 (one subscriber's prefix:
    /// a client has the whole /64 to pick from).
    pub fn limit_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        }
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(match parts.extensions.get::<Peer>() {
            Some(p) => p.trusted.client(p.addr.ip(), &parts.headers),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let proxy = TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let outside: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(none.client(local, &xff("203.0.113.9")), local, "no proxy configured: the socket");
        assert_eq!(proxy.client(outside, &xff("203.0.113.9")), outside, "an untrusted peer cannot name itself");
        assert_eq!(proxy.client(local, &xff("203.0.113.9")), "203.0.113.9".parse::<IpAddr>().unwrap());
        // The client's own entries come first; the right-most untrusted one is the client.
        assert_eq!(proxy.client(local, &xff("1.2.3.4, 203.0.113.9, 10.1.2.3")), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(proxy.client(local, &xff("garbage")), local, "an unreadable entry: the last hop known");
        assert_eq!(proxy.client(local, &HeaderMap::new()), local);
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(proxy.client(mapped, &xff("203.0.113.9")), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
    }

    #[test]
    fn ipv6_clients_count_by_their_prefix() {
        let a = ClientAddr("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddr("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a.limit_key(), b.limit_key());
        assert_eq!(ClientAddr("192.0.2.1".parse().unwrap()).limit_key(), "192.0.2.1");
    }
}
