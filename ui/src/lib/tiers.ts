// How a member tier reads at the desk: its name in the UI language, and the header
// badge's tooltip (since when, the period's total, what is missing for the next tier).
import type { TierBadge } from '../bindings/TierBadge';
import type { MemberTier } from '../bindings/MemberTier';
import { i18n, t } from '../i18n/index.svelte';
import { money, date, fenToString } from './format';

// A tier's name in the UI language (English falls back to the Chinese name): of a badge
// or of a row of the manager's table.
export function tierName(b: { name_zh: string; name_en: string }): string {
  return i18n.lang === 'en' ? b.name_en || b.name_zh : b.name_zh;
}

// The badge's text: the name, with the discount when the tier gives one.
export function tierLabel(b: TierBadge): string {
  return b.discount_permille > 0 ? t('tiers.badge', { name: tierName(b), p: b.discount_percent }) : tierName(b);
}

function amount(m: MemberTier, v: number): string {
  return m.basis === 'spend' ? money(fenToString(BigInt(v))) : t('tiers.points_n', { n: v });
}

export function tierTitle(m: MemberTier): string {
  const parts = [t('tiers.standing', { from: date(m.period_from), to: date(m.period_to), value: amount(m, m.value) })];
  if (m.since) parts.push(t('tiers.since', { date: date(m.since) }));
  if (m.next && m.next_missing !== null) parts.push(t('tiers.next', { name: tierName(m.next), missing: amount(m, m.next_missing) }));
  if (m.pending_change) parts.push(t('tiers.pending'));
  return parts.join(t('common.sep'));
}
