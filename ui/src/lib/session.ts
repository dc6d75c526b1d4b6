// Ending and locking the staff session: the header, the lock screen and Ctrl+L share it.
import { call, sessionEvents } from './api';
import { app, resetRoute } from './state.svelte';
import { forgetLookups } from './lookups.svelte';

/** Back to the login screen (logged out here, or the shell ended the session because the
 *  staff member was disabled). */
export function endSession() {
  app.session = null;
  app.locked = false;
  if (app.info) app.info.session = null;
  resetRoute();
  forgetLookups();
}

export async function logout() {
  try {
    await call('logout');
  } finally {
    endSession();
  }
}

/** Locks the desk now: the shell refuses every call until the same password unlocks it. */
export async function lockDesk() {
  if (app.locked || !app.session) return;
  await call('desk_lock').catch(() => {});
  app.locked = true;
}

sessionEvents.locked = () => (app.locked = true);
sessionEvents.ended = endSession;
