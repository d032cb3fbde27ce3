//! Keys and tokens made by the tests themselves: RSA and EC P-256 key pairs drawn at run time
//! with aws-lc-rs, their public halves as a JWKS file, and JWTs signed with jsonwebtoken.
//! Shared by the access-control tests and the JWT benchmark.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://auth.example.test/realms/annuaire";
pub const AUDIENCE: &str = "annuaire";

/// A signing key and its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
    /// The public key as DER (SubjectPublicKeyInfo), what an attacker could use as an HMAC
    /// secret.
    pub public_der: Vec<u8>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl SigningKey {
    /// A fresh RSA 2048 key for RS256 or PS256.
    pub fn rsa(kid: &str, algorithm: Algorithm) -> SigningKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("PKCS#8");
        let encoding = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes())
            .expect("jsonwebtoken reads the PKCS#8 PEM");
        let public_der = {
            use aws_lc_rs::signature::KeyPair;
            let public = pair.public_key();
            AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(public)
                .expect("public DER")
                .as_ref()
                .to_vec()
        };
        SigningKey::finish(kid, algorithm, encoding, public_der)
    }

    /// A fresh EC P-256 key for ES256.
    pub fn ec(kid: &str) -> SigningKey {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate an EC key");
        let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("read back the EC key");
        let public_der = {
            use aws_lc_rs::signature::KeyPair;
            pair.public_key().as_ref().to_vec()
        };
        SigningKey::finish(kid, Algorithm::ES256, encoding, public_der)
    }

    fn finish(
        kid: &str,
        algorithm: Algorithm,
        encoding: EncodingKey,
        public_der: Vec<u8>,
    ) -> SigningKey {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).expect("public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        SigningKey {
            kid: kid.to_owned(),
            algorithm,
            encoding,
            jwk,
            public_der,
        }
    }

    /// A token signed with this key, its header naming this key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// The JWKS document holding the public halves of `keys`.
pub fn jwks(keys: &[&SigningKey]) -> String {
    let set = JwkSet {
        keys: keys.iter().map(|k| k.jwk.clone()).collect(),
    };
    serde_json::to_string_pretty(&set).expect("JWKS serializes")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Claims of a valid token for an hour from now (the system clock), granting `scope`.
pub fn claims(subject: &str, scope: &str) -> Value {
    claims_at(subject, scope, now())
}

/// Claims of a token valid for an hour from `now` (seconds since the epoch: a server's clock,
/// which may be a test's), granting `scope`.
pub fn claims_at(subject: &str, scope: &str, now: u64) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 3600,
        "scope": scope,
        "SubjectNameID": "810000000001",
        "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"],
    })
}

/// base64url without padding, for hand-made tokens.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
