//! The crypto chatc links: rustls's `ring` algorithms, as few as a TLS 1.3 client of chatd
//! needs, so that the binary stays small (issue 15: under 1.5 MiB stripped).
//!
//! rustls's own `ring` provider brings every cipher suite (TLS 1.2 ones too), every key
//! exchange group, and a key provider that can load and sign with RSA, ECDSA and Ed25519 keys:
//! a client without client certificates never signs, but the provider's tables keep all of it
//! linked. This one has what TLS 1.3 requires every server to offer (RFC 8446, section 9.1):
//! the AES-128-GCM suite and P-256 key exchange (whose tables ECDSA P-256 checks need
//! anyway; X25519 would add its own, and ChaCha20 about 50 KiB of code). chatd offers those
//! and more. It checks every signature webpki can (servers may show RSA or ECDSA
//! certificates, signed by any CA), takes ring's random numbers, and loads no key.

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

/// Every signature webpki checks with ring, as rustls's ring provider lists them.
static SIGNATURES: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algs::ECDSA_P256_SHA256,
        algs::ECDSA_P256_SHA384,
        algs::ECDSA_P384_SHA256,
        algs::ECDSA_P384_SHA384,
        algs::ED25519,
        algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        algs::RSA_PKCS1_2048_8192_SHA256,
        algs::RSA_PKCS1_2048_8192_SHA384,
        algs::RSA_PKCS1_2048_8192_SHA512,
        algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[algs::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[algs::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[algs::RSA_PKCS1_2048_8192_SHA384],
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
    fn it_checks_what_rustls_s_own_ring_provider_checks() {
        let ours = provider();
        let theirs = rustls::crypto::ring::default_provider();
        assert_eq!(
            ours.signature_verification_algorithms.supported_schemes(),
            theirs.signature_verification_algorithms.supported_schemes()
        );
        assert!(ours.cipher_suites.iter().all(|s| s.tls13().is_some()));
        let mut key = [0u8; 16];
        assert!(ours.secure_random.fill(&mut key).is_ok() && key != [0; 16]);
    }
}
