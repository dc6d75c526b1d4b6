//! What the desk does by itself every hour (and shortly after it starts): the daily run
//! of the member-status rule for contracts whose end date has passed (`members::
//! member_status_sweep`), the scheduled tier evaluation (`tiers`), the return-visit
//! planner (`visits`) and the churn-warning scan (`churn`). Each writes only changes and
//! is safe to run any number of times. The shell runs `round` on its background thread
//! (src-tauri/src/background.rs), off the desk's path.

use crate::db::Core;
use crate::error::Lang;

/// One round; errors are reported and the next round tries again.
pub fn round(core: &Core) {
    if let Err(e) = core.member_status_sweep() {
        log::error!("member status: {}", e.message(Lang::En));
    }
    if let Err(e) = core.tiers_evaluate_scheduled() {
        log::error!("tier evaluation: {}", e.message(Lang::En));
    }
    // After the tiers: the top tier's regular visits follow today's tiers.
    if let Err(e) = core.plan_visits() {
        log::error!("return visits: {}", e.message(Lang::En));
    }
    if let Err(e) = core.churn_scan() {
        log::error!("churn warnings: {}", e.message(Lang::En));
    }
}
