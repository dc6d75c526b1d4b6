// Head-office sync at a glance: the latest SyncState, refreshed while someone is logged
// in (the header badge and the settings panel read the same value).
import type { SyncState } from '../bindings/SyncState';
import { call } from './api';

export const sync = $state<{ state: SyncState | null }>({ state: null });

const POLL_MS = 15_000;
let timer: ReturnType<typeof setInterval> | null = null;

export async function refreshSync() {
  try {
    sync.state = await call('sync_state');
  } catch {
    sync.state = null; // logged out, or the settings file unreadable: the panel says so
  }
}

export function startSyncPolling() {
  void refreshSync();
  if (timer === null) timer = setInterval(() => void refreshSync(), POLL_MS);
}

export function stopSyncPolling() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  sync.state = null;
}

/** `ok` (all pushed), `waiting` (ops not yet acknowledged), `error`, or `off`. */
export function syncLevel(s: SyncState | null): 'off' | 'ok' | 'waiting' | 'error' {
  if (!s || !s.registered || !s.enabled) return 'off';
  if (s.last_error) return 'error';
  return s.ops_waiting > 0 ? 'waiting' : 'ok';
}

/** The clock warning in the UI's language; null when the clocks agree well enough. */
export function clockSkewMinutes(s: SyncState | null): number | null {
  if (!s?.clock_warning || s.clock_skew_secs === null) return null;
  return Math.round(s.clock_skew_secs / 60);
}
