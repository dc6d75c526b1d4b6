// Display helpers. Money arrives as decimal strings ("1234.50"); it is never turned
// into a float: formatting is string work and arithmetic is integer fen (BigInt).

const MONEY_RE = /^\s*([+-]?)(\d*)(?:\.(\d{0,2}))?\s*$/;

/** Parses a decimal string to integer fen; null if it is not a money amount. */
export function toFen(s: string | null | undefined): bigint | null {
  if (s == null) return null;
  const text = String(s).replace(/[¥,\uff0c\s]/g, '');
  if (text === '' || text === '-' || text === '+') return null;
  const m = MONEY_RE.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const yuan = BigInt(m[2] === '' ? '0' : m[2]);
  const fen = BigInt(((m[3] ?? '') + '00').slice(0, 2));
  const total = yuan * 100n + fen;
  return m[1] === '-' ? -total : total;
}

/** Integer fen back to a plain decimal string, e.g. 123450n → "1234.50". */
export function fenToString(fen: bigint): string {
  const neg = fen < 0n;
  const abs = neg ? -fen : fen;
  const yuan = (abs / 100n).toString();
  const cents = (abs % 100n).toString().padStart(2, '0');
  return `${neg ? '-' : ''}${yuan}.${cents}`;
}

function groupThousands(digits: string): string {
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}

/** "1234.5" → "¥1,234.50"; "-300" → "-¥300.00"; empty/null → "—". */
export function money(s: string | null | undefined): string {
  const fen = toFen(s);
  if (fen === null) return s == null || s === '' ? '—' : String(s);
  const plain = fenToString(fen);
  const neg = plain.startsWith('-');
  const [yuan, cents] = (neg ? plain.slice(1) : plain).split('.');
  return `${neg ? '-' : ''}¥${groupThousands(yuan)}.${cents}`;
}

/** True when a money string is above zero. */
export function positive(s: string | null | undefined): boolean {
  const fen = toFen(s);
  return fen !== null && fen > 0n;
}

/** True when a money string is below zero. */
export function negative(s: string | null | undefined): boolean {
  const fen = toFen(s);
  return fen !== null && fen < 0n;
}

/** a − b as a decimal string, or null if either is not money. */
export function subtract(a: string, b: string): string | null {
  const x = toFen(a);
  const y = toFen(b === '' ? '0' : b);
  if (x === null || y === null) return null;
  return fenToString(x - y);
}

const pad = (n: number) => String(n).padStart(2, '0');

// Instants are shown in the centre's time zone (Settings), not the PC's: a desk PC
// left on another zone must not move a payment to yesterday.
let centreZone: string | undefined;
export function setCentreZone(tz: string | undefined) {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: tz });
    centreZone = tz;
  } catch {
    centreZone = undefined;
  }
}

function zoned(d: Date): { y: string; m: string; d: string; hh: string; mm: string } {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: centreZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
  return { y: p.year, m: p.month, d: p.day, hh: p.hour, mm: p.minute };
}

// "Now" is the core's clock, not the PC's: the shell reports the core's instant at
// start (a desk started with --clock runs on a chosen day), and the UI keeps the offset.
let clockOffsetMs = 0;
export function setCoreNow(instant: string) {
  const at = Date.parse(instant);
  if (!isNaN(at)) clockOffsetMs = at - Date.now();
}

/** The core's current instant. */
export function now(): Date {
  return new Date(Date.now() + clockOffsetMs);
}

/** Today in the centre's time zone as YYYY-MM-DD. */
export function todayIso(): string {
  const z = zoned(now());
  return `${z.y}-${z.m}-${z.d}`;
}

/** YYYY-MM-DD shifted by n days (calendar arithmetic in UTC: no PC time zone or DST in it). */
export function addDays(iso: string, n: number): string {
  const [y, m, d] = iso.split('-').map(Number);
  const dt = new Date(Date.UTC(y, m - 1, d + n));
  return `${dt.getUTCFullYear()}-${pad(dt.getUTCMonth() + 1)}-${pad(dt.getUTCDate())}`;
}

/** A date (YYYY-MM-DD) or instant (ISO) shown as YYYY-MM-DD; empty → "—". */
export function date(s: string | null | undefined): string {
  if (!s) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  const d = new Date(s);
  if (isNaN(d.getTime())) return s;
  const z = zoned(d);
  return `${z.y}-${z.m}-${z.d}`;
}

/** A UTC instant shown in the centre's time zone as YYYY-MM-DD HH:mm. */
export function dateTime(s: string | null | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  if (isNaN(d.getTime())) return s;
  const z = zoned(d);
  return `${z.y}-${z.m}-${z.d} ${z.hh}:${z.mm}`;
}

/** Whole years from a YYYY-MM-DD birthday to today; null if unknown. */
export function age(birthday: string | null | undefined, today = todayIso()): number | null {
  if (!birthday || !/^\d{4}-\d{2}-\d{2}/.test(birthday)) return null;
  const [by, bm, bd] = birthday.slice(0, 10).split('-').map(Number);
  const [ty, tm, td] = today.split('-').map(Number);
  let years = ty - by;
  if (tm < bm || (tm === bm && td < bd)) years--;
  return years >= 0 ? years : null;
}

/**
 * Lenient date typing for the desk: "20180305", "2018/3/5", "2018.3.5" (or with the Chinese year/month/day marks) → "2018-03-05".
 * Anything else is returned as typed, and the core explains what is wrong.
 */
export function normalizeDate(s: string): string {
  const v = s.trim();
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(v);
  if (m) return `${m[1]}-${m[2]}-${m[3]}`;
  m = /^(\d{4})[-/.\u5e74](\d{1,2})[-/.\u6708](\d{1,2})\u65e5?$/.exec(v);
  if (m) return `${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}`;
  return v;
}

/** Empty string → null, for optional fields. */
export function orNull(s: string | null | undefined): string | null {
  const v = (s ?? '').trim();
  return v === '' ? null : v;
}
