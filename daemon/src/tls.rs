//! TLS for chatd's listeners: the certificate it presents ([`identity`]), the rustls
//! configuration built from it ([`Tls`]), and each encrypted connection ([`session`]).
//!
//! A listener marked TLS wraps every connection it accepts in a [`Session`] before the core
//! sees a byte; the core itself knows nothing of TLS. The core learns of the connection when
//! it is accepted, as with plain text, so its rules hold for handshakes too: the connection
//! takes a slot (`--max-clients`), and one that has not joined (handshake included) within
//! `--join-timeout` is closed. Its greeting waits in its queue until the handshake is done.
//!
//! rustls runs on the `ring` crypto provider, which builds with a C compiler alone.
//! Resumption is off (no session cache, no tickets): a chat client connects once and stays.

pub mod identity;
pub mod session;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chat_core::fingerprint::Fingerprint;
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;

pub use identity::{Identity, IdentityError, Origin};
pub use session::{Decrypted, Session, SessionError};

/// Where chatd's certificate and key come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// The operator's files (`--tls-cert`, `--tls-key`; the same file may hold both).
    Files {
        /// The certificate chain, PEM.
        cert: PathBuf,
        /// The private key, PEM; not readable by others.
        key: PathBuf,
    },
    /// Made at first start and kept in this state directory.
    StateDir(PathBuf),
    /// Made in memory for this run (no state directory): for tests.
    Ephemeral,
}

/// What a listener advertises about TLS (for mDNS and the logs): a port and the fingerprint a
/// client should see there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsAdvert {
    /// The TCP port of the (first) native TLS listener.
    pub port: u16,
    /// The SHA-256 fingerprint of the certificate chatd presents now.
    pub fingerprint: Fingerprint,
}

/// Hands every client the one certificate chatd has.
#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// chatd's TLS state: the identity in use and the rustls configuration new connections get.
pub struct Tls {
    source: CertSource,
    identity: Identity,
    config: Arc<ServerConfig>,
    /// Whether the identity was made during this start (for the log).
    made_now: bool,
    /// Why the certificate is not kept, if it could not be written to the state directory.
    not_kept: Option<String>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("fingerprint", &self.identity.fingerprint)
            .field("origin", &self.identity.origin)
            .finish_non_exhaustive()
    }
}

/// Why TLS could not be set up.
#[derive(Debug)]
pub enum TlsError {
    /// The certificate or key is unusable.
    Identity(IdentityError),
    /// rustls refused the configuration (an unusable key type, say).
    Config(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Identity(e) => write!(f, "{e}"),
            TlsError::Config(e) => write!(f, "cannot configure TLS: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<IdentityError> for TlsError {
    fn from(e: IdentityError) -> Self {
        TlsError::Identity(e)
    }
}

/// Build the rustls server configuration chatd uses for `identity`.
fn server_config(identity: &Identity) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(identity::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(OneCert(Arc::clone(&identity.certified))));
    config.max_fragment_size = Some(session::MAX_FRAGMENT);
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

/// Load the identity `source` names (making and keeping one in a state directory if needed).
fn load(source: &CertSource) -> Result<(Identity, bool), IdentityError> {
    match source {
        CertSource::Files { cert, key } => identity::from_files(cert, key).map(|i| (i, false)),
        CertSource::StateDir(dir) => identity::generated(dir),
        CertSource::Ephemeral => identity::ephemeral().map(|i| (i, true)),
    }
}

/// Return the identity `source` names without making one: for `chatd --fingerprint`.
pub fn existing(source: &CertSource) -> Result<Identity, IdentityError> {
    match source {
        CertSource::Files { cert, key } => identity::from_files(cert, key),
        CertSource::StateDir(dir) => identity::load_generated(dir),
        CertSource::Ephemeral => identity::ephemeral(),
    }
}

impl Tls {
    /// Load (or make) the identity and build the configuration.
    ///
    /// A state directory where the new certificate cannot be written (say chatd runs by hand
    /// as a user who cannot write `/var/lib/chatd`) does not stop chatd: it uses a certificate
    /// for this run only and says so ([`Tls::warning`]). Every other problem is an error.
    pub fn new(source: CertSource) -> Result<Tls, TlsError> {
        let (identity, made_now, not_kept) = match load(&source) {
            Ok((identity, made_now)) => (identity, made_now, None),
            Err(IdentityError::Write(file, e)) => {
                let why = format!(
                    "tls-certificate-not-kept file={} error=\"{e}\"; using a certificate for this \
                     run only (clients will see another one after a restart)",
                    file.display()
                );
                (identity::ephemeral()?, true, Some(why))
            }
            Err(e) => return Err(e.into()),
        };
        let config = server_config(&identity).map_err(TlsError::Config)?;
        Ok(Tls {
            source,
            identity,
            config,
            made_now,
            not_kept,
        })
    }

    /// Return the warning to log when the certificate could not be kept.
    pub fn warning(&self) -> Option<&str> {
        self.not_kept.as_deref()
    }

    /// Return the fingerprint of the certificate presented now.
    pub fn fingerprint(&self) -> Fingerprint {
        self.identity.fingerprint
    }

    /// Return the identity in use.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Return the line logged at start: the fingerprint and where the certificate is.
    pub fn describe(&self) -> String {
        let fp = self.identity.fingerprint;
        match &self.identity.origin {
            Origin::Files { cert, key } => format!(
                "tls-certificate fingerprint={fp} cert={} key={}",
                cert.display(),
                key.display()
            ),
            Origin::Generated(file) if self.made_now => {
                format!(
                    "tls-certificate fingerprint={fp} file={} made=now",
                    file.display()
                )
            }
            Origin::Generated(file) => {
                format!("tls-certificate fingerprint={fp} file={}", file.display())
            }
            Origin::Ephemeral => format!("tls-certificate fingerprint={fp} kept=no"),
        }
    }

    /// Start a session for a new connection.
    pub fn session(&self) -> Result<Session, rustls::Error> {
        Session::new(Arc::clone(&self.config))
    }

    /// Re-read the operator's certificate and key (SIGHUP). On success new connections get
    /// the new pair (open ones keep theirs) and the new fingerprint is returned; on error the
    /// old pair stays. `Ok(None)`: nothing to re-read (a generated certificate).
    pub fn reload(&mut self) -> Result<Option<Fingerprint>, TlsError> {
        if !matches!(self.source, CertSource::Files { .. }) {
            return Ok(None);
        }
        let (identity, _) = load(&self.source)?;
        let config = server_config(&identity).map_err(TlsError::Config)?;
        self.identity = identity;
        self.config = config;
        Ok(Some(self.identity.fingerprint))
    }

    /// Return the files to name in logs about a reload.
    pub fn files(&self) -> Option<(&Path, &Path)> {
        match &self.source {
            CertSource::Files { cert, key } => Some((cert, key)),
            _ => None,
        }
    }
}
