//! Files that leave the app: a PDF to print or a CSV for Excel is opened with the
//! system's program for it or saved where the clerk chooses; the whole database is
//! exported.

use crate::commands::Ctx;
use crate::{AppState, CmdResult};
use centredesk_core::export::CsvFile;
use centredesk_core::print::PrintedPdf;
use centredesk_core::{Core, CoreError, Lang, Session};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tauri::{AppHandle, Manager};
use ts_rs::TS;
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

/// What to do with a file made for the clerk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub(crate) enum Delivery {
    /// Write it to the usual place and open it with the system's program.
    Open,
    /// Ask where to save it (no program is started).
    Save,
}

/// What a print command reports.
#[derive(Serialize, TS)]
#[ts(export)]
pub(crate) struct PrintOutcome {
    /// Where the PDF was written; None when the clerk cancelled "save as".
    path: Option<String>,
    /// Whether the system viewer was started.
    opened: bool,
    /// Characters the font lacks (printed as □): shown to the clerk as a warning.
    missing_glyphs: Vec<String>,
    pages: usize,
}

/// What an export command reports.
#[derive(Serialize, TS)]
#[ts(export)]
pub(crate) struct ExportOutcome {
    path: Option<String>,
    opened: bool,
    rows: i64,
}

/// Where an "open" file goes before the system program opens it.
enum Place {
    /// Prints are throwaway: the app's cache.
    Cache,
    /// Exports are kept: Documents/CentreDesk.
    Documents,
}

impl AppState {
    /// Writes `bytes` (asking where for "save"), then opens it unless saved. Returns the
    /// path (None when the clerk cancelled) and whether a program was started.
    fn deliver(&self, app: &AppHandle, action: Delivery, file_name: &str, filter: (&str, &str), bytes: &[u8], place: Place) -> CmdResult<(Option<String>, bool)> {
        let fail = |e: String| self.fail(CoreError::Internal(e));
        let path: Option<PathBuf> = match action {
            Delivery::Save => app
                .dialog()
                .file()
                .add_filter(filter.0, &[filter.1])
                .set_file_name(file_name)
                .blocking_save_file()
                .and_then(|p| p.into_path().ok()),
            Delivery::Open => {
                let dir = match place {
                    Place::Cache => app.path().app_cache_dir().map(|d| d.join("prints")),
                    // Documents/CentreDesk, as the README says — also on a system that has
                    // no Documents folder configured (then ~/Documents is made).
                    Place::Documents => app.path().document_dir().or_else(|_| app.path().home_dir().map(|h| h.join("Documents"))).map(|d| d.join("CentreDesk")),
                }
                .map_err(|e| fail(e.to_string()))?;
                std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
                Some(dir.join(file_name))
            }
        };
        let Some(path) = path else { return Ok((None, false)) };
        std::fs::write(&path, bytes).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        // No program for the file (a bare test machine) is not an error: the file is there.
        let opened = action == Delivery::Open && app.opener().open_path(path.to_string_lossy(), None::<&str>).is_ok();
        Ok((Some(path.display().to_string()), opened))
    }

    /// Makes a PDF with `make` as the logged-in staff member and delivers it.
    pub(crate) fn print(&self, app: &AppHandle, action: Delivery, make: impl FnOnce(&Core, &Session, Lang) -> centredesk_core::Result<PrintedPdf>) -> CmdResult<PrintOutcome> {
        let lang = self.lang();
        let pdf = self.as_staff(|core, s| make(core, s, lang))?;
        let (path, opened) = self.deliver(app, action, &pdf.file_name, ("PDF", "pdf"), &pdf.bytes, Place::Cache)?;
        let missing_glyphs = pdf.missing_glyphs.iter().map(|c| c.to_string()).collect();
        Ok(PrintOutcome { path, opened, missing_glyphs, pages: pdf.pages })
    }

    /// The whole database to a file the manager picks (None when cancelled).
    pub(crate) fn export_database(&self, app: &AppHandle) -> CmdResult<Option<String>> {
        // Check the permission before asking where to save.
        self.as_staff(|core, s| core.backups(s))?;
        // The desk's own clock and zone, like every date the desk writes.
        let stamp = self.core.now().with_timezone(&self.core.timezone()).format("%Y%m%d-%H%M");
        let Some(path) = app
            .dialog()
            .file()
            .add_filter("SQLite", &["db"])
            .set_file_name(format!("centredesk-{stamp}.db"))
            .blocking_save_file()
            .and_then(|p| p.into_path().ok())
        else {
            return Ok(None);
        };
        self.as_staff(|core, s| core.export_database(s, &path))?;
        Ok(Some(path.display().to_string()))
    }

    /// Makes a CSV (a list or a report) and delivers it (open: Documents/CentreDesk, then
    /// Excel or WPS).
    pub(crate) fn export(&self, app: &AppHandle, action: Delivery, make: impl FnOnce(&Core, &Session, Lang) -> centredesk_core::Result<CsvFile>) -> CmdResult<ExportOutcome> {
        let lang = self.lang();
        let csv = self.as_staff(|core, s| make(core, s, lang))?;
        let (path, opened) = self.deliver(app, action, &csv.file_name, ("CSV", "csv"), &csv.bytes, Place::Documents)?;
        Ok(ExportOutcome { path, opened, rows: csv.rows })
    }

    /// A report chart's "save as picture": the PNG the window drew, written like a CSV
    /// (Documents/CentreDesk and opened, or where the manager chooses). Reports only.
    pub(crate) fn save_picture(&self, app: &AppHandle, action: Delivery, name: &str, png: &[u8]) -> CmdResult<ExportOutcome> {
        self.as_staff(|_, s| s.require(centredesk_core::auth::Action::ViewReports))?;
        const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
        if !png.starts_with(PNG_MAGIC) || png.len() > 20 << 20 {
            return Err(self.fail(CoreError::Internal("not a PNG picture of a chart".into())));
        }
        // The title becomes the file name: only what every file system takes.
        let safe: String = name.chars().filter(|c| !c.is_control() && !r#"\/:*?"<>|"#.contains(*c)).take(60).collect();
        let stamp = self.core.now().with_timezone(&self.core.timezone()).format("%Y%m%d-%H%M");
        let file_name = format!("{}-{stamp}.png", if safe.trim().is_empty() { "chart" } else { safe.trim() });
        let (path, opened) = self.deliver(app, action, &file_name, ("PNG", "png"), png, Place::Documents)?;
        Ok(ExportOutcome { path, opened, rows: 0 })
    }
}

impl Ctx<'_> {
    /// A PDF made by `make`, delivered as asked.
    pub(crate) fn print(&self, action: Delivery, make: impl FnOnce(&Core, &Session, Lang) -> centredesk_core::Result<PrintedPdf>) -> CmdResult<PrintOutcome> {
        self.state.print(self.app, action, make)
    }

    /// A CSV made by `make`, delivered as asked.
    pub(crate) fn export(&self, action: Delivery, make: impl FnOnce(&Core, &Session, Lang) -> centredesk_core::Result<CsvFile>) -> CmdResult<ExportOutcome> {
        self.state.export(self.app, action, make)
    }

    pub(crate) fn save_picture(&self, action: Delivery, name: &str, png: &[u8]) -> CmdResult<ExportOutcome> {
        self.state.save_picture(self.app, action, name, png)
    }
}
