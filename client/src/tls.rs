//! TLS to chatd: how chatc decides to trust a server's certificate, and the handshake.
//!
//! Three ways to trust, one per connection:
//!
//! - *Trust on first use* (`--tls` alone): the first contact with a server shows its
//!   fingerprint and remembers it in [`crate::known_hosts`]; later contacts must show the same
//!   one, or chatc refuses with both fingerprints and the command that accepts the new one.
//! - *A pinned fingerprint* (`--fingerprint SHA256:…`, what the admin hands out): only that
//!   certificate; a success is remembered like a first contact.
//! - *A CA* (`--ca-file FILE`): a certificate that chains to one in FILE and names the host.
//!
//! Pinned and first-use certificates are not checked for names or dates (a chatd makes its
//! own, for no particular name); the handshake's signature is always checked, so the server
//! holds the key of the certificate it shows. chatc uses rustls's buffered API on the `ring`
//! provider: the client is not a relay, and its size matters more than a copy.

use std::fmt;
use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_core::fingerprint::{Fingerprint, LEN};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme,
};

use crate::error::Error;
use crate::known_hosts::KnownHosts;

mod ca;
mod provider;

/// The port of chatd's TLS listener when none is given.
pub const DEFAULT_TLS_PORT: u16 = 5001;

/// How a connection is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// Plain text; refused to a host chatc has spoken TLS to unless `forced` (`--no-tls`).
    Plain {
        /// `--no-tls` was given: plain text even where TLS was used before.
        forced: bool,
    },
    /// TLS, trusting as [`Trust`] says.
    Tls(Trust),
}

impl Default for Security {
    fn default() -> Self {
        Security::Plain { forced: false }
    }
}

/// How chatc decides to trust the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Trust on first use, through `known_hosts`.
    FirstUse,
    /// This fingerprint only (`--fingerprint`).
    Pinned(Fingerprint),
    /// A certificate signed by a CA in this file (`--ca-file`).
    Ca(PathBuf),
}

/// Return the SHA-256 fingerprint of a certificate.
pub fn fingerprint(cert: &CertificateDer<'_>) -> Fingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let mut out = [0u8; LEN];
    out.copy_from_slice(digest.as_ref());
    Fingerprint(out)
}

/// What the server's certificate must be; [`Verifier`] checks the handshake's signature alike
/// for both.
enum Check {
    /// A fingerprint, or anything on first contact (pinned and first-use trust).
    Pin(Arc<Pin>),
    /// A chain to a CA of `--ca-file`, naming the host.
    Ca(ca::CaVerifier),
}

/// chatc's one certificate verifier: the certificate as its [`Check`] says, the
/// handshake's signature with the provider's algorithms, so that the server holds the key of
/// the certificate it shows.
struct Verifier {
    provider: Arc<CryptoProvider>,
    check: Check,
}

// Written by hand: a derived one would print the whole crypto provider, and link all of its
// descriptions into chatc (which must stay small).
impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier")
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.check {
            Check::Pin(pin) => pin.check(end_entity)?,
            Check::Ca(ca) => ca.check(
                &self.provider.signature_verification_algorithms,
                end_entity,
                intermediates,
                server_name,
                now,
            )?,
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What the certificate must be (by fingerprint), and what it was.
struct Pin {
    /// `None`: first contact, anything goes.
    expect: Option<Fingerprint>,
    seen: Mutex<Option<Fingerprint>>,
}

impl Pin {
    /// Remember the certificate's fingerprint; refuse it if it is not the one expected.
    fn check(&self, end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        let fp = fingerprint(end_entity);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fp);
        }
        match self.expect {
            Some(want) if want != fp => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            _ => Ok(()),
        }
    }
}

/// A finished handshake: the connection, and what to tell the user about it.
pub struct Handshake {
    /// The TLS connection, ready for application data.
    pub conn: ClientConnection,
    /// A first contact's fingerprint and where it was remembered, for the user to check.
    pub notice: Option<String>,
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("notice", &self.notice)
            .finish_non_exhaustive()
    }
}

/// Read the CA certificates of `path` and make a verifier that trusts them.
fn ca_verifier(path: &PathBuf) -> Result<ca::CaVerifier, Error> {
    let bad = |why: String| Error::CaFile {
        path: path.display().to_string(),
        why,
    };
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    ca::CaVerifier::new(&certs).map_err(|e| bad(e.to_string()))
}

/// Run a TLS handshake with `host` (`target` is `HOST:PORT`, as shown and as remembered) over
/// `stream`, trusting as `trust` says; wait at most `timeout` for the server.
pub fn handshake(
    stream: &TcpStream,
    host: &str,
    target: &str,
    trust: &Trust,
    timeout: Duration,
) -> Result<Handshake, Error> {
    let provider = provider::provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error(target, &e))?;
    let mut known = KnownHosts::load(crate::known_hosts::default_path());
    let pinned = |expect| {
        let pin = Arc::new(Pin {
            expect,
            seen: Mutex::new(None),
        });
        (Check::Pin(Arc::clone(&pin)), Some(pin))
    };
    let (check, pin) = match trust {
        Trust::Ca(path) => (Check::Ca(ca_verifier(path)?), None),
        Trust::Pinned(fp) => pinned(Some(*fp)),
        Trust::FirstUse => pinned(known.get(target)),
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier {
            provider: Arc::clone(&provider),
            check,
        }))
        .with_no_client_auth();
    let name = match ServerName::try_from(host.to_string()) {
        Ok(n) => n,
        // Pinned and first-use certificates are not checked for names: any name will do.
        Err(_) if !matches!(trust, Trust::Ca(_)) => {
            ServerName::try_from("chatd.invalid").map_err(|e| tls_error(target, &e))?
        }
        Err(e) => return Err(tls_error(target, &e)),
    };
    let mut conn =
        ClientConnection::new(Arc::new(config), name).map_err(|e| tls_error(target, &e))?;
    stream.set_read_timeout(Some(timeout))?;
    let result = drive(&mut conn, &mut &*stream);
    stream.set_read_timeout(None)?;
    let seen = pin
        .as_ref()
        .and_then(|p| p.seen.lock().ok().and_then(|s| *s));
    if let Err(e) = result {
        if let (Some(pin), Some(seen)) = (&pin, seen) {
            if let Some(want) = pin.expect.filter(|&w| w != seen) {
                return Err(Error::CertChanged {
                    target: target.to_string(),
                    host: host.to_string(),
                    expected: want,
                    seen,
                    pinned: matches!(trust, Trust::Pinned(_)),
                });
            }
        }
        // A plain-text server's first words (`HELLO`, `BYE`) are no TLS record type.
        if matches!(
            e,
            Stop::Tls(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
        ) {
            return Err(Error::NotTls {
                target: target.to_string(),
            });
        }
        return Err(match e {
            Stop::Tls(e) => Error::Tls {
                target: target.to_string(),
                why: describe(&e).to_string(),
            },
            Stop::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Error::Timeout {
                    target: target.to_string(),
                }
            }
            Stop::Io(_) | Stop::Eof => Error::Lost {
                target: target.to_string(),
            },
        });
    }
    if conn.is_handshaking() {
        return Err(Error::Timeout {
            target: target.to_string(),
        });
    }
    let shown = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(fingerprint);
    let mut notice = None;
    if let Some(fp) = shown {
        let first = matches!(trust, Trust::FirstUse) && known.get(target).is_none();
        let changed = known.get(target) != Some(fp);
        if changed {
            let saved = known.remember(target, fp);
            if first {
                let place = known
                    .path()
                    .map_or_else(|| "nowhere".to_string(), |p| p.display().to_string());
                notice = Some(match saved {
                    Ok(()) => format!(
                        "first TLS contact with {target}: its certificate is {fp}; \
                         remembered in {place}. Check it with the server's admin \
                         (chatd --fingerprint)."
                    ),
                    Err(e) => format!(
                        "first TLS contact with {target}: its certificate is {fp}; \
                         could not remember it in {place}: {e}"
                    ),
                });
            }
        }
    }
    Ok(Handshake { conn, notice })
}

/// Make a TLS error for `target` from a setup failure (which the settings rule out).
fn tls_error(target: &str, _e: &dyn std::error::Error) -> Error {
    Error::Tls {
        target: target.to_string(),
        why: "cannot set up TLS".to_string(),
    }
}

/// Why a handshake stopped.
enum Stop {
    /// The socket failed (or timed out).
    Io(io::Error),
    /// The server closed the connection.
    Eof,
    /// rustls refused what the server sent (an alert for the server is sent first).
    Tls(rustls::Error),
}

/// Run the handshake to its end over `io`: write what rustls has, read, process, a bounded
/// number of rounds (each read waits at most the socket's read timeout).
fn drive(conn: &mut ClientConnection, io: &mut &TcpStream) -> Result<(), Stop> {
    for _ in 0..64 {
        while conn.wants_write() {
            conn.write_tls(io).map_err(Stop::Io)?;
        }
        if !conn.is_handshaking() {
            return Ok(());
        }
        match conn.read_tls(io) {
            Ok(0) => return Err(Stop::Eof),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stop::Io(e)),
        }
        if let Err(e) = conn.process_new_packets() {
            while conn.wants_write() {
                if conn.write_tls(io).is_err() {
                    break;
                }
            }
            return Err(Stop::Tls(e));
        }
    }
    Err(Stop::Io(io::ErrorKind::TimedOut.into()))
}

/// Say in words why rustls refused a handshake. (Written out rather than printed by rustls, so
/// that its long error texts stay out of chatc's binary.)
fn describe(e: &rustls::Error) -> &'static str {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "its certificate is not signed by a CA of the --ca-file"
        }
        E::InvalidCertificate(CertificateError::NotValidForName) => {
            "its certificate does not name this host"
        }
        E::InvalidCertificate(CertificateError::Expired) => "its certificate has expired",
        E::InvalidCertificate(CertificateError::NotValidYet) => "its certificate is not valid yet",
        E::InvalidCertificate(_) => "its certificate was refused",
        E::AlertReceived(_) => "the server refused the handshake",
        E::PeerIncompatible(_) => "the server offers no TLS 1.3 cipher or group chatc knows",
        E::PeerMisbehaved(_) => "the server broke the TLS protocol",
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => "the server did not answer in TLS",
        _ => "the TLS handshake failed",
    }
}
