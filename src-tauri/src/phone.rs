//! The desk's side of the coach's phone (Settings → 手机点名): the phone server
//! (`centredesk-lan`) started and stopped with the manager's setting and with the app,
//! and the pairing code with its QR code.
//!
//! It listens on every interface (`0.0.0.0`), since phones on the centre's Wi-Fi must
//! reach it; `CENTREDESK_PHONE_BIND` (an IP address) overrides that, and the end-to-end
//! tests set it to 127.0.0.1 so nothing they start is reachable from outside.
//!
//! With HTTPS on, the certificate the desk made (`centredesk_lan::tls_identity`) and its
//! key live in `phone-tls/` beside the database file, never in the database.

use crate::{AppState, CmdResult};
use centredesk_core::auth::Action;
use centredesk_core::devices::{PairingOffer, PhoneServerSettings};
use centredesk_core::{Core, CoreError};
use centredesk_lan::LanServer;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use ts_rs::TS;

/// The running server and the last problem starting it.
#[derive(Default)]
pub(crate) struct PhoneServer {
    running: Mutex<Option<LanServer>>,
    problem: Mutex<Option<String>>,
}

/// Where the phone server stands, as Settings shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PhoneServerStatus {
    pub settings: PhoneServerSettings,
    pub running: bool,
    /// The addresses phones open (`http://192.168.1.20:8765`).
    pub urls: Vec<String>,
    /// Why it is not running although it is on (the port is taken, …).
    pub problem: Option<String>,
    /// The SHA-256 fingerprint of the desk's certificate, when serving HTTPS: the coach
    /// compares it with what the phone's browser shows before going on.
    pub fingerprint: Option<String>,
}

/// A pairing code as the desk shows it: the code, the address with it, and its QR code.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PhonePairing {
    pub offer: PairingOffer,
    pub url: String,
    /// The QR code of `url`, as an SVG document.
    pub qr_svg: String,
    /// The certificate's fingerprint, when the address is `https://`.
    pub fingerprint: Option<String>,
}

fn bind_ip() -> IpAddr {
    std::env::var("CENTREDESK_PHONE_BIND").ok().and_then(|s| s.parse().ok()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl PhoneServer {
    /// Starts, restarts (another port) or stops the server as the settings say.
    pub(crate) fn apply(&self, core: &Arc<Core>) {
        let settings = match core.phone_server_settings() {
            Ok(s) => s,
            Err(e) => {
                log::error!("phone server settings: {e}");
                return;
            }
        };
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let wanted = SocketAddr::new(bind_ip(), settings.port as u16);
        let same = running.as_ref().is_some_and(|r| r.addr().port() == wanted.port() && r.secure() == settings.https);
        if settings.enabled && same {
            return;
        }
        if let Some(old) = running.take() {
            old.stop();
        }
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if settings.enabled {
            let started = if settings.https {
                let dir = core.path().parent().map(|d| d.join("phone-tls")).unwrap_or_else(|| "phone-tls".into());
                centredesk_lan::tls_identity(&dir, &centredesk_lan::reachable_at(wanted.ip())).and_then(|identity| centredesk_lan::start_tls(core.clone(), wanted, &identity))
            } else {
                centredesk_lan::start(core.clone(), wanted)
            };
            match started {
                Ok(server) => {
                    log::info!("phone server listening on {} ({})", server.addr(), if server.secure() { "https" } else { "http" });
                    *running = Some(server);
                }
                Err(e) => {
                    log::error!("phone server cannot listen on {wanted}: {e}");
                    *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                }
            }
        }
    }

    fn urls(&self) -> Vec<String> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let Some(server) = running.as_ref() else { return vec![] };
        let addr = server.addr();
        let scheme = if server.secure() { "https" } else { "http" };
        centredesk_lan::reachable_at(addr.ip()).into_iter().map(|ip| format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))).collect()
    }

    fn status(&self, core: &Core) -> centredesk_core::Result<PhoneServerStatus> {
        // `urls` and `fingerprint` take the lock themselves: not inside the struct
        // literal's lock below.
        let urls = self.urls();
        let fingerprint = self.fingerprint();
        Ok(PhoneServerStatus {
            settings: core.phone_server_settings()?,
            running: !urls.is_empty() || self.running.lock().unwrap_or_else(|p| p.into_inner()).is_some(),
            urls,
            problem: self.problem.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            fingerprint,
        })
    }

    fn fingerprint(&self) -> Option<String> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|r| r.fingerprint().map(str::to_string))
    }
}

pub(crate) fn qr_svg(text: &str) -> centredesk_core::Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).build())
}

impl AppState {
    pub(crate) fn phone_server_status(&self) -> CmdResult<PhoneServerStatus> {
        self.as_staff(|core, s| {
            s.require(Action::EditSettings)?;
            self.phone.status(core)
        })
    }

    pub(crate) fn phone_server_set(&self, input: PhoneServerSettings) -> CmdResult<PhoneServerStatus> {
        self.as_staff(|core, s| core.phone_server_settings_set(s, input))?;
        self.phone.apply(&self.core);
        self.phone_server_status()
    }

    /// A new pairing code, with the address a phone opens and its QR code.
    pub(crate) fn phone_pairing_open(&self) -> CmdResult<PhonePairing> {
        let urls = self.phone.urls();
        let fingerprint = self.phone.fingerprint();
        self.as_staff(|core, s| {
            let Some(base) = urls.first() else { return Err(CoreError::Conflict(centredesk_core::error::Conflict::PhoneServerOff)) };
            let offer = core.phone_pairing_open(s)?;
            let url = format!("{base}/pair?code={}", offer.code);
            Ok(PhonePairing { qr_svg: qr_svg(&url)?, url, offer, fingerprint })
        })
    }
}
