//! What the desk does by itself every hour (and when it starts): the daily run of the
//! member-status rule for contracts whose end date has passed (`members::
//! member_status_sweep`), and the scheduled tier evaluation (`tiers`). Both write only
//! changes and are safe to run any number of times. The shell runs `run_hourly` on a
//! thread of its own, off the desk's path.

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
}

pub fn run_hourly(core: &Core, every: std::time::Duration) -> ! {
    loop {
        round(core);
        std::thread::sleep(every);
    }
}
