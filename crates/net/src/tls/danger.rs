//! A client certificate verifier that checks proof of possession and nothing else.
//!
//! **Foot-gun.** [`ProofOfPossessionOnly`] accepts any certificate chain, self-signed or
//! expired, as long as the client signs the handshake with the end-entity certificate's key.
//! That is what the listener needs: which CAs to trust depends on the API, known only after
//! routing, so the handshake cannot decide trust. It is safe only because the HTTP layer
//! validates [`PeerCertificates`](crate::PeerCertificates) against the API's trusted CAs (and
//! the injected clock) before believing it. Never use it where nothing checks the chain later.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Offers client authentication without requiring it; accepts any chain whose end-entity
/// certificate parses as X.509, and checks the client's handshake signature with it.
#[derive(Debug)]
pub(crate) struct ProofOfPossessionOnly {
    provider: Arc<CryptoProvider>,
}

// === impl ProofOfPossessionOnly ===

impl ProofOfPossessionOnly {
    /// A verifier checking signatures with `provider`'s algorithms.
    pub(crate) fn new(provider: Arc<CryptoProvider>) -> Self {
        Self { provider }
    }
}

impl ClientCertVerifier for ProofOfPossessionOnly {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    /// No hints: a client with a certificate should always send it.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    /// Checks only that the end-entity certificate is X.509 (so its key can verify the
    /// handshake signature); neither the issuer nor the validity period is checked here.
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        ParsedCertificate::try_from(end_entity)?;
        Ok(ClientCertVerified::assertion())
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
