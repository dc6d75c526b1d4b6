// The one way the window talks to the core: `call(command, args)`, typed from the
// shell's command table (src-tauri/src/commands.rs), whose argument and result types
// ts-rs exports into ../bindings/. A wrong command name, argument name or type is an
// error in `npm run check`.
import { invoke } from '@tauri-apps/api/core';
import type { CommandArgs } from '../bindings/CommandArgs';
import type { CommandResults } from '../bindings/CommandResults';
import type { ErrorDto } from '../bindings/ErrorDto';
import type { Problem } from '../bindings/Problem';
import type { RecoveryInfo } from '../bindings/RecoveryInfo';
import type { RecoveryOutcome } from '../bindings/RecoveryOutcome';

export type Command = keyof CommandArgs;
export type ArgsOf<K extends Command> = CommandArgs[K];
export type ResultOf<K extends Command> = CommandResults[K];
// A command without arguments (its args type has no keys) may be called without them.
type Rest<K extends Command> = [keyof ArgsOf<K>] extends [symbol] ? [args?: ArgsOf<K>] : [args: ArgsOf<K>];

/** Every rejection is turned into an ErrorDto, even one that did not come from the core. */
export function toError(e: unknown): ErrorDto {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const o = e as { code: unknown; field?: unknown; message: unknown; problems?: unknown };
    const problems = Array.isArray(o.problems)
      ? o.problems
          .filter((p): p is { field: unknown; message: unknown } => !!p && typeof p === 'object' && 'field' in p)
          .map((p) => ({ field: p.field as Problem['field'], message: String(p.message ?? '') }))
      : [];
    return { code: String(o.code), field: (o.field ?? problems[0]?.field ?? null) as ErrorDto['field'], message: String(o.message), problems };
  }
  return { code: 'internal', field: null, message: String(e), problems: [] };
}

/** What the window does when the shell says the session is locked or over (the staff
 *  member was disabled), or that the database was found damaged: set by App.svelte and
 *  session.ts, so any screen's call can end up there. */
export const sessionEvents = { locked: () => {}, ended: () => {}, damaged: () => {} };

/** Runs a desk command as the logged-in staff member; rejects with an ErrorDto. */
export async function call<K extends Command>(command: K, ...rest: Rest<K>): Promise<ResultOf<K>> {
  try {
    return await invoke<ResultOf<K>>('call', { command, args: rest[0] ?? {} });
  } catch (e) {
    const err = toError(e);
    if (err.code === 'auth.locked') sessionEvents.locked();
    else if (err.code === 'database.damaged') sessionEvents.damaged();
    else if ((err.code === 'auth.account_disabled' || err.code === 'auth.not_logged_in') && command !== 'login' && command !== 'desk_unlock') sessionEvents.ended();
    throw err;
  }
}

/** The recovery screen's own three commands (src-tauri/src/recovery.rs): there is no open
 *  database behind them, so they are not in the desk's command table. */
export const recovery = {
  info: () => invoke<RecoveryInfo>('recovery_info'),
  restore: async (fileName: string): Promise<RecoveryOutcome> => {
    try {
      return await invoke<RecoveryOutcome>('recovery_restore', { fileName });
    } catch (e) {
      throw toError(e);
    }
  },
  quit: () => invoke<void>('recovery_quit'),
};
