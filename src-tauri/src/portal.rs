//! The parents' portal as the desk shows it: an invite with its QR code (the core makes
//! the invite and its link; the QR code is the window's business, as for phone pairing).

use crate::{AppState, CmdResult};
use centredesk_core::portal::PortalInvite;
use serde::Serialize;
use ts_rs::TS;

/// An invite as the member page shows it: the link, its QR code (when the desk is
/// registered with a head-office server), and when it stops working.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PortalInviteCard {
    pub invite: PortalInvite,
    pub qr_svg: Option<String>,
}

impl AppState {
    pub(crate) fn portal_invite(&self, guardian_id: &str) -> CmdResult<PortalInviteCard> {
        let card = self.as_staff(|core, s| {
            let invite = core.portal_invite(s, guardian_id)?;
            let qr_svg = invite.url.as_deref().map(crate::phone::qr_svg).transpose()?;
            Ok(PortalInviteCard { invite, qr_svg })
        })?;
        // Head office learns of the invite with the next push: make it now.
        self.pusher.wake();
        Ok(card)
    }
}
