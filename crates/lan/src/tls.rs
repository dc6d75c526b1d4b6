//! Optional HTTPS for the phone server. No public certificate can name a LAN address, so
//! the desk makes its own (self-signed, for its addresses on the centre's network and
//! `localhost`) and shows its SHA-256 fingerprint on the pairing screen: the coach's
//! browser warns once, and the coach checks the fingerprint it shows against the desk's
//! before going on. What it buys: nobody else on the Wi-Fi reads the marks, the
//! passwords or the cookies, and the cookies are `Secure`.
//!
//! The key stays in a file beside the database's folder, never in the database (whose
//! change log goes to head office). The certificate is made again when the desk's
//! addresses are no longer all in it (a new router, DHCP), so the fingerprint changes
//! then and only then.

use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::path::Path;

const CERT_FILE: &str = "phone-cert.pem";
const KEY_FILE: &str = "phone-key.pem";
/// The names the certificate was made for, one per line: compared with today's.
const NAMES_FILE: &str = "phone-cert.names";

/// The desk's certificate and key for the phone server, and how a person recognises it.
#[derive(Clone)]
pub struct TlsIdentity {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    /// SHA-256 of the certificate, as browsers show it (`AB:12:…`, 32 pairs).
    pub fingerprint: String,
}

impl TlsIdentity {
    /// The certificate (public): what a phone, or a test client, is told to trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

fn names_of(addresses: &[IpAddr]) -> Vec<String> {
    let mut names: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
    names.push("127.0.0.1".into());
    names.push("localhost".into());
    names.sort();
    names.dedup();
    names
}

fn fingerprint_of(cert_pem: &str) -> std::io::Result<String> {
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let digest = Sha256::digest(der.as_ref());
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// The certificate kept in `dir` when it names all of `addresses`, else a new one made
/// and kept there.
pub fn tls_identity(dir: &Path, addresses: &[IpAddr]) -> std::io::Result<TlsIdentity> {
    let names = names_of(addresses);
    let kept = (|| {
        let have: Vec<String> = std::fs::read_to_string(dir.join(NAMES_FILE)).ok()?.lines().map(str::to_string).collect();
        if !names.iter().all(|n| have.contains(n)) {
            return None;
        }
        let cert_pem = std::fs::read_to_string(dir.join(CERT_FILE)).ok()?;
        let key_pem = std::fs::read_to_string(dir.join(KEY_FILE)).ok()?;
        let fingerprint = fingerprint_of(&cert_pem).ok()?;
        Some(TlsIdentity { cert_pem, key_pem, fingerprint })
    })();
    if let Some(identity) = kept {
        return Ok(identity);
    }
    let made = rcgen::generate_simple_self_signed(names.clone()).map_err(std::io::Error::other)?;
    let cert_pem = made.cert.pem();
    let key_pem = made.signing_key.serialize_pem();
    std::fs::create_dir_all(dir)?;
    write_private(&dir.join(KEY_FILE), &key_pem)?;
    std::fs::write(dir.join(CERT_FILE), &cert_pem)?;
    std::fs::write(dir.join(NAMES_FILE), names.join("\n"))?;
    let fingerprint = fingerprint_of(&cert_pem)?;
    Ok(TlsIdentity { cert_pem, key_pem, fingerprint })
}

/// Writes the key readable by this user only (on Windows the user's profile folder is
/// already private).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(path)?.write_all(text.as_bytes())
}

/// The rustls configuration serving `identity` (ring, as every TLS in the desk).
pub(crate) fn server_config(identity: &TlsIdentity) -> std::io::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |e: rustls::pki_types::pem::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string());
    let certs = CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).map_err(bad)?;
    let mut config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_kept_until_the_desks_addresses_change() {
        let dir = tempfile::tempdir().unwrap();
        let wifi: IpAddr = "192.168.1.20".parse().unwrap();
        let first = tls_identity(dir.path(), &[wifi]).unwrap();
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        assert!(first.fingerprint.chars().all(|c| c == ':' || c.is_ascii_hexdigit()));
        assert_eq!(tls_identity(dir.path(), &[wifi]).unwrap().fingerprint, first.fingerprint, "kept");
        assert_eq!(tls_identity(dir.path(), &[]).unwrap().fingerprint, first.fingerprint, "fewer addresses: still named");
        let moved = tls_identity(dir.path(), &["10.0.0.5".parse().unwrap()]).unwrap();
        assert_ne!(moved.fingerprint, first.fingerprint, "a new address: a new certificate");
        assert!(server_config(&moved).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is private");
        }
    }
}
