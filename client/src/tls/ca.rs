//! `--ca-file`: a server certificate must chain to a CA certificate of the file and name the
//! host, as webpki checks it (rustls's own `WebPkiServerVerifier` does the same and also reads
//! revocation lists, which a LAN CA rarely publishes and chatc does not take, so it is not
//! linked: chatc must stay small).

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::CertificateError;

/// Trusts what chains to its anchors and names the host.
pub struct CaVerifier {
    anchors: Vec<TrustAnchor<'static>>,
}

impl CaVerifier {
    /// Trust the CA certificates `certs`; an error names the first that is not a usable CA.
    pub fn new(certs: &[CertificateDer<'static>]) -> Result<CaVerifier, webpki::Error> {
        let anchors = certs
            .iter()
            .map(|c| webpki::anchor_from_trusted_cert(c).map(|a| a.to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CaVerifier { anchors })
    }
}

/// Map webpki's verdict to rustls's, as rustls's own verifier does for the common cases.
fn refused(e: &webpki::Error) -> rustls::Error {
    use webpki::Error as W;
    rustls::Error::InvalidCertificate(match e {
        W::BadDer | W::BadDerTime => CertificateError::BadEncoding,
        W::CertNotValidYet { .. } => CertificateError::NotValidYet,
        W::CertExpired { .. } => CertificateError::Expired,
        W::UnknownIssuer => CertificateError::UnknownIssuer,
        W::CertNotValidForName(_) => CertificateError::NotValidForName,
        W::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        _ => CertificateError::ApplicationVerificationFailure,
    })
}

impl CaVerifier {
    /// Accept `end_entity` if it chains through `intermediates` to an anchor, checked with
    /// `algs`, and names `server_name` at `now`.
    pub fn check(
        &self,
        algs: &WebPkiSupportedAlgorithms,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|e| refused(&e))?;
        cert.verify_for_usage(
            algs.all,
            &self.anchors,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| refused(&e))?;
        cert.verify_is_valid_for_subject_name(server_name)
            .map_err(|e| refused(&e))
    }
}
