#!/usr/bin/env node
// i18n check (no test framework). Notes {placeholder} differences; fails when
//  - zh-CN.json and en.json do not have the same keys, or a value is not a string,
//  - a component (.svelte) or UI module (.ts) contains Han characters;
//  - component markup contains literal English text (text nodes, or placeholder /
//    title / aria-label / alt / label attributes) instead of a t() call;
//  - a t('literal.key') call names a key that is not in the catalogs.
// Generated bindings (src/bindings) are not checked.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const problems = [];
const fail = (msg) => problems.push(msg);

// ---- catalogs ----
// `label` names the file in messages: "zh-CN.json" for the desk's, a path for others.
function loadCatalog(dir, label) {
  const path = join(dir, 'i18n', label.split('/').pop());
  let data;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(`${label}: not valid JSON (${e.message})`);
    return {};
  }
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') fail(`${label}: "${k}" is not a string`);
  }
  return data;
}
const placeholders = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
// A language may word a message with other params (a date heading), so this only warns.
const warnings = [];
// Both languages hold the same keys; `prefix` is where the two files are, for messages.
function compareCatalogs(zh, en, prefix) {
  for (const k of Object.keys(zh)) if (!(k in en)) fail(`${prefix}en.json is missing "${k}"`);
  for (const k of Object.keys(en)) if (!(k in zh)) fail(`${prefix}zh-CN.json is missing "${k}"`);
  for (const k of Object.keys(zh)) {
    if (k in en && placeholders(zh[k]) !== placeholders(en[k])) {
      warnings.push(`${prefix}"${k}": placeholders differ (zh-CN {${placeholders(zh[k])}} vs en {${placeholders(en[k])}})`);
    }
  }
}
const zh = loadCatalog(src, 'zh-CN.json');
const en = loadCatalog(src, 'en.json');
compareCatalogs(zh, en, '');
// The vocabularies' labels are generated from the core (src/bindings/vocabulary.ts) and
// merged under the catalogues: a key may be declared in one place only.
const generated = readFileSync(join(src, 'bindings', 'vocabulary.ts'), 'utf8');
const zhBlock = generated.slice(generated.indexOf("'zh-CN': {"), generated.indexOf('  },'));
const vocabularyKeys = [...zhBlock.matchAll(/^ {4}"([^"]+)":/gm)].map((m) => m[1]);
if (!vocabularyKeys.length) fail('src/bindings/vocabulary.ts: no VOCABULARY_LABELS (run the core binding export)');
for (const k of vocabularyKeys) {
  if (k in zh || k in en) fail(`"${k}" is a vocabulary label generated from crates/core/src/vocab.rs — delete it from the catalogues`);
}
const zhKeys = new Set([...Object.keys(zh), ...vocabularyKeys]);

// ---- sources ----
function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p === join(src, 'bindings')) continue;
      walk(p, out);
    } else if (/\.(svelte|ts)$/.test(name)) out.push(p);
  }
  return out;
}

const HAN = /\p{Script=Han}/u;
const ENGLISH = /[A-Za-z]{2,}/;
const TEXT_ATTRS = ['placeholder', 'title', 'aria-label', 'alt', 'label'];

function lineOf(text, index) {
  return text.slice(0, index).split('\n').length;
}

function stripComments(code) {
  // keeps line breaks so line numbers stay right
  return code
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, (m, p1) => p1 + ' '.repeat(m.length - p1.length));
}

/** Replaces every {...} expression (brace-balanced, string-aware) with spaces. */
function blankExpressions(markup) {
  let out = '';
  let depth = 0;
  let quote = null;
  for (let i = 0; i < markup.length; i++) {
    const c = markup[i];
    if (depth === 0) {
      if (c === '{') {
        depth = 1;
        out += ' ';
      } else out += c;
      continue;
    }
    if (quote) {
      if (c === '\\') {
        out += '  ';
        i++;
        continue;
      }
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    out += c === '\n' ? '\n' : ' ';
  }
  return out;
}

const usedKeys = new Map();

for (const file of walk(src)) {
  const rel = relative(root, file);
  const text = readFileSync(file, 'utf8');

  for (const m of text.matchAll(/\bt\(\s*'([^'$`]+)'/g)) {
    if (!usedKeys.has(m[1])) usedKeys.set(m[1], `${rel}:${lineOf(text, m.index)}`);
  }

  const code = stripComments(text.replace(/<!--[\s\S]*?-->/g, (m) => m.replace(/[^\n]/g, ' ')));
  const han = HAN.exec(code);
  if (han) fail(`${rel}:${lineOf(code, han.index)}: Han characters in source — move the text to the catalogs`);

  if (!file.endsWith('.svelte')) continue;
  // markup only: drop <script> and <style> blocks and comments
  let markup = text
    .replace(/<!--[\s\S]*?-->/g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/<script[\s\S]*?<\/script>/g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/<style[\s\S]*?<\/style>/g, (m) => m.replace(/[^\n]/g, ' '));
  markup = blankExpressions(markup);
  // attributes that carry text for people
  for (const attr of TEXT_ATTRS) {
    const re = new RegExp(`\\s${attr}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'g');
    for (const m of markup.matchAll(re)) {
      const value = m[2] ?? m[3] ?? '';
      if (ENGLISH.test(value)) fail(`${rel}:${lineOf(markup, m.index)}: literal text in ${attr}="${value.trim()}" — use t()`);
    }
  }
  // text nodes
  const textOnly = markup.replace(/<[^>]*>/g, (m) => m.replace(/[^\n]/g, ' '));
  for (const m of textOnly.matchAll(/[^\s]+(?:[ \t]+[^\s]+)*/g)) {
    if (ENGLISH.test(m[0])) fail(`${rel}:${lineOf(textOnly, m.index)}: literal text "${m[0].slice(0, 40)}" in markup — use t()`);
  }
}

for (const [key, where] of usedKeys) {
  if (!zhKeys.has(key)) fail(`${where}: t('${key}') is not in the catalogs`);
}

// ---- the plain-JS phone pages, each with its own two catalogues: the coach's
// (crates/lan/web) and the parents' portal (crates/server/portal) ----
for (const page of ['crates/lan/web', 'crates/server/portal']) {
  const dir = join(root, '..', ...page.split('/'));
  const pageZh = loadCatalog(dir, `${page}/i18n/zh-CN.json`);
  const pageEn = loadCatalog(dir, `${page}/i18n/en.json`);
  compareCatalogs(pageZh, pageEn, `${page}/i18n/`);
  // The page's own code and the shared kit's (crates/phone-kit/web/kit.js), whose
  // words each page's catalogues must also hold.
  for (const [file, code] of [[`${page}/app.js`, join(dir, 'app.js')], ['crates/phone-kit/web/kit.js', join(root, '..', 'crates', 'phone-kit', 'web', 'kit.js')]]) {
    const js = stripComments(readFileSync(code, 'utf8'));
    if (HAN.test(js)) fail(`${file}: Han characters in the page code — put them in the catalogues`);
    for (const m of js.matchAll(/\bt\("([a-z0-9_]+)"\s*[,)]/g)) {
      if (!(m[1] in pageZh)) fail(`${file}:${lineOf(js, m.index)}: t("${m[1]}") is not in ${page}/i18n/`);
    }
  }
}

for (const w of warnings) console.warn('  note: ' + w);
if (problems.length) {
  console.error(`i18n check failed (${problems.length}):`);
  for (const p of problems) console.error('  ' + p);
  process.exit(1);
}
console.log(`i18n check ok: ${zhKeys.size} keys in zh-CN and en, ${usedKeys.size} literal keys used, no literal UI text in components.`);
