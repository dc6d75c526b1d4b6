// App-wide state: who is logged in, the centre, and the current screen.
import type { Session } from '../bindings/Session';
import type { Action } from '../bindings/Action';
import type { Settings } from '../bindings/Settings';
import type { AppInfo } from '../bindings/AppInfo';

export const app = $state<{
  info: AppInfo | null;
  session: Session | null;
  centreName: string;
  settings: Settings | null;
  /** The desk locked itself (idle, or Ctrl+L): the lock screen covers the page, which keeps its state. */
  locked: boolean;
  /** The demo centre's account, just after the first-run screen made it: the login screen fills it in. */
  demoLogin: { username: string; password: string } | null;
}>({ info: null, session: null, centreName: '', settings: null, locked: false, demoLogin: null });

/** May the logged-in staff member do `action`? The core's permission table, carried by
 *  the session: the UI never re-derives it from the role. */
export const can = (action: Action) => !!app.session?.actions.includes(action);

export type RouteName =
  | 'home'
  | 'members'
  | 'member'
  | 'timetable'
  | 'rollcall'
  | 'group'
  | 'leads'
  | 'lead'
  | 'payments'
  | 'reports'
  | 'goods'
  | 'feedback'
  | 'packages'
  | 'settings'
  | 'guardian';

export type Route = { name: RouteName; id: string; tab: string };

export const route = $state<Route>({ name: 'home', id: '', tab: '' });

const history: Route[] = [];

/** Top-level sections, in header order; Alt+1..9 and Alt+0 (the tenth) follow this order (of those the role sees). */
export const SECTIONS: RouteName[] = ['home', 'members', 'timetable', 'leads', 'payments', 'goods', 'feedback', 'reports', 'packages', 'settings'];

/** The sections this staff member's role has (the core checks again on every call). */
export function visibleSections(): RouteName[] {
  return SECTIONS.filter((s) => {
    if (s === 'leads') return can('view_leads');
    if (s === 'payments') return can('take_payments');
    if (s === 'reports') return can('view_reports');
    return true;
  });
}

/** The section a detail screen belongs to (highlighted in the header, Esc goes up to it). */
export const PARENT: Partial<Record<RouteName, RouteName>> = {
  member: 'members',
  guardian: 'members',
  lead: 'leads',
  rollcall: 'timetable',
  group: 'timetable',
};

export function go(name: RouteName, id = '', tab = '') {
  if (route.name === name && route.id === id && route.tab === tab) return;
  if (SECTIONS.includes(name) && !id) {
    history.length = 0; // a section switch starts a fresh trail
  } else {
    history.push({ ...route });
    if (history.length > 50) history.shift();
  }
  route.name = name;
  route.id = id;
  route.tab = tab;
}

/** Esc on a detail screen: back to where the clerk came from, else up to the section. */
export function back(): boolean {
  const prev = history.pop();
  if (prev) {
    Object.assign(route, prev);
    return true;
  }
  const parent = PARENT[route.name];
  if (parent) {
    Object.assign(route, { name: parent, id: '', tab: '' });
    return true;
  }
  return false;
}

export function resetRoute() {
  history.length = 0;
  Object.assign(route, { name: 'home', id: '', tab: '' });
}

/** Page-level shortcuts (Alt+N …) registered by the screen currently shown. */
export const pageKeys: { onNew: (() => void) | null } = { onNew: null };

/** Bumped after something changes data shown elsewhere (e.g. a payment), so screens reload. */
export const dataVersion = $state({ n: 0 });
export const touch = () => {
  dataVersion.n++;
};

/** Things shown above any screen: the receipt, a short confirmation. */
export const overlay = $state<{ receiptId: string; flash: string }>({ receiptId: '', flash: '' });

// A confirmation stays at least FLASH_MS, and after that until the clerk's next action
// (a click or a key): one glance away from the screen must not lose it. A new flash
// replaces it at once.
const FLASH_MS = 5000;
let flashTimer: ReturnType<typeof setTimeout> | undefined;
let flashAged = false;
let flashListening = false;

function flashOnAction(e: Event) {
  if (!flashAged || !overlay.flash) return;
  if (e instanceof KeyboardEvent && ['Shift', 'Control', 'Alt', 'Meta'].includes(e.key)) return;
  overlay.flash = '';
  flashAged = false;
}

export function flash(message: string) {
  overlay.flash = message;
  flashAged = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (flashAged = true), FLASH_MS);
  if (!flashListening && typeof window !== 'undefined') {
    flashListening = true;
    window.addEventListener('pointerdown', flashOnAction, true);
    window.addEventListener('keydown', flashOnAction, true);
  }
}

export function openReceipt(paymentId: string) {
  overlay.receiptId = paymentId;
}

/** The header search box registers itself here so Ctrl+K / F2 can reach it from anywhere. */
export const searchBox: { focus: () => void; clear: () => boolean } = { focus: () => {}, clear: () => false };
