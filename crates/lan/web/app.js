// The coach's phone page, over kit.js (the phone pages' shared helpers). No network
// beyond the desk itself.
"use strict";

const state = { lang: "zh-CN", words: {}, me: null, today: null, roster: null, edits: {}, stale: new Set(), pending: null, notice: null, sale: null };
const MARK_CYCLE = ["present", "late", "absent"];

// Signed in: the bar offers 退出登录.
function signedIn() {
  return !!(state.me && state.me.signed_in);
}

function render() {
  if (!state.me || !state.me.paired) return renderPair();
  if (!state.me.signed_in) return renderSignIn();
  if (state.roster) return renderRoster();
  if (state.sale) return renderSale();
  return renderToday();
}

function failed(e) {
  if (e.status === 401) {
    state.roster = null;
    return start(e.message);
  }
  say(e.message || t("network_error"), true);
  render();
}

// ---- pairing and signing in

function renderPair() {
  bar(t("pair_title"));
  actions();
  const code = new URLSearchParams(location.search).get("code") || "";
  const codeInput = el("input", { id: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "8", value: code });
  const nameInput = el("input", { id: "device-name", maxlength: "60", placeholder: t("device_name_hint") });
  const go = el("button", { class: "primary", type: "submit" }, t("pair"));
  const form = el("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    go.disabled = true;
    try {
      await api("POST", "/api/pair", { code: codeInput.value.trim(), device_name: nameInput.value.trim() });
      history.replaceState(null, "", "/");
      state.notice = null;
      await start();
    } catch (e) {
      go.disabled = false;
      say(e.message, true);
      renderPair();
    }
  } },
    el("p", { class: "muted" }, t("pair_help")),
    el("label", { for: "code" }, t("pairing_code")), codeInput,
    el("label", { for: "device-name" }, t("device_name")), nameInput,
    go);
  put(document.getElementById("main"), noticeBox(), form);
}

function renderSignIn() {
  bar(t("sign_in_title"));
  actions();
  const user = el("input", { id: "username", autocomplete: "username", autocapitalize: "off" });
  const pass = el("input", { id: "password", type: "password", autocomplete: "current-password" });
  const go = el("button", { class: "primary", type: "submit" }, t("sign_in"));
  const form = el("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    go.disabled = true;
    try {
      await api("POST", "/api/sign-in", { username: user.value.trim(), password: pass.value });
      state.notice = null;
      await start();
    } catch (e) {
      go.disabled = false;
      say(e.message, true);
      renderSignIn();
    }
  } },
    el("label", { for: "username" }, t("username")), user,
    el("label", { for: "password" }, t("password")), pass,
    go);
  put(document.getElementById("main"), noticeBox(), form);
}

async function signOut() {
  await api("POST", "/api/sign-out").catch(() => {});
  state.roster = null;
  state.today = null;
  await start();
}

// ---- today's classes

async function openToday() {
  try {
    const [today, trials, handOvers] = await Promise.all([api("GET", "/api/today"), api("GET", "/api/trials"), api("GET", "/api/hand-overs")]);
    state.today = today;
    state.trials = trials;
    state.handOvers = handOvers;
    state.roster = null;
    render();
  } catch (e) {
    failed(e);
  }
}

function renderToday() {
  const d = state.today;
  bar(t("today_title", { name: d ? d.staff_name : "" }));
  actions(
    el("button", { class: "secondary", type: "button", onclick: openToday }, t("refresh")),
    el("button", { class: "secondary", type: "button", onclick: () => openSale(null), "data-test": "sell" }, t("sell_goods")));
  const main = document.getElementById("main");
  if (!d) return put(main);
  const list = d.classes.map((c) =>
    el("button", { class: "row", type: "button", "data-session": c.session_id, onclick: () => openRoster(c.session_id) },
      el("div", { class: "who" },
        el("div", { class: "name" }, `${c.start_time}–${c.end_time} ${c.group_name}`),
        el("div", { class: "muted" }, `${c.room_name} · ${c.coach_name}`),
        el("div", { class: "counts" },
          c.cancelled ? el("span", { class: "pill warn" }, t("cancelled")) : null,
          el("span", { class: "pill" }, t("count_expected", { n: c.expected })),
          c.on_leave ? el("span", { class: "pill leave" }, t("count_on_leave", { n: c.on_leave })) : null,
          c.trials ? el("span", { class: "pill trial" }, t("count_trials", { n: c.trials })) : null,
          el("span", { class: "pill" }, t("count_marked", { n: c.marked }))))));
  const trials = (state.trials || []).map((tr) =>
    el("div", { class: "card", "data-trial-request": tr.trial_id },
      el("h2", {}, tr.name),
      el("div", { class: "muted" }, `${tr.date} ${tr.start_time}–${tr.end_time} ${tr.group_name}`),
      el("div", { class: "counts" },
        tr.newcomer ? el("span", { class: "pill trial" }, t("newcomer")) : null,
        tr.from_portal ? el("span", { class: "pill", "data-test": "from-portal" }, t("from_portal")) : null,
        el("span", { class: tr.booked >= tr.capacity ? "pill warn" : "pill" }, t("booked_of", { n: tr.booked, capacity: tr.capacity }))),
      tr.note ? el("div", { class: "muted" }, tr.note) : null,
      el("div", { class: "line" },
        el("button", { class: "secondary", type: "button", "data-test": "decline", onclick: () => decideTrial(tr, false) }, t("decline")),
        el("button", { class: "primary", type: "button", "data-test": "approve", onclick: () => decideTrial(tr, true) }, t("approve")))));
  const handOvers = (state.handOvers || []).map((h) =>
    el("div", { class: "card", "data-sale": h.sale_id },
      el("h2", {}, `${h.member_name} · ${h.goods_name} × ${h.quantity}`),
      el("div", { class: "muted" }, `${h.sale_no} · ${h.business_date} · ${h.points ? t("paid_points", { n: h.points }) : t("paid_money", { amount: h.amount })}`),
      el("button", { class: "primary", type: "button", "data-test": "hand-over", onclick: () => handOver(h) }, t("hand_over"))));
  put(main,
    noticeBox(),
    el("p", { class: "fresh" }, t("fresh", { date: d.date, time: d.read_at })),
    ...(list.length ? list : [el("div", { class: "card muted" }, t("no_classes"))]),
    trials.length ? el("h3", {}, t("trials_waiting")) : null,
    ...trials,
    handOvers.length ? el("h3", {}, t("hand_overs_waiting")) : null,
    ...handOvers,
  );
}

async function decideTrial(tr, approve) {
  if (!approve && !confirm(t("confirm_decline", { name: tr.name }))) return;
  await answer("trial_decision", { trial_id: tr.trial_id, approve, note: "" }, approve ? t("trial_approved") : t("trial_declined"));
}

async function handOver(h) {
  await answer("goods_hand_over", { sale_id: h.sale_id }, t("handed_over", { name: h.member_name, goods: h.goods_name }));
}

// A request from the day's screen: says how it went and reads the day again.
async function answer(kind, payload, done) {
  const o = await request(kind, payload, renderToday);
  if (!o) return;
  say(o.status === "refused" ? refusal(o) : done, o.status === "refused");
  await openToday();
}

// ---- roll call

async function openRoster(sessionId, keepNotice) {
  try {
    state.roster = await api("GET", `/api/roster/${encodeURIComponent(sessionId)}`);
    state.edits = {};
    if (!keepNotice) {
      state.notice = null;
      state.stale = new Set();
    }
    render();
    window.scrollTo(0, 0);
  } catch (e) {
    failed(e);
  }
}

function lineKey(k) {
  return k.member_id || "trial:" + k.trial_id;
}

function current(k) {
  return Object.assign({ mark: k.mark || "", comment: k.comment, attended: k.trial_attended, withdraw: false }, state.edits[lineKey(k)] || {});
}

function edit(k, change) {
  state.edits[lineKey(k)] = Object.assign(current(k), change);
  state.stale.delete(k.member_id);
  renderRoster();
}

function changedLines() {
  return state.roster.children.filter((k) => {
    const c = current(k);
    return k.member_id ? c.mark !== (k.mark || "") || c.comment !== k.comment : c.attended !== k.trial_attended;
  });
}

function tap(k) {
  const c = current(k);
  if (!k.member_id) return edit(k, { attended: !c.attended });
  if (k.on_leave && !c.withdraw && (c.mark === "" || c.mark === "leave")) {
    if (!confirm(t("confirm_withdraw_leave", { name: k.name }))) return;
    return edit(k, { mark: "present", withdraw: true });
  }
  const i = MARK_CYCLE.indexOf(c.mark);
  edit(k, { mark: MARK_CYCLE[(i + 1) % MARK_CYCLE.length] });
}

function commentOn(k) {
  const text = prompt(t("comment_prompt", { name: k.name }), current(k).comment);
  if (text === null) return;
  edit(k, { comment: text.trim().slice(0, 300), mark: current(k).mark || "present" });
}

function markLabel(k, c) {
  if (!k.member_id) return c.attended ? t("mark_trial_attended") : t("mark_trial");
  if (!c.mark) return k.on_leave ? t("mark_leave") : t("mark_none");
  return t("mark_" + c.mark);
}

function renderRoster() {
  const r = state.roster;
  bar(`${r.class.start_time} ${r.class.group_name}`, () => { state.roster = null; openToday(); });
  const changed = changedLines();
  const save = el("button", { class: "primary", type: "button", disabled: changed.length === 0 && !state.pending, onclick: () => saveRollCall(false), "data-test": "save" },
    state.pending ? t("retry") : t("save_n", { n: changed.length }));
  const dismiss = el("button", { class: "secondary", type: "button", onclick: dismissClass, "data-test": "dismiss" }, t("dismiss"));
  actions(dismiss, save);
  const lines = r.children.map((k) => {
    const c = current(k);
    const isChanged = changed.includes(k);
    const pills = [
      k.trial ? el("span", { class: "pill trial" }, t("trial")) : null,
      k.on_leave ? el("span", { class: "pill leave" }, t("on_leave")) : null,
      k.member_id && (!k.covered || k.lessons_left === 0) ? el("span", { class: "pill warn" }, t("no_lessons_left")) : null,
      k.member_id && k.covered && k.lessons_left != null && k.lessons_left > 0 && k.lessons_left <= 3 ? el("span", { class: "pill" }, t("lessons_left", { n: k.lessons_left })) : null,
      k.birthday_today ? el("span", { class: "pill bday" }, t("birthday_today")) : null,
      !k.expected && k.member_id && !k.trial ? el("span", { class: "pill" }, t("makeup")) : null,
      state.stale.has(k.member_id) ? el("span", { class: "pill stale" }, t("changed_at_desk")) : null,
    ];
    return el("div", { class: "line" },
      el("button", { class: "row" + (isChanged ? " changed" : ""), type: "button", onclick: () => tap(k), "data-member": k.member_id || "", "data-trial": k.trial_id || "" },
        el("div", { class: "who" },
          el("div", { class: "name" }, k.name),
          el("div", { class: "muted" }, [k.member_no, k.guardian_phone].filter(Boolean).join(" · ")),
          el("div", { class: "counts" }, pills),
          c.comment ? el("div", { class: "muted" }, "“" + c.comment + "”") : null),
        el("span", { class: "mark " + (k.member_id ? c.mark || (k.on_leave ? "leave" : "") : c.attended ? "present" : "") }, markLabel(k, c))),
      k.member_id ? el("button", { class: "comment-btn", type: "button", onclick: () => commentOn(k), "aria-label": t("comment") }, t("comment")) : null);
  });
  const [search, hits] = memberSearch("makeup", t("makeup_search_hint"), addMakeup);
  put(document.getElementById("main"), 
    noticeBox(),
    el("p", { class: "fresh" }, t("roster_fresh", { time: r.read_at, capacity: r.capacity, n: r.children.length })),
    r.class.cancelled ? el("div", { class: "notice error" }, t("cancelled")) : null,
    el("p", { class: "muted" }, t("tap_help")),
    ...lines,
    el("label", { for: "makeup" }, t("add_makeup")), search, hits,
  );
}

// A search box for a child (name, pinyin, initials, phone tail) and its hits; a tap on a
// hit calls `pick` with it.
function memberSearch(id, hint, pick) {
  const search = el("input", { id, placeholder: hint, autocomplete: "off" });
  const hits = el("div", { class: "hits" });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = search.value.trim();
      if (!q) return hits.replaceChildren();
      try {
        const found = await api("GET", `/api/members?q=${encodeURIComponent(q)}`);
        hits.replaceChildren(...found.map((m) => el("button", { class: "row", type: "button", onclick: () => pick(m) },
          el("div", { class: "who" }, el("div", { class: "name" }, m.name), el("div", { class: "muted" }, [m.member_no, m.guardian_phone].filter(Boolean).join(" · "))))));
      } catch (e) {
        failed(e);
      }
    }, 250);
  });
  return [search, hits];
}

function addMakeup(m) {
  if (state.roster.children.some((k) => k.member_id === m.member_id)) return;
  state.roster.children.push({
    member_id: m.member_id, trial_id: null, name: m.name, member_no: m.member_no, guardian_phone: m.guardian_phone,
    expected: false, on_leave: false, trial: false, trial_attended: false, mark: null, comment: "", version: "",
    lessons_left: null, covered: true, birthday_today: false,
  });
  state.edits[m.member_id] = { mark: "present", comment: "", attended: false, withdraw: false };
  renderRoster();
}

// One save = one request. A retry of the same save (no answer came) sends the same id,
// so the desk applies it once; any change makes a new request.
async function send(kind, payload) {
  const key = JSON.stringify([kind, payload]);
  if (!state.pending || state.pending.key !== key) state.pending = { key, id: requestId() };
  const outcome = await api("POST", "/api/requests", { request_id: state.pending.id, kind, payload });
  state.pending = null;
  return outcome;
}

// Sends a request: its outcome, or null when it failed — with no answer the screen
// (`screen`) offers the retry, which sends the same request again.
async function request(kind, payload, screen) {
  try {
    return await send(kind, payload);
  } catch (e) {
    if (e.network) {
      say(t("not_sent_retry"), true);
      screen();
      return null;
    }
    state.pending = null;
    failed(e);
    return null;
  }
}

function refusal(o) {
  return state.lang === "en" ? o.message_en : o.message_zh;
}

async function saveRollCall(confirmEarly) {
  const r = state.roster;
  const lines = changedLines();
  const marks = lines.filter((k) => k.member_id).map((k) => {
    const c = current(k);
    return { member_id: k.member_id, mark: c.mark, comment: c.comment, seen: k.version, withdraw_leave: c.withdraw };
  });
  const trials = lines.filter((k) => !k.member_id).map((k) => ({ trial_id: k.trial_id, attended: current(k).attended }));
  const o = await request("roll_call", { session_id: r.class.session_id, marks, trials, confirm_early: confirmEarly }, renderRoster);
  if (!o) return;
  if (o.status === "refused") {
    if (o.code === "conflict.not_started_yet" && !confirmEarly && confirm(refusal(o))) return saveRollCall(true);
    say(refusal(o), true);
    return renderRoster();
  }
  state.stale = new Set(o.changed_at_desk);
  let text = t("saved", { n: o.saved, lessons: o.lessons_consumed, notices: o.notices_queued });
  if (o.changed_at_desk.length) text += " " + t("some_changed_at_desk", { n: o.changed_at_desk.length });
  if (o.no_contract.length) text += " " + t("no_contract_names", { names: o.no_contract.join("、") });
  say(text, o.changed_at_desk.length > 0);
  await openRoster(r.class.session_id, true);
}

async function dismissClass() {
  if (changedLines().length && !confirm(t("unsaved_confirm"))) return;
  const o = await request("dismiss", { session_id: state.roster.class.session_id }, renderRoster);
  if (!o) return;
  say(o.status === "refused" ? refusal(o) : t("dismissed", { notices: o.notices_queued }), o.status === "refused");
  renderRoster();
}

// ---- selling goods at the mat

async function openSale(member) {
  try {
    const shop = await api("GET", "/api/shop");
    state.sale = { shop, member, goods: null, quantity: 1, method: null, delivered: true };
    state.notice = null;
    render();
    window.scrollTo(0, 0);
  } catch (e) {
    failed(e);
  }
}

function methodLabel(m) {
  return state.lang === "en" ? m.label_en : m.label_zh;
}

// What the sale costs as the buttons say it: "¥50.00" or "80 points".
function saleTotal(sale) {
  const g = sale.goods;
  if (!g || !sale.method) return null;
  if (sale.method === "points") return t("points_n", { n: g.points_price * sale.quantity });
  // In whole fen, never a float: the price comes as "68.00".
  const [yuan, cents = ""] = g.price.split(".");
  const fen = (Number(yuan) * 100 + Number(cents.padEnd(2, "0").slice(0, 2))) * sale.quantity;
  return "¥" + Math.floor(fen / 100) + "." + String(fen % 100).padStart(2, "0");
}

function setSale(change) {
  Object.assign(state.sale, change);
  const sale = state.sale;
  if (sale.goods && sale.quantity > sale.goods.stock) sale.quantity = sale.goods.stock;
  if (sale.method === "points" && sale.goods && sale.goods.points_price == null) sale.method = null;
  renderSale();
}

function choice(selected, label, onclick, test) {
  return el("button", { class: "choice" + (selected ? " chosen" : ""), type: "button", "aria-pressed": selected ? "true" : "false", onclick, "data-test": test }, label);
}

function renderSale() {
  const sale = state.sale;
  bar(t("sell_goods"), () => { state.sale = null; openToday(); });
  const total = saleTotal(sale);
  const g = sale.goods;
  const canPoints = g && g.points_price != null;
  const short = canPoints && sale.method === "points" && sale.member && sale.member.points < g.points_price * sale.quantity;
  const ready = sale.member && g && sale.method && total && !short;
  const go = el("button", { class: "primary", type: "button", disabled: !ready, onclick: sell, "data-test": "confirm-sale" },
    state.pending ? t("retry") : ready ? t(sale.method === "points" ? "confirm_points" : "confirm_paid", { total }) : t("sell_pick"));
  actions(go);
  const main = document.getElementById("main");
  const who = sale.member
    ? el("div", { class: "card", "data-test": "buyer" },
        el("h2", {}, sale.member.name),
        el("div", { class: "muted" }, [sale.member.member_no, sale.member.guardian_phone].filter(Boolean).join(" · ")),
        el("div", { class: "counts" }, el("span", { class: "pill" }, t("points_balance", { n: sale.member.points }))),
        el("button", { class: "secondary", type: "button", onclick: () => setSale({ member: null }) }, t("change_child")))
    : null;
  const [search, hits] = sale.member ? [null, null] : memberSearch("buyer", t("makeup_search_hint"), (m) => setSale({ member: m }));
  const goods = sale.shop.goods.map((g) =>
    el("button", { class: "row" + (sale.goods && sale.goods.goods_id === g.goods_id ? " changed" : ""), type: "button", "data-goods": g.goods_id, onclick: () => setSale({ goods: g }) },
      el("div", { class: "who" },
        el("div", { class: "name" }, g.name),
        el("div", { class: "muted" }, [g.category, t("in_stock", { n: g.stock })].filter(Boolean).join(" · "))),
      el("span", { class: "mark" }, "¥" + g.price, g.points_price != null ? el("div", { class: "muted" }, t("points_n", { n: g.points_price })) : null)));
  put(main,
    noticeBox(),
    el("label", { for: "buyer" }, t("sale_child")),
    who, search, hits,
    el("label", {}, t("sale_goods")),
    ...(goods.length ? goods : [el("div", { class: "card muted" }, t("nothing_on_sale"))]),
    g ? el("label", {}, t("quantity")) : null,
    g ? el("div", { class: "stepper" },
      el("button", { class: "secondary", type: "button", disabled: sale.quantity <= 1, onclick: () => setSale({ quantity: sale.quantity - 1 }), "aria-label": t("less") }, "−"),
      el("span", { class: "count", "data-test": "quantity" }, String(sale.quantity)),
      el("button", { class: "secondary", type: "button", disabled: sale.quantity >= g.stock, onclick: () => setSale({ quantity: sale.quantity + 1 }), "aria-label": t("more") }, "+")) : null,
    g ? el("label", {}, t("sale_method")) : null,
    g ? el("div", { class: "choices" },
      canPoints ? choice(sale.method === "points", t("pay_points"), () => setSale({ method: "points" }), "method-points") : null,
      ...sale.shop.methods.map((m) => choice(sale.method === m.code, methodLabel(m), () => setSale({ method: m.code }), "method-" + m.code))) : null,
    short ? el("div", { class: "notice error" }, t("not_enough_points", { n: sale.member.points })) : null,
    g && sale.method === "cash" ? el("p", { class: "muted" }, t("money_is_yours")) : null,
    g ? el("label", { class: "check" },
      el("input", { type: "checkbox", checked: sale.delivered, onchange: (ev) => { sale.delivered = ev.target.checked; }, "data-test": "delivered" }),
      t("delivered_now")) : null,
  );
}

async function sell() {
  const sale = state.sale;
  const payload = { goods_id: sale.goods.goods_id, member_id: sale.member.member_id, quantity: sale.quantity, method: sale.method, delivered: sale.delivered };
  const o = await request("goods_sale", payload, renderSale);
  if (!o) return;
  if (o.status === "refused") {
    say(refusal(o), true);
    return renderSale();
  }
  say(t("sold", { no: o.record_no, name: sale.member.name, goods: sale.goods.name, n: sale.quantity, total: saleTotal(sale) }));
  state.sale = null;
  await openToday();
}

// ---- start

async function start(message) {
  try {
    state.me = await api("GET", "/api/me");
  } catch (e) {
    state.me = null;
    say(e.message || t("network_error"), true);
  }
  if (message) say(message, true);
  if (state.me && state.me.signed_in) return openToday();
  render();
}

(async () => {
  await loadWords(chosenLanguage((navigator.language || "").startsWith("en") ? "en" : "zh-CN"));
  await start();
})();
