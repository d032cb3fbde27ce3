//! Where the server may send notifications: the endpoint policy of rest-hook subscriptions.
//!
//! A subscription makes the server send requests to a URL its creator chose, so without a
//! policy anyone allowed to subscribe could make the server reach what only it can reach (its
//! own admin ports, the cloud metadata service, the hospital's internal network): request
//! forgery. The policy: `https` only, to public addresses, unless the operator allows the host,
//! address or block explicitly (`--subscription-allow`, e.g. `127.0.0.1` for tests or a
//! receiver on the hospital's network). It is applied when a subscription is created
//! ([`check`]) **and** at each connection ([`Endpoints`]): the name is resolved once per
//! connection, every address it gives is checked, and the connection goes to one of those
//! checked addresses, so a name that resolves elsewhere the second time (DNS rebinding)
//! reaches nothing new. Redirects are never followed and no proxy is used (either would send
//! the request somewhere that was not checked).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

/// How long a connection to a receiver may take to open (the whole request has the
/// subscription's own timeout, set on each request).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks that notifications may be sent to `url`: `Ok` or why not, in words for the
/// subscriber (the reason is returned in a 422). Resolves the host name (blocking: call it off
/// the async workers).
pub fn check(url: &str, allow: &[String]) -> Result<(), String> {
    let parsed = parse(url)?;
    let addresses = resolve_blocking(&parsed)?;
    checked(&parsed, &addresses, &Allow::new(allow)).map(|_| ())
}

/// Checks the operator's `--subscription-allow` entries: host names, IP addresses or CIDR
/// blocks. An entry that looks like an address or block but is not one is refused, so a typo
/// does not silently allow nothing (or be read as a host name).
pub fn check_allow(allow: &[String]) -> Result<(), String> {
    for entry in allow {
        if let Rule::Invalid(why) = Rule::parse(entry) {
            return Err(format!("--subscription-allow `{entry}`: {why}"));
        }
    }
    Ok(())
}

/// The client notifications are sent with, and the policy it applies at each connection.
///
/// One client for every subscription (one connection pool, the trust roots loaded once): its
/// name resolver is the policy's ([`CheckedResolver`]), so each new connection to a name goes
/// only to addresses checked in that very resolution — a name that resolved to a public
/// address at creation and to an internal one now (DNS rebinding) reaches nothing. Address
/// literals do not go through a resolver; [`Endpoints::url`] checks them before each request.
pub struct Endpoints {
    allow: Arc<Allow>,
    client: reqwest::Client,
}

impl Endpoints {
    /// The client for `allow` (the operator's `--subscription-allow`).
    pub fn new(allow: &[String]) -> Result<Endpoints, String> {
        let allow = Arc::new(Allow::new(allow));
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .dns_resolver(Arc::new(CheckedResolver {
                allow: allow.clone(),
            }))
            .user_agent(concat!(
                "annuaire/",
                env!("CARGO_PKG_VERSION"),
                " (subscriptions)"
            ))
            .build()
            .map_err(|e| format!("cannot prepare the HTTP client of subscriptions: {e}"))?;
        Ok(Endpoints { allow, client })
    }

    /// The client; send only to URLs [`Endpoints::url`] returned.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Checks `url` before a request: what [`check`] checks, the host's addresses being
    /// checked again by the resolver when the connection is opened.
    pub async fn url(&self, url: &str) -> Result<Url, String> {
        let parsed = parse(url)?;
        let needs_addresses = parsed.domain().is_none()
            || (parsed.scheme() == "http" && !parsed.domain().is_some_and(|n| self.allow.name(n)));
        if needs_addresses {
            let owned = parsed.clone();
            let addresses = tokio::task::spawn_blocking(move || resolve_blocking(&owned))
                .await
                .map_err(|_| "the address lookup was interrupted".to_string())??;
            checked(&parsed, &addresses, &self.allow)?;
        }
        Ok(parsed)
    }
}

/// The resolver of the notifications' client: resolves a name, and answers only if every
/// address is public or allowed (or the name itself is allowed).
struct CheckedResolver {
    allow: Arc<Allow>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lookup = host.clone();
            let addresses: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs())
                    .await
                    .map_err(|_| PolicyError("the address lookup was interrupted".into()))?
                    .map_err(|_| PolicyError(format!("the host `{host}` cannot be resolved")))?
                    .collect();
            if !allow.name(&host) {
                for address in &addresses {
                    refuse_internal(Some(&host), address.ip(), &allow).map_err(PolicyError)?;
                }
            }
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// A refusal of the policy at connection time, as an error reqwest carries to the caller.
#[derive(Debug)]
struct PolicyError(String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

/// Parses a URL and refuses what the policy never accepts whatever the operator allows: not
/// `http`/`https`, no host, user info (credentials in a URL end up in logs; use
/// `channel.header`).
fn parse(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL ({e})"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!(
            "the endpoint must be an https URL, not `{}:`",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the endpoint must not carry a user name or password; send credentials in channel.header (e.g. `Authorization: Bearer …`)".into(),
        );
    }
    if parsed.host().is_none() {
        return Err(format!("`{url}` names no host"));
    }
    Ok(parsed)
}

/// The addresses the URL's host stands for: itself for an address literal, else what the
/// system resolver says (blocking).
fn resolve_blocking(url: &Url) -> Result<Vec<SocketAddr>, String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let host = url.host_str().ok_or("the endpoint names no host")?;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|_| format!("the host `{host}` cannot be resolved"))?
        .collect();
    if addresses.is_empty() {
        return Err(format!("the host `{host}` resolves to no address"));
    }
    Ok(addresses)
}

/// Applies the policy to a parsed URL and the addresses its host resolved to: every address
/// must be public or allowed, and plain `http` needs the host (or every address) allowed.
/// Returns the address to connect to.
fn checked(url: &Url, addresses: &[SocketAddr], allow: &Allow) -> Result<SocketAddr, String> {
    let name = url.domain();
    let name_allowed = name.is_some_and(|name| allow.name(name));
    let shown = url.host_str().unwrap_or_default();
    if !name_allowed {
        for address in addresses {
            refuse_internal(name, address.ip(), allow)?;
        }
    }
    let every_address_allowed = addresses.iter().all(|a| allow.address(a.ip()));
    if url.scheme() == "http" && !name_allowed && !every_address_allowed {
        return Err(format!(
            "the endpoint must use https (`http://{shown}` is allowed only if the server's operator allows that host, --subscription-allow)"
        ));
    }
    addresses
        .first()
        .copied()
        .ok_or_else(|| format!("the host `{shown}` resolves to no address"))
}

/// Refuses `ip` (what `name`, if any, resolved to) when it is internal and not allowed.
fn refuse_internal(name: Option<&str>, ip: IpAddr, allow: &Allow) -> Result<(), String> {
    if allow.address(ip) {
        return Ok(());
    }
    let Some(kind) = internal(ip) else {
        return Ok(());
    };
    Err(match name {
        Some(name) => format!(
            "the host `{name}` resolves to {ip}, a {kind} address; notifications go only to public addresses unless the server's operator allows this one (--subscription-allow)"
        ),
        None => format!(
            "{ip} is a {kind} address; notifications go only to public addresses unless the server's operator allows this one (--subscription-allow)"
        ),
    })
}

/// What kind of non-public address `ip` is, if it is one. IPv6 forms that carry an IPv4
/// address (mapped, compatible, NAT64, 6to4) are judged by the IPv4 address they carry.
pub fn internal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => internal_v4(v4).or_else(|| {
                // `::a.b.c.d` (deprecated) and `::ffff:a.b.c.d` never go on the wire.
                (v6.segments()[..5] == [0; 5]).then_some("IPv4-mapped")
            }),
            None => internal_v6(v6),
        },
    }
}

/// The non-public IPv4 blocks (RFC 6890 and the special-purpose registry), with their kinds.
const V4_BLOCKS: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "\"this network\" (unspecified)"),
    ([10, 0, 0, 0], 8, "private (RFC 1918)"),
    ([100, 64, 0, 0], 10, "shared (carrier-grade NAT, RFC 6598)"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
    ([172, 16, 0, 0], 12, "private (RFC 1918)"),
    ([192, 0, 0, 0], 24, "reserved (IETF protocol assignments)"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "reserved (6to4 relay)"),
    ([192, 168, 0, 0], 16, "private (RFC 1918)"),
    ([198, 18, 0, 0], 15, "reserved (benchmarking)"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved (and broadcast)"),
];

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_BLOCKS
        .iter()
        .find(|(base, bits, _)| in_block(IpAddr::V4(ip), IpAddr::V4(Ipv4Addr::from(*base)), *bits))
        .map(|(_, _, kind)| *kind)
}

/// The non-public IPv6 blocks (those not carrying an IPv4 address), with their kinds.
const V6_BLOCKS: &[(u128, u8, &str)] = &[
    (0, 128, "unspecified"),
    (1, 128, "loopback"),
    (0x0100 << 112, 64, "reserved (discard)"),
    (0x2001_0000 << 96, 32, "reserved (Teredo)"),
    (0x2001_0db8 << 96, 32, "documentation"),
    (0xfc00 << 112, 7, "private (unique local)"),
    (0xfe80 << 112, 10, "link-local"),
    (0xfec0 << 112, 10, "site-local (deprecated)"),
    (0xff00 << 112, 8, "multicast"),
];

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    V6_BLOCKS
        .iter()
        .find(|(base, bits, _)| in_block(IpAddr::V6(ip), IpAddr::V6(Ipv6Addr::from(*base)), *bits))
        .map(|(_, _, kind)| *kind)
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped `::ffff:0:0/96`, IPv4-compatible
/// `::/96` (but not `::` and `::1`), NAT64 `64:ff9b::/96`, 6to4 `2002::/16`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0; 6] && bits > 1 {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Whether `ip` is in the block `base/bits` (of the same family).
fn in_block(ip: IpAddr, base: IpAddr, bits: u8) -> bool {
    match (ip, base) {
        (IpAddr::V4(ip), IpAddr::V4(base)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(base)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

/// One `--subscription-allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Name(String),
    Block(IpAddr, u8),
    Invalid(String),
}

impl Rule {
    fn parse(entry: &str) -> Rule {
        let entry = entry.trim();
        let entry = entry
            .strip_prefix('[')
            .and_then(|e| e.strip_suffix(']'))
            .unwrap_or(entry);
        if let Some((address, bits)) = entry.split_once('/') {
            let Ok(address) = address.parse::<IpAddr>() else {
                return Rule::Invalid(format!("`{address}` is not an IP address"));
            };
            let max = if address.is_ipv4() { 32 } else { 128 };
            return match bits.parse::<u8>() {
                Ok(bits) if bits <= max => Rule::Block(address, bits),
                _ => Rule::Invalid(format!("`/{bits}` is not a prefix length (0 to {max})")),
            };
        }
        if let Ok(address) = entry.parse::<IpAddr>() {
            let bits = if address.is_ipv4() { 32 } else { 128 };
            return Rule::Block(address, bits);
        }
        if entry.is_empty() || entry.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Rule::Invalid("neither a host name nor an IP address".into());
        }
        Rule::Name(normal_name(entry))
    }
}

/// A host name as compared: lower case, without the root's trailing dot.
fn normal_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The operator's allow list, parsed.
struct Allow(Vec<Rule>);

impl Allow {
    fn new(entries: &[String]) -> Allow {
        Allow(entries.iter().map(|e| Rule::parse(e)).collect())
    }

    fn name(&self, name: &str) -> bool {
        let name = normal_name(name);
        self.0
            .iter()
            .any(|rule| matches!(rule, Rule::Name(n) if *n == name))
    }

    /// Whether an address is allowed; an IPv4-mapped IPv6 address counts as its IPv4 one.
    fn address(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|rule| match rule {
            Rule::Block(base, bits) => in_block(ip, *base, *bits),
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    fn refused(url: &str, entries: &[&str]) -> String {
        check(url, &allow(entries)).expect_err(url)
    }

    #[test]
    fn public_https_addresses_are_accepted() {
        check("https://93.184.215.14/notify", &[]).unwrap();
        check("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook", &[]).unwrap();
    }

    #[test]
    fn plain_http_is_refused_unless_allowed() {
        let why = refused("http://93.184.215.14/notify", &[]);
        assert!(why.contains("https"), "{why}");
        check("http://93.184.215.14/notify", &allow(&["93.184.215.0/24"])).unwrap();
    }

    #[test]
    fn other_schemes_and_malformed_urls_are_refused() {
        assert!(refused("ftp://93.184.215.14/x", &[]).contains("https"));
        assert!(refused("not a url", &[]).contains("not a valid URL"));
        assert!(refused("file:///etc/passwd", &["127.0.0.1"]).contains("https"));
    }

    #[test]
    fn user_info_is_refused_even_when_allowed() {
        let why = refused("https://user:secret@127.0.0.1/x", &["127.0.0.1"]);
        assert!(why.contains("user name or password"), "{why}");
        assert!(!why.contains("secret"), "the password is not echoed: {why}");
        refused("https://user@93.184.215.14/x", &[]);
    }

    #[test]
    fn loopback_is_refused_unless_allowed() {
        assert!(refused("https://127.0.0.1/x", &[]).contains("loopback"));
        assert!(refused("https://127.5.6.7:8443/x", &[]).contains("loopback"));
        assert!(refused("https://[::1]/x", &[]).contains("loopback"));
        check("http://127.0.0.1:9/x", &allow(&["127.0.0.1"])).unwrap();
        check("https://[::1]/x", &allow(&["::1"])).unwrap();
    }

    #[test]
    fn a_name_is_judged_by_what_it_resolves_to() {
        // `localhost` resolves to loopback on every system the tests run on.
        assert!(refused("https://localhost/x", &[]).contains("resolves to"));
        check("http://localhost:9/x", &allow(&["localhost"])).unwrap();
        check("http://LOCALHOST:9/x", &allow(&["localhost."])).unwrap();
    }

    #[test]
    fn private_blocks_are_refused() {
        for url in [
            "https://10.0.0.1/x",
            "https://172.16.3.4/x",
            "https://172.31.255.255/x",
            "https://192.168.1.10/x",
            "https://[fd00::1]/x",
            "https://[fc00::5]/x",
        ] {
            assert!(refused(url, &[]).contains("private"), "{url}");
        }
        // Just outside 172.16.0.0/12.
        check("https://172.32.0.1/x", &[]).unwrap();
    }

    #[test]
    fn link_local_and_cloud_metadata_are_refused() {
        assert!(refused("https://169.254.169.254/latest/meta-data/", &[]).contains("link-local"));
        assert!(refused("https://[fe80::1]/x", &[]).contains("link-local"));
        // AWS's IPv6 metadata address is unique-local.
        assert!(refused("https://[fd00:ec2::254]/x", &[]).contains("private"));
    }

    #[test]
    fn unspecified_multicast_cgnat_and_reserved_are_refused() {
        assert!(refused("https://0.0.0.0/x", &[]).contains("unspecified"));
        assert!(refused("https://[::]/x", &[]).contains("unspecified"));
        assert!(refused("https://224.0.0.1/x", &[]).contains("multicast"));
        assert!(refused("https://[ff02::1]/x", &[]).contains("multicast"));
        assert!(refused("https://100.64.0.1/x", &[]).contains("carrier-grade NAT"));
        assert!(refused("https://100.100.100.200/x", &[]).contains("carrier-grade NAT"));
        assert!(refused("https://255.255.255.255/x", &[]).contains("broadcast"));
    }

    #[test]
    fn ipv6_forms_of_internal_ipv4_addresses_are_refused() {
        assert!(refused("https://[::ffff:127.0.0.1]/x", &[]).contains("loopback"));
        assert!(refused("https://[::ffff:10.0.0.1]/x", &[]).contains("private"));
        assert!(refused("https://[::ffff:169.254.169.254]/x", &[]).contains("link-local"));
        assert!(refused("https://[64:ff9b::a00:1]/x", &[]).contains("private"));
        assert!(refused("https://[2002:7f00:1::]/x", &[]).contains("loopback"));
        // A mapped public address never goes on the wire as such.
        assert!(refused("https://[::ffff:93.184.215.14]/x", &[]).contains("IPv4-mapped"));
        // Allowing the IPv4 address allows its mapped form.
        check("http://[::ffff:127.0.0.1]:9/x", &allow(&["127.0.0.1"])).unwrap();
    }

    #[test]
    fn cidr_blocks_allow_what_they_contain_only() {
        let entries = allow(&["10.1.0.0/16"]);
        check("http://10.1.2.3/x", &entries).unwrap();
        assert!(refused("https://10.2.0.1/x", &["10.1.0.0/16"]).contains("private"));
        check("https://[fd12::9]/x", &allow(&["fd12::/16"])).unwrap();
    }

    #[test]
    fn allowed_names_do_not_allow_their_addresses_for_other_names() {
        // Allowing the name `receiver.example` says nothing about 127.0.0.1 reached another way.
        refused("https://127.0.0.1/x", &["receiver.example"]);
    }

    #[test]
    fn the_allow_list_is_checked() {
        check_allow(&allow(&[
            "127.0.0.1",
            "10.0.0.0/8",
            "::1",
            "fd00::/8",
            "hooks.example.org",
        ]))
        .unwrap();
        assert!(
            check_allow(&allow(&["10.0.0.0/33"]))
                .unwrap_err()
                .contains("prefix")
        );
        assert!(
            check_allow(&allow(&["10.0.0/8"]))
                .unwrap_err()
                .contains("IP address")
        );
        assert!(check_allow(&allow(&["300.1.1.1"])).is_err());
    }

    #[tokio::test]
    async fn connections_go_only_to_checked_addresses() {
        // Something listens on loopback; the policy refuses it, at the URL check for an
        // address literal and in the resolver for a name.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let endpoints = Endpoints::new(&[]).unwrap();
        let literal = endpoints
            .url(&format!("https://127.0.0.1:{port}/hook"))
            .await
            .unwrap_err();
        assert!(literal.contains("loopback"), "{literal}");
        // `url` lets an https name through (its addresses are the resolver's to check) ...
        let url = endpoints
            .url(&format!("https://localhost:{port}/hook"))
            .await
            .unwrap();
        // ... and the resolver refuses to connect.
        let error = endpoints.client().post(url).send().await.unwrap_err();
        let chain = error_chain(&error);
        assert!(chain.contains("loopback"), "{chain}");
        // Allowed, the same name resolves (the request then fails for want of TLS, not of
        // the policy).
        let allowed = Endpoints::new(&allow(&["localhost"])).unwrap();
        let url = allowed
            .url(&format!("http://localhost:{port}/hook"))
            .await
            .unwrap();
        assert_eq!(url.port(), Some(port));
    }

    fn error_chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
