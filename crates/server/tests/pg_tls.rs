//! TLS to PostgreSQL as `sslmode` in the URL says: `require` to a server without TLS is
//! refused before anything else is sent (not even the user name); `disable` is plain;
//! on the throwaway cluster (scripts/with-postgres.sh turns TLS on with a certificate of
//! its own, `CENTREDESK_TEST_PG_CA`) `prefer` and `require` are encrypted, and `require`
//! checks the certificate.

use crate::common::*;
use centredesk_server::{PgStore, Store};
use std::io::{Read, Write};

/// What PostgreSQL with `ssl = off` does with a client's TLS request: answers `N`. Returns
/// how many bytes the client sent after that.
fn a_server_without_tls() -> (u16, std::thread::JoinHandle<(Vec<u8>, usize)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let mut request = vec![0u8; 8];
        stream.read_exact(&mut request).unwrap();
        stream.write_all(b"N").unwrap();
        let mut after = vec![];
        let _ = stream.read_to_end(&mut after);
        (request, after.len())
    });
    (port, handle)
}

#[test]
fn sslmode_require_to_a_server_without_tls_is_refused_with_a_clear_error() {
    let (port, server) = a_server_without_tls();
    let err = PgStore::connect(&format!("postgres://centredesk:secret@127.0.0.1:{port}/centredesk?sslmode=require")).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("sslmode=require") && text.contains("server does not support TLS"), "{text}");
    let (request, sent_after) = server.join().unwrap();
    // The SSLRequest: length 8, code 80877103.
    assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
    assert_eq!(sent_after, 0, "nothing (no user name, no password) went out in plain text");
}

#[test]
fn an_unknown_sslmode_is_a_clear_error() {
    let err = PgStore::connect("postgres://u@127.0.0.1:1/db?sslmode=sometimes").err().expect("refused");
    assert!(err.to_string().contains("not valid") && err.to_string().contains("sslmode"), "{err}");
}

fn fresh_database() -> String {
    let base = pg_base().unwrap();
    let name = format!("tls_{}", &centredesk_server::auth::new_token()[..16]);
    postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls).unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    format!("{base}/{name}")
}

#[test]
fn sslmode_disable_prefer_and_require_on_the_throwaway_postgres() {
    if pg_base().is_none() {
        eprintln!("CENTREDESK_TEST_PG is not set: skipped (run scripts/with-postgres.sh)");
        return;
    }
    let url = fresh_database();
    let plain = PgStore::connect(&format!("{url}?sslmode=disable")).unwrap();
    assert!(!plain.encrypted().unwrap(), "sslmode=disable is plain");
    drop(plain);
    let Some(ca) = std::env::var_os("CENTREDESK_TEST_PG_CA").map(std::path::PathBuf::from) else {
        // A cluster without TLS: require is refused, prefer falls back to plain.
        let err = PgStore::connect(&format!("{url}?sslmode=require")).err().expect("refused");
        assert!(err.to_string().contains("server does not support TLS"), "{err}");
        assert!(!PgStore::connect(&format!("{url}?sslmode=prefer")).unwrap().encrypted().unwrap());
        eprintln!("CENTREDESK_TEST_PG_CA is not set (the cluster has no TLS): only disable and the refusal were checked");
        return;
    };
    let preferred = PgStore::connect(&url).unwrap();
    assert!(preferred.encrypted().unwrap(), "no sslmode is prefer: encrypted when the server offers TLS");
    drop(preferred);
    let required = PgStore::connect_with(&format!("{url}?sslmode=require"), Some(&ca)).unwrap();
    assert!(required.encrypted().unwrap(), "sslmode=require with the cluster's CA");
    // The store works over it.
    required.add_centre("TLS1", "加密校区").unwrap();
    assert!(required.centre_id("TLS1").unwrap().is_some());
    drop(required);
    // require checks the certificate: the cluster's own is no public CA's.
    let err = PgStore::connect(&format!("{url}?sslmode=require")).err().expect("an unknown issuer is refused");
    assert!(err.to_string().contains("sslmode=require") && err.to_string().to_lowercase().contains("certificate"), "{err}");
}
