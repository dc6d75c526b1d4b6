// Timetable helpers: weeks (Monday first), weekday labels, and the week view's place,
// kept here so it survives a visit to a roll call and back.
import type { ClassSession } from '../bindings/ClassSession';
import { addDays, todayIso } from './format';
import { t } from '../i18n/index.svelte';

/** ISO weekday of a YYYY-MM-DD date: 1 = Monday … 7 = Sunday. */
export function isoWeekday(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number);
  const wd = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return wd === 0 ? 7 : wd;
}

/** The Monday of the week `iso` is in. */
export function mondayOf(iso: string): string {
  return addDays(iso, 1 - isoWeekday(iso));
}

/** Short weekday name, 1 = Monday. */
export function weekdayShort(n: number): string {
  return t(`wd.${n}`);
}

/** "11-25 周三" */
export function dayLabel(iso: string): string {
  return t('tt.day_label', { md: iso.slice(5), wd: weekdayShort(isoWeekday(iso)) });
}

/** "2026-11-25 周三 16:00–17:00" */
export function sessionWhen(s: ClassSession): string {
  return t('tt.session_when', { date: s.date, wd: weekdayShort(isoWeekday(s.date)), start: s.start_time, end: s.end_time });
}

/** "剩余 3 个名额", or "已满" when nothing is left (capacity − booked ≤ 0). */
export function placesLeft(booked: number, capacity: number): string {
  const left = capacity - booked;
  return left > 0 ? t('trials.places_left', { n: left }) : t('trials.full');
}

export type Grouping = 'room' | 'coach';

/** Where the week view is (survives leaving the section for a roll call). */
export const ttView = $state<{ weekStart: string; by: Grouping; day: string }>({ weekStart: '', by: 'room', day: '' });

export function currentWeek(): string {
  if (!ttView.weekStart) ttView.weekStart = mondayOf(todayIso());
  return ttView.weekStart;
}

export function currentDay(): string {
  if (!ttView.day) ttView.day = todayIso();
  return ttView.day;
}

/** True when a key press comes from a place where typing happens. */
export function typing(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;
}
