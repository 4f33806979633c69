//! The crypto chatc links: rustls's `ring` algorithms, no more than what TLS 1.3 makes every
//! implementation support (RFC 8446, section 9.1), so that the binary stays small (issue 15:
//! under 1.5 MiB stripped; it is within a few KiB of that).
//!
//! rustls's own `ring` provider brings every cipher suite (TLS 1.2 ones too), every key
//! exchange group, every signature, and a key provider that can load and sign with RSA, ECDSA
//! and Ed25519 keys: a client without client certificates never signs, but the provider's
//! tables keep all of it linked. This one has the mandatory cipher suite (AES-128-GCM with
//! SHA-256), the mandatory group (P-256, whose tables the ECDSA P-256 checks need anyway;
//! X25519 would add its own, ChaCha20 about 50 KiB), and the mandatory signatures: ECDSA P-256
//! and RSA (PKCS#1 v1.5 and PSS) with SHA-256, which cover chatd's own certificates and those of
//! most CAs. Not here, measured: P-384 (35 KiB), Ed25519 and the SHA-384/512 variants (20
//! KiB together). chatd offers all of those and more. Random numbers come from ring; no key is
//! ever loaded.

use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::{
    CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use rustls::SignatureScheme;
use webpki::ring as algs;

/// Random numbers from the system, through ring.
#[derive(Debug)]
struct SystemRandom;

impl SecureRandom for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| GetRandomFailed)
    }
}

/// chatc has no client certificate, so it loads no private key.
#[derive(Debug)]
struct NoKeys;

impl KeyProvider for NoKeys {
    fn load_private_key(
        &self,
        _key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "chatc uses no client certificate".into(),
        ))
    }
}

/// The signatures TLS 1.3 requires every implementation to check (RFC 8446, section 9.1).
static SIGNATURES: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algs::ECDSA_P256_SHA256,
        algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algs::RSA_PKCS1_2048_8192_SHA256,
    ],
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[algs::ECDSA_P256_SHA256],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[algs::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

/// Return chatc's crypto provider.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: vec![cipher_suite::TLS13_AES_128_GCM_SHA256],
        kx_groups: vec![kx_group::SECP256R1],
        signature_verification_algorithms: SIGNATURES,
        secure_random: &SystemRandom,
        key_provider: &NoKeys,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn it_has_what_tls13_requires_of_every_implementation() {
        let ours = provider();
        let mut schemes = ours.signature_verification_algorithms.supported_schemes();
        schemes.sort_by_key(|s| u16::from(*s));
        assert_eq!(
            schemes,
            [
                SignatureScheme::RSA_PKCS1_SHA256,
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureScheme::RSA_PSS_SHA256,
            ]
        );
        assert_eq!(
            ours.cipher_suites
                .iter()
                .map(|s| s.suite())
                .collect::<Vec<_>>(),
            [rustls::CipherSuite::TLS13_AES_128_GCM_SHA256]
        );
        assert_eq!(
            ours.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>(),
            [rustls::NamedGroup::secp256r1]
        );
        let mut key = [0u8; 16];
        assert!(ours.secure_random.fill(&mut key).is_ok() && key != [0; 16]);
    }
}
