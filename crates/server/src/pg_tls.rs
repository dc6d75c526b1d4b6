//! TLS to PostgreSQL over rustls with ring (the provider the rest of the tree uses; no
//! OpenSSL), for [`crate::PgStore::connect_with`]: `sslmode=prefer` encrypts without
//! checking the certificate (libpq's `prefer`), `sslmode=require` checks it.

use crate::store::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn builder() -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
    ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().expect("ring supports the default TLS versions")
}

/// `require`: the certificate must chain to `ca_file`'s certificates (PEM) when given,
/// else to a public CA, and be valid for the host in the URL.
pub fn verified(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::Backend(format!("cannot read the PostgreSQL CA file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(StoreError::Backend(format!("the PostgreSQL CA file {} holds no certificate", path.display())));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| StoreError::Backend(format!("the PostgreSQL CA file {}: {e}", path.display())))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(MakeRustlsConnect::new(builder().with_root_certificates(roots).with_no_client_auth()))
}

/// `prefer`: encrypted, whoever the server is.
pub fn unverified() -> MakeRustlsConnect {
    let verifier = AnyCertificate(provider());
    MakeRustlsConnect::new(builder().dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth())
}

/// Accepts any certificate, but still checks that the server holds its key (the
/// handshake's signatures), so the session keys are the server's.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
