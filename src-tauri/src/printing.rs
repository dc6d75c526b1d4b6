//! Delivering a PDF made by the core: open it in the system viewer (from where the
//! clerk prints) or save it where the clerk chooses.

use crate::{AppState, CmdResult};
use centredesk_core::print::PrintedPdf;
use centredesk_core::{Core, CoreError, Lang, Session};
use serde::Serialize;
use std::path::PathBuf;
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

#[derive(Serialize)]
pub(crate) struct PrintOutcome {
    /// Where the PDF was written; None when the clerk cancelled "save as".
    path: Option<String>,
    /// Whether the system viewer was started.
    opened: bool,
    /// Characters the font lacks (printed as □): shown to the clerk as a warning.
    missing_glyphs: Vec<String>,
    pages: usize,
}

impl AppState {
    /// Makes a PDF with `make` as the logged-in staff member and delivers it.
    pub(crate) fn print(&self, app: &AppHandle, action: &str, make: impl FnOnce(&Core, &Session, Lang) -> centredesk_core::Result<PrintedPdf>) -> CmdResult<PrintOutcome> {
        let lang = self.lang();
        let pdf = self.as_staff(|core, s| make(core, s, lang))?;
        let missing_glyphs = pdf.missing_glyphs.iter().map(|c| c.to_string()).collect();
        let io = |e: std::io::Error| self.fail(CoreError::Internal(e.to_string()));
        let path: Option<PathBuf> = match action {
            "save" => app
                .dialog()
                .file()
                .add_filter("PDF", &["pdf"])
                .set_file_name(&pdf.file_name)
                .blocking_save_file()
                .and_then(|p| p.into_path().ok()),
            _ => {
                let dir = app.path().app_cache_dir().map_err(|e| self.fail(CoreError::Internal(e.to_string())))?.join("prints");
                std::fs::create_dir_all(&dir).map_err(io)?;
                Some(dir.join(&pdf.file_name))
            }
        };
        let Some(path) = path else {
            return Ok(PrintOutcome { path: None, opened: false, missing_glyphs, pages: pdf.pages });
        };
        std::fs::write(&path, &pdf.bytes).map_err(io)?;
        // No viewer (a bare test machine) is not an error: the file is there to open.
        let opened = action != "save" && app.opener().open_path(path.to_string_lossy(), None::<&str>).is_ok();
        Ok(PrintOutcome { path: Some(path.display().to_string()), opened, missing_glyphs, pages: pdf.pages })
    }
}
