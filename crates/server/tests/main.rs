//! The server's integration tests, linked into one test binary: the real server on
//! 127.0.0.1:0, the real pusher, both stores, the keyring in a D-Bus session of its own.

mod common;

mod access;
mod hostile;
mod keyring;
mod limits;
mod page;
mod pg_tls;
mod portal;
mod property;
mod push;
mod security;
mod storage;
mod tls;
