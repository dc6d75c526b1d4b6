// Message catalogs and the t() helper. Every UI string lives in zh-CN.json / en.json
// (flat keys, same set in both; `npm run i18n:check` enforces it).
import type { Lang } from '../bindings/Lang';
import zh from './zh-CN.json';
import en from './en.json';
import { VOCABULARY_LABELS } from '../bindings/vocabulary';

type Catalog = Record<string, string>;
// The labels of the core's vocabularies (statuses, methods, kinds…) are generated from
// `crates/core/src/vocab.rs`, so a receipt, a CSV and a screen say the same word; the
// catalogues hold everything else (`npm run i18n:check` refuses a key in both).
const catalogs: Record<Lang, Catalog> = {
  'zh-CN': { ...VOCABULARY_LABELS['zh-CN'], ...(zh as Catalog) },
  en: { ...VOCABULARY_LABELS.en, ...(en as Catalog) },
};

export const i18n = $state<{ lang: Lang }>({ lang: 'zh-CN' });

export type Params = Record<string, string | number | null | undefined>;

/** Looks a key up in the current language; `{name}` placeholders take params. */
export function t(key: string, params?: Params): string {
  return tIn(i18n.lang, key, params);
}

/** Looks a key up in a given language (the recovery screen shows both at once). */
export function tIn(lang: Lang, key: string, params?: Params): string {
  const text = catalogs[lang][key] ?? catalogs['zh-CN'][key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    return v === null || v === undefined ? '' : String(v);
  });
}

/** Whether a key exists (for optional translations of codes, e.g. statuses). */
export function has(key: string): boolean {
  return key in catalogs[i18n.lang];
}

/** Translates a code (status, method…) under a prefix, falling back to the code itself. */
export function code(prefix: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const key = `${prefix}.${value}`;
  return has(key) ? t(key) : value;
}

export function setDocumentLang(lang: Lang) {
  i18n.lang = lang;
  document.documentElement.lang = lang;
  document.documentElement.dataset.lang = lang;
}
