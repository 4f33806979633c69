//! TLS for the test [`Client`](crate::Client): a rustls client that takes any certificate
//! and lets the test look at it ([`Client::tls_fingerprint`](crate::Client::tls_fingerprint)),
//! since the tests check fingerprints themselves.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use chat_core::fingerprint::{Fingerprint, LEN};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

/// Accepts every certificate whose signature on the handshake checks out.
#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Return a client configuration that accepts any certificate whose handshake signature checks
/// out: for the tests, which look at fingerprints themselves, and for chat-bench, which measures
/// the server's cost and checks nothing.
pub fn any_cert_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Start a client connection that accepts any certificate.
pub(crate) fn client_connection() -> ClientConnection {
    let config = any_cert_config().expect("TLS versions");
    let name = ServerName::try_from("localhost").expect("a server name");
    ClientConnection::new(config, name).expect("a TLS client")
}

/// Return the SHA-256 fingerprint of a certificate (its DER bytes).
pub fn fingerprint(cert: &[u8]) -> Fingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    let mut out = [0u8; LEN];
    out.copy_from_slice(digest.as_ref());
    Fingerprint(out)
}

/// Run a TLS handshake (any certificate accepted) with `addr` over `stream`; panic if it fails
/// within [`WAIT`](crate::WAIT).
pub(crate) fn handshake(stream: &mut TcpStream, addr: SocketAddr) -> ClientConnection {
    let mut tls = client_connection();
    let end = Instant::now() + crate::WAIT;
    while tls.is_handshaking() {
        while tls.wants_write() {
            tls.write_tls(stream).expect("send the TLS handshake");
        }
        if !tls.is_handshaking() {
            break;
        }
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no TLS handshake with {addr} in time");
        stream
            .set_read_timeout(Some(left))
            .expect("set a read timeout");
        match tls.read_tls(stream) {
            Ok(0) => panic!("{addr} closed the connection during the TLS handshake"),
            Ok(_) => {}
            Err(e) => panic!("TLS handshake with {addr}: {e}"),
        }
        if let Err(e) = tls.process_new_packets() {
            panic!("TLS handshake with {addr}: {e}");
        }
    }
    while tls.wants_write() {
        tls.write_tls(stream).expect("send the TLS handshake");
    }
    tls
}
