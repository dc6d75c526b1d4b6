//! HTTPS in the server itself: `centredesk-server serve --tls-cert --tls-key` (the real
//! binary) answers over TLS with the configured certificate, and not in plain text.


use crate::common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_server_speaks_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl (Debian's openssl package) makes the test certificate");
    assert!(made.success());

    let bin = env!("CARGO_BIN_EXE_centredesk-server");
    let data = dir.path().join("ho");
    let added = Command::new(bin).arg("--data").arg(&data).args(["user", "add", HO_USER]).env("CENTREDESK_SERVER_PASSWORD", HO_PASSWORD).status().unwrap();
    assert!(added.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Running(
        Command::new(bin)
            .arg("--data")
            .arg(&data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--tls-cert"])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .spawn()
            .unwrap(),
    );

    // A client that trusts exactly this certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(&cert).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let agent = ureq::AgentBuilder::new().tls_config(Arc::new(config)).timeout(Duration::from_secs(5)).build();
    let url = format!("https://127.0.0.1:{port}/api/v1/centres");
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        match agent.get(&url).set("Authorization", &basic()).call() {
            Ok(r) => break r,
            // Not listening yet.
            Err(ureq::Error::Transport(e)) if e.kind() == ureq::ErrorKind::ConnectionFailed && e.to_string().contains("refused") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.into_string().unwrap().trim(), "[]", "no centres yet");
    // Wrong credentials are still refused over TLS.
    assert!(matches!(agent.get(&url).call(), Err(ureq::Error::Status(401, _))));
    // Plain HTTP to the TLS port gets no answer it could read.
    assert!(matches!(ureq::get(&format!("http://127.0.0.1:{port}/api/v1/centres")).timeout(Duration::from_secs(5)).call(), Err(ureq::Error::Transport(_))));
}
