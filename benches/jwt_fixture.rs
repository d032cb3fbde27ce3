//! Writes what benches/auth.sh needs into a directory: a freshly drawn RS256 key's JWKS, an
//! `annuaire.toml` accepting it (with the example's restricted elements), and two tokens
//! valid for a day: `token-full` (every type, and the restricted-elements scope) and
//! `token-redacted` (every type, not the restricted scope: answers are redacted).
//!
//!     cargo bench --bench jwt_fixture -- DIR

#[path = "../tests/auth_support/mod.rs"]
mod auth_support;

use auth_support::{AUDIENCE, ISSUER, SigningKey, claims, jwks, now};
use jsonwebtoken::Algorithm;

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .expect("usage: jwt_fixture DIR");
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create the fixture directory");
    let key = SigningKey::rsa("bench-rs256", Algorithm::RS256);
    std::fs::write(dir.join("jwks.json"), jwks(&[&key])).expect("write jwks.json");
    let config = format!(
        r#"[auth]
[auth.jwt]
jwks = "jwks.json"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
algorithms = ["RS256"]

[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom"]
scope = "annuaire/restricted.read"
"#
    );
    std::fs::write(dir.join("annuaire.toml"), config).expect("write annuaire.toml");
    for (name, scope) in [
        ("token-full", "system/*.rs annuaire/restricted.read"),
        ("token-redacted", "system/*.rs"),
    ] {
        let mut c = claims("bench-client", scope);
        c["exp"] = serde_json::json!(now() + 86_400);
        std::fs::write(dir.join(name), key.sign(&c)).expect("write a token");
    }
}
