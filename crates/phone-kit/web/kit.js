// What both phone pages share: the coach's page (served by the desk over the centre's
// Wi-Fi) and the parents' portal (served by head office). Plain JS, no framework, loaded
// before the page's own app.js, which declares `state` (at least lang, words and notice),
// `render()`, `signedIn()` and `signOut()`: these functions use them when called. Every
// word comes from the page's i18n/<lang>.json; data goes in as text, never as HTML.
"use strict";

function t(key, values) {
  let s = state.words[key] || key;
  for (const [k, v] of Object.entries(values || {})) s = s.split("{" + k + "}").join(String(v));
  return s;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) e.append(c.nodeType ? c : document.createTextNode(String(c)));
  return e;
}

// replaceChildren with the nodes given, leaving out the absent ones (null would be text).
function put(node, ...kids) {
  node.replaceChildren(...kids.flat().filter((k) => k != null && k !== false));
}

// A request id from the browser's random source, made when a form opens: a double tap or
// a retry sends the same id, and the desk applies it once. crypto.randomUUID needs HTTPS;
// the coach's page may be plain HTTP on the centre's Wi-Fi, so the UUID is made here.
function requestId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// A JSON call to the page's own server. A refusal throws its {code, field, message}
// (the message in the language of X-Lang) with the HTTP status; no answer at all
// throws {network: true}.
async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: Object.assign({ "X-Lang": state.lang }, body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw { network: true, message: t("network_error") };
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign({ status: res.status }, data);
  return data;
}

// The language: ?lang= in the address, else the one last chosen on this phone, else the
// page's fallback.
function chosenLanguage(fallback) {
  const wanted = new URLSearchParams(location.search).get("lang");
  if (wanted === "en" || wanted === "zh-CN") return wanted;
  let kept = null;
  try { kept = localStorage.getItem("lang"); } catch (e) { /* private mode */ }
  return kept === "en" || kept === "zh-CN" ? kept : fallback;
}

// The catalogue sits beside the page (relative: the portal lives under /p/<centre>/).
async function loadWords(lang) {
  state.lang = lang;
  document.documentElement.lang = lang;
  state.words = await fetch(`i18n/${lang}.json`, { cache: "no-store" }).then((r) => r.json());
  try { localStorage.setItem("lang", lang); } catch (e) { /* private mode */ }
}

// The bar on top: back (where there is a way back), the title, the other language, and
// sign out when the page's signedIn() says so.
function bar(title, back) {
  put(document.getElementById("bar"),
    back ? el("button", { type: "button", onclick: back, "data-test": "back" }, t("back")) : null,
    el("h1", {}, title),
    el("button", { type: "button", onclick: switchLang, "data-test": "lang" }, t("other_language")),
    signedIn() ? el("button", { type: "button", onclick: signOut, "data-test": "sign-out" }, t("sign_out")) : null,
  );
}

async function switchLang() {
  await loadWords(state.lang === "zh-CN" ? "en" : "zh-CN");
  render();
}

function actions(...buttons) {
  put(document.getElementById("actions"), ...buttons);
}

function say(text, error) {
  state.notice = { text, error: !!error };
}

function noticeBox() {
  if (!state.notice) return null;
  return el("div", { class: "notice" + (state.notice.error ? " error" : ""), role: "status", "data-test": "notice" }, state.notice.text);
}
