//! The certificate and key chatd presents: the operator's own (`--tls-cert`, `--tls-key`), or
//! one chatd makes at first start and keeps in its state directory.
//!
//! The generated identity is an ECDSA P-256 key and a self-signed certificate (made with
//! rcgen on the same `ring` crypto as rustls) in one PEM file, [`GENERATED_FILE`], created
//! with mode 0600 through a temporary file and a rename, so a crash leaves the old file or the
//! new one, never half of a pair. It never expires and is kept across restarts and upgrades:
//! clients remember its fingerprint. A key file that others may read or write is refused, as
//! is anything that is not a regular file; every problem is one [`IdentityError`] naming the
//! file.

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chat_core::fingerprint::Fingerprint;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::files::{self, FileError, Links};

/// The file in the state directory that holds the generated key and certificate.
pub const GENERATED_FILE: &str = "tls.pem";

/// The most a certificate or key file may hold (a long chain is a few kilobytes).
const MAX_PEM: u64 = 256 * 1024;

/// Permission bits that must be clear on a key file: read and write for others.
const OTHERS_RW: u32 = 0o006;

/// Where an identity came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The operator's files, re-read on SIGHUP.
    Files {
        /// The certificate chain (PEM).
        cert: PathBuf,
        /// The private key (PEM).
        key: PathBuf,
    },
    /// Made by chatd and kept in this file of its state directory.
    Generated(PathBuf),
    /// Made by chatd for this run only (no state directory): clients see a new one each time.
    Ephemeral,
}

/// A certificate chain with its private key, ready for rustls, and its fingerprint.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The chain and the signing key.
    pub certified: Arc<CertifiedKey>,
    /// The SHA-256 fingerprint of the end-entity certificate.
    pub fingerprint: Fingerprint,
    /// Where it came from.
    pub origin: Origin,
}

/// What is wrong with a certificate or key, always naming the file.
#[derive(Debug)]
pub enum IdentityError {
    /// The file could not be read (or is not a regular file, or is too big).
    Read(PathBuf, FileError),
    /// The key file may be read or written by others (its mode is given).
    KeyExposed(PathBuf, u32),
    /// The file holds no PEM certificate.
    NoCertificate(PathBuf),
    /// The file holds no PEM private key.
    NoKey(PathBuf),
    /// The PEM text is malformed.
    BadPem(PathBuf, pem::Error),
    /// rustls cannot use the key (an unsupported or broken key).
    BadKey(PathBuf, rustls::Error),
    /// The key does not belong to the certificate.
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// No generated certificate exists yet (for `chatd --fingerprint`).
    NotYetMade(PathBuf),
    /// Making a certificate failed.
    Generate(rcgen::Error),
    /// Writing the generated file failed.
    Write(PathBuf, io::Error),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Read(p, e) => write!(f, "cannot read TLS file {}: {e}", p.display()),
            IdentityError::KeyExposed(p, mode) => write!(
                f,
                "TLS key file {} may be read by others (mode {mode:04o}); chmod 600 it",
                p.display()
            ),
            IdentityError::NoCertificate(p) => {
                write!(f, "TLS file {} holds no PEM certificate", p.display())
            }
            IdentityError::NoKey(p) => {
                write!(f, "TLS file {} holds no PEM private key", p.display())
            }
            IdentityError::BadPem(p, e) => {
                write!(f, "TLS file {} is not valid PEM: {e}", p.display())
            }
            IdentityError::BadKey(p, e) => {
                write!(f, "TLS key file {} is not a usable key: {e}", p.display())
            }
            IdentityError::Mismatch { cert, key } => write!(
                f,
                "TLS key file {} does not belong to the certificate in {}",
                key.display(),
                cert.display()
            ),
            IdentityError::NotYetMade(p) => write!(
                f,
                "no TLS certificate yet: chatd makes {} at its first start with TLS on",
                p.display()
            ),
            IdentityError::Generate(e) => write!(f, "cannot make a TLS certificate: {e}"),
            IdentityError::Write(p, e) => {
                write!(f, "cannot write TLS file {}: {e}", p.display())
            }
        }
    }
}

impl std::error::Error for IdentityError {}

/// Return the crypto chatd and its certificates use: rustls's `ring` provider.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Read a regular file of at most [`MAX_PEM`] bytes; with `private`, refuse it if others may
/// read or write it.
fn read_pem(path: &Path, links: Links, private: bool) -> Result<Vec<u8>, IdentityError> {
    let err = |e| IdentityError::Read(path.to_path_buf(), e);
    let (file, size) = files::open_regular(path, links).map_err(err)?;
    if private {
        let mode = file
            .metadata()
            .map_err(|e| err(FileError::Open(e)))?
            .permissions()
            .mode();
        if mode & OTHERS_RW != 0 {
            return Err(IdentityError::KeyExposed(path.to_path_buf(), mode & 0o7777));
        }
    }
    if size > MAX_PEM {
        return Err(err(FileError::TooLarge {
            size,
            limit: MAX_PEM,
        }));
    }
    let mut bytes = Vec::new();
    file.take(MAX_PEM + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(FileError::Read(e)))?;
    if bytes.len() as u64 > MAX_PEM {
        return Err(err(FileError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_PEM,
        }));
    }
    Ok(bytes)
}

/// Read every certificate of a PEM text, in order.
fn certificates(
    path: &Path,
    pem_text: &[u8],
) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let certs = CertificateDer::pem_slice_iter(pem_text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| IdentityError::BadPem(path.to_path_buf(), e))?;
    if certs.is_empty() {
        return Err(IdentityError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// Read the first private key of a PEM text (PKCS#8, PKCS#1 or SEC1).
fn private_key(path: &Path, pem_text: &[u8]) -> Result<PrivateKeyDer<'static>, IdentityError> {
    PrivateKeyDer::from_pem_slice(pem_text).map_err(|e| match e {
        pem::Error::NoItemsFound => IdentityError::NoKey(path.to_path_buf()),
        e => IdentityError::BadPem(path.to_path_buf(), e),
    })
}

/// Return the SHA-256 fingerprint of a certificate.
pub fn fingerprint_of(cert: &CertificateDer<'_>) -> Fingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let mut out = [0u8; chat_core::fingerprint::LEN];
    out.copy_from_slice(digest.as_ref());
    Fingerprint(out)
}

/// Pair a chain with its key, checking that the key belongs to the first certificate.
fn pair(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
    origin: Origin,
) -> Result<Identity, IdentityError> {
    let fingerprint = certs
        .first()
        .map(fingerprint_of)
        .ok_or_else(|| IdentityError::NoCertificate(cert_path.to_path_buf()))?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| IdentityError::BadKey(key_path.to_path_buf(), e))?;
    let certified = CertifiedKey::new(certs, signing);
    match certified.keys_match() {
        Ok(()) => {}
        // A certificate whose public key rustls cannot read cannot be checked against the key.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(_) => {
            return Err(IdentityError::Mismatch {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
            })
        }
    }
    Ok(Identity {
        certified: Arc::new(certified),
        fingerprint,
        origin,
    })
}

/// Load the operator's certificate chain and key. The key file must not be readable by others.
/// Both may be the same file.
pub fn from_files(cert: &Path, key: &Path) -> Result<Identity, IdentityError> {
    let cert_pem = read_pem(cert, Links::Follow, false)?;
    let key_pem = read_pem(key, Links::Follow, true)?;
    let certs = certificates(cert, &cert_pem)?;
    let private = private_key(key, &key_pem)?;
    let origin = Origin::Files {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
    };
    pair(certs, private, cert, key, origin)
}

/// Load the generated identity kept in `state_dir`, without making one.
pub fn load_generated(state_dir: &Path) -> Result<Identity, IdentityError> {
    let file = state_dir.join(GENERATED_FILE);
    let text = match read_pem(&file, Links::Refuse, true) {
        Err(IdentityError::Read(p, e)) if e.is_not_found() => {
            return Err(IdentityError::NotYetMade(p))
        }
        other => other?,
    };
    let certs = certificates(&file, &text)?;
    let key = private_key(&file, &text)?;
    pair(certs, key, &file, &file, Origin::Generated(file.clone()))
}

/// Load the identity kept in `state_dir`, or make and keep one if there is none; the flag
/// says whether it is new.
pub fn generated(state_dir: &Path) -> Result<(Identity, bool), IdentityError> {
    match load_generated(state_dir) {
        Err(IdentityError::NotYetMade(file)) => {
            let pem_text = make_pem()?;
            write_private(state_dir, &file, pem_text.as_bytes())?;
            Ok((load_generated(state_dir)?, true))
        }
        other => other.map(|i| (i, false)),
    }
}

/// Make an identity held in memory only, for a daemon without a state directory.
pub fn ephemeral() -> Result<Identity, IdentityError> {
    let text = make_pem()?;
    let here = Path::new("(generated in memory)");
    let certs = certificates(here, text.as_bytes())?;
    let key = private_key(here, text.as_bytes())?;
    pair(certs, key, here, here, Origin::Ephemeral)
}

/// Make a new ECDSA P-256 key and a self-signed certificate for it, as one PEM text.
fn make_pem() -> Result<String, IdentityError> {
    let key = rcgen::KeyPair::generate().map_err(IdentityError::Generate)?;
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    let mut params = rcgen::CertificateParams::new(vec![host.clone(), "localhost".to_string()])
        .map_err(IdentityError::Generate)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("chatd on {host}"));
    let cert = params.self_signed(&key).map_err(IdentityError::Generate)?;
    Ok(format!("{}{}", key.serialize_pem(), cert.pem()))
}

/// Write `bytes` to `file` (in `dir`) with mode 0600: a temporary file, fsync, rename, fsync
/// of the directory.
fn write_private(dir: &Path, file: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    let tmp = dir.join(format!("{GENERATED_FILE}.tmp"));
    let write = || -> io::Result<()> {
        let mut f = files::create_new(&tmp, 0o600)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)?;
        files::open_dir(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        IdentityError::Write(file.to_path_buf(), e)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("chatd-identity-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_generated_identity_is_made_once_private_and_kept() {
        let d = dir("gen");
        let (first, new) = generated(&d).unwrap();
        assert!(new);
        let file = d.join(GENERATED_FILE);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, new) = generated(&d).unwrap();
        assert!(!new, "the second start keeps the first certificate");
        assert_eq!(first.fingerprint, again.fingerprint);
        assert_eq!(load_generated(&d).unwrap().fingerprint, first.fingerprint);
        assert_eq!(first.origin, Origin::Generated(file.clone()));
        assert!(!d.join("tls.pem.tmp").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn nothing_is_made_when_only_asked_for_the_fingerprint() {
        let d = dir("none");
        assert!(matches!(
            load_generated(&d),
            Err(IdentityError::NotYetMade(_))
        ));
        assert!(!d.join(GENERATED_FILE).exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn operator_files_are_checked_and_every_error_names_the_file() {
        let d = dir("files");
        let a = make_pem().unwrap();
        let b = make_pem().unwrap();
        let split = |t: &str| {
            let at = t.find("-----BEGIN CERTIFICATE").unwrap();
            (t[at..].to_string(), t[..at].to_string())
        };
        let (cert_a, key_a) = split(&a);
        let (_, key_b) = split(&b);
        let cert = d.join("cert.pem");
        let key = d.join("key.pem");
        let other_key = d.join("other.pem");
        std::fs::write(&cert, &cert_a).unwrap();
        for (p, text) in [(&key, &key_a), (&other_key, &key_b)] {
            std::fs::write(p, text).unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let id = from_files(&cert, &key).unwrap();
        assert_eq!(
            id.fingerprint,
            fingerprint_of(&CertificateDer::from_pem_slice(cert_a.as_bytes()).unwrap())
        );

        let e = from_files(&cert, &other_key).unwrap_err();
        assert!(matches!(e, IdentityError::Mismatch { .. }), "{e}");
        assert!(e.to_string().contains("other.pem"), "{e}");

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = from_files(&cert, &key).unwrap_err();
        assert!(matches!(e, IdentityError::KeyExposed(_, 0o644)), "{e}");
        assert!(
            e.to_string().contains("key.pem") && e.to_string().contains("0644"),
            "{e}"
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        from_files(&cert, &key).expect("a group-readable key is fine (ssl-cert group)");

        let e = from_files(&key, &key).unwrap_err();
        assert!(matches!(e, IdentityError::NoCertificate(_)), "{e}");
        std::fs::set_permissions(&cert, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = from_files(&cert, &cert).unwrap_err();
        assert!(matches!(e, IdentityError::NoKey(_)), "{e}");
        let e = from_files(&d.join("missing.pem"), &key).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");

        let broken = d.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = from_files(&broken, &key).unwrap_err();
        assert!(e.to_string().contains("broken.pem"), "{e}");
        let garbage_key = d.join("garbage-key.pem");
        std::fs::write(
            &garbage_key,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::set_permissions(&garbage_key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = from_files(&cert, &garbage_key).unwrap_err();
        assert!(matches!(e, IdentityError::BadKey(..)), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
