//! One window per database. A second start on the same database file (a clerk who
//! double-clicks the icon again, a shortcut on the desktop and one in the taskbar) brings
//! the first window to the front and exits, instead of opening a second desk whose
//! background work (backups, sync, notices) would run twice over the same file.
//!
//! How: the first start holds an OS lock on `<db>.instance.lock` for its whole life (the
//! OS drops it when the process ends, even in a crash, so a stale lock cannot keep the
//! desk from starting) and listens on a loopback port written to `<db>.instance`. A
//! second start that finds the lock taken connects to that port and asks for the window.
//! Per database, not per app: the CLI and a desk opened on another file are not affected.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Manager};

/// The first start's hold on the database: the lock and the listener for later starts.
pub struct Instance {
    _lock: std::fs::File,
    listener: TcpListener,
    id: String,
}

pub enum Claim {
    First(Instance),
    /// Another window has this database and was asked to come to the front.
    AlreadyOpen,
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Claims the database for this process, or hands over to the window that has it.
pub fn claim(db: &Path) -> std::io::Result<Claim> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(sibling(db, ".instance.lock"))?;
    match lock.try_lock() {
        Ok(()) => {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            // Which process answers: a port file left by a crash may name a port some
            // other program has since taken; it would not echo this id back.
            let id = format!("{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default());
            let port = listener.local_addr()?.port();
            std::fs::write(sibling(db, ".instance"), format!("{port} {id}\n"))?;
            Ok(Claim::First(Instance { _lock: lock, listener, id }))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            ask_first_window(db)?;
            Ok(Claim::AlreadyOpen)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Asks the first window to come to the front. It may still be starting (the lock taken,
/// the port not yet written): tried for up to 5 seconds.
fn ask_first_window(db: &Path) -> std::io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = std::io::Error::other("the first window did not answer");
    for _ in 0..50 {
        match try_ask(db) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

fn try_ask(db: &Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(sibling(db, ".instance"))?;
    let (port, id) = text.trim().split_once(' ').ok_or_else(|| std::io::Error::other("unreadable instance file"))?;
    let port: u16 = port.parse().map_err(|_| std::io::Error::other("unreadable instance file"))?;
    let mut stream = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    writeln!(stream, "focus {id}")?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    if answer.trim() == format!("focused {id}") {
        Ok(())
    } else {
        Err(std::io::Error::other("another program answered on the instance port"))
    }
}

/// Serves later starts for the life of the app: each one brings the main window forward.
pub fn serve(instance: Instance, app: AppHandle) {
    std::thread::spawn(move || {
        let Instance { _lock, listener, id } = instance;
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &id, &app);
        }
        drop(_lock);
    });
}

fn answer(stream: TcpStream, id: &str, app: &AppHandle) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    if line.trim() != format!("focus {id}") {
        return Ok(());
    }
    log::info!("a second start on this database: bringing the window to the front");
    if let Some(window) = app.webview_windows().values().next() {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    writeln!(&stream, "focused {id}")
}
