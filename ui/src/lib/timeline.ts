// Turns a change-log entry into one readable line: catalog key
// `timeline.<entity>.<op>` with params from the row JSON; a change with no sentence
// there says what the change vocabulary calls it ("满意度 · 登记评分").
import type { TimelineEntry } from '../bindings/TimelineEntry';
import { t, has, code, type Params } from '../i18n/index.svelte';
import { money, date } from './format';

const MONEY_KEYS = new Set(['amount', 'list_price', 'amount_due', 'discount', 'price', 'paid', 'refund']);
const DATE_KEYS = new Set(['birthday', 'start_date', 'end_date', 'from_date', 'to_date', 'next_follow_up', 'business_date', 'date', 'due_date', 'hidden_until']);

function statusPrefix(entity: string): string {
  if (entity === 'lead') return 'lead_status';
  if (entity === 'contract') return 'contract_status';
  if (entity === 'trial_request') return 'trial_status';
  if (entity === 'notice') return 'notice_status';
  return 'member_status';
}

// What a line is made from: the change log's entity, op and row.
type Change = Pick<TimelineEntry, 'entity' | 'op' | 'data'>;

export function timelineParams(entry: Change): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(entry.data ?? {})) {
    if (v === null || v === undefined) {
      out[k] = '';
    } else if (Array.isArray(v)) {
      out[k] = v.map(String).join(t('common.list_sep'));
    } else if (typeof v === 'boolean') {
      out[k] = t(v ? 'common.yes' : 'common.no');
    } else if (typeof v === 'object') {
      continue;
    } else {
      const s = String(v);
      if (MONEY_KEYS.has(k)) out[k] = money(s);
      else if (DATE_KEYS.has(k)) out[k] = date(s);
      else if (k === 'method') out[k] = code('method', s);
      else if (k === 'status') out[k] = code(statusPrefix(entry.entity), s);
      else if (k === 'gender') out[k] = code('gender', s);
      else if (k === 'channel') out[k] = code('channel', s);
      else if (k === 'mark') out[k] = code('mark', s);
      else if (k === 'via') out[k] = code('via', s);
      else if (k === 'mood') out[k] = code('visit_mood', s);
      else if (k === 'rule' && entry.entity === 'visit_plan') out[k] = code('visit_rule', s);
      else if (k === 'kind' && entry.entity === 'notice') out[k] = code('notice_kind', s);
      else if (k === 'kind') out[k] = code(entry.entity === 'package' ? 'package_kind' : 'payment_kind', s);
      else out[k] = s;
    }
  }
  return out;
}

// `label`: the change vocabulary's name for it, for a change with no sentence.
export function describe(entry: Change, label: string): string {
  const key = `timeline.${entry.entity}.${entry.op}`;
  if (!has(key)) return label;
  return t(key, timelineParams(entry));
}
