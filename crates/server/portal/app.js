// The parents' portal page, over kit.js (the phone pages' shared helpers). Nothing is
// fetched but this server's own files and API, relative to /p/<centre>/.
"use strict";

const state = { lang: "zh-CN", words: {}, me: null, child: null, childId: null, requests: [], leave: null, trial: null, trialPick: false, notice: null, readNotice: false, sending: false, account: null };

// Signed in: the bar offers 退出登录.
function signedIn() {
  return !!state.me;
}

function freshness() {
  const c = state.me.centre;
  return [
    el("p", { class: "fresh", "data-test": "fresh" }, t("fresh", { time: c.published_at })),
    state.me.desk_offline ? el("div", { class: "banner", "data-test": "offline" }, t("desk_offline")) : null,
  ];
}

function failed(e) {
  if (e.status === 401) {
    state.me = null;
    return render();
  }
  say(e.message || t("network_error"), true);
  render();
}

function render() {
  if (!state.me) return renderSignedOut();
  if (state.account) return renderAccount();
  if (state.me.needs_consent || state.readNotice) return renderConsent();
  if (state.leave) return renderLeave();
  if (state.trial) return renderTrial();
  if (state.trialPick) return renderTrialPick();
  return renderHome();
}

function renderSignedOut() {
  bar(t("title"));
  actions();
  put(document.getElementById("main"), noticeBox(), el("div", { class: "card", "data-test": "signed-out" }, el("h2", {}, t("signed_out_title")), el("p", {}, t("signed_out_text"))));
}

// ---- consent

function renderConsent() {
  const c = state.me.centre;
  bar(c.name);
  const refused = state.me.consent && !state.me.consent.accepted && !state.readNotice;
  if (refused) {
    actions(el("button", { class: "primary", type: "button", "data-test": "read-notice", onclick: () => { state.readNotice = true; render(); } }, t("consent_read_again")));
    put(document.getElementById("main"), noticeBox(), freshness(), el("div", { class: "card", "data-test": "consent-refused" }, el("p", {}, t("consent_refused"))), accountLink());
    return;
  }
  const id = requestId();
  const answer = (accepted) => async () => {
    if (state.sending) return;
    state.sending = true;
    try {
      await api("POST", "api/requests", { request_id: id, kind: "consent", payload: { version: c.notice_version, accepted } });
      state.readNotice = false;
      state.notice = null;
      await loadMe();
    } catch (e) {
      say(e.message || t("network_error"), true);
    } finally {
      state.sending = false;
    }
    render();
  };
  actions(
    el("button", { class: "secondary", type: "button", "data-test": "consent-refuse", onclick: answer(false) }, t("consent_refuse")),
    el("button", { class: "primary", type: "button", "data-test": "consent-accept", onclick: answer(true) }, t("consent_accept")),
  );
  put(document.getElementById("main"), noticeBox(),
    el("div", { class: "card", "data-test": "consent" }, el("h2", {}, t("consent_title")), el("p", { class: "muted" }, t("consent_intro")), el("p", { class: "notice-text" }, c.privacy_notice)));
}

// ---- home: the children, their classes, requests

function markWord(mark) {
  return t("mark_" + mark);
}

function lessonState(u) {
  if (u.cancelled) return el("span", { class: "state pill warn" }, t("cancelled"));
  if (u.on_leave) return el("span", { class: "state pill leave", "data-test": "on-leave" }, t("on_leave"));
  if (u.marked) return el("span", { class: "state pill" }, t("marked"));
  return el("button", { class: "primary", type: "button", "data-test": "ask-leave", "data-session": u.session_id, onclick: () => openLeave(u) }, t("ask_leave"));
}

function requestLine(r) {
  const p = r.request.payload || {};
  let what = "";
  if (r.request.kind === "leave") {
    const child = state.child && state.child.member_id === p.member_id ? state.child : null;
    const lines = child ? child.upcoming.filter((u) => (p.session_ids || []).includes(u.session_id)) : [];
    what = lines.length ? t("kind_leave", { when: lines.map((u) => `${u.date} ${u.start_time}`).join("、") }) : t("kind_leave_plain");
  }
  let trialState = null;
  if (r.request.kind === "trial") {
    const s = state.me.centre.timetable.find((x) => x.session_id === p.session_id);
    what = s ? t("kind_trial", { when: `${s.date} ${s.start_time}`, group: s.group_name }) : t("kind_trial_plain");
    const line = state.child && state.child.member_id === p.member_id ? (state.child.trials || []).find((x) => x.session_id === p.session_id) : null;
    trialState = line ? line.status : null;
  }
  let status = t("waiting");
  if (r.outcome && r.outcome.status === "accepted") status = r.request.kind === "leave" ? t("leave_confirmed") : r.request.kind === "trial" ? t("trial_" + (trialState || "requested")) : t("accepted");
  if (r.outcome && r.outcome.status === "refused") status = t("refused", { reason: state.lang === "zh-CN" ? r.outcome.message_zh : r.outcome.message_en });
  return el("li", { "data-test": "request", "data-status": r.outcome ? r.outcome.status : "waiting" }, el("div", {}, what), el("div", { class: "muted" }, status));
}

function renderHome() {
  const me = state.me;
  bar(me.centre.name);
  actions();
  const main = document.getElementById("main");
  if (!me.children.length) {
    put(main, noticeBox(), freshness(), el("div", { class: "card", "data-test": "no-children" }, t("no_children")), accountLink());
    return;
  }
  const tabs = me.children.length > 1
    ? el("div", { class: "tabs" }, me.children.map((c) => el("button", { type: "button", class: "tab" + (c.member_id === state.childId ? " chosen" : ""), "data-test": "child-tab", onclick: () => pick(c.member_id) }, c.name)))
    : null;
  const k = state.child;
  if (!k) {
    put(main, noticeBox(), freshness(), tabs);
    return;
  }
  const figures = el("div", { class: "figures" },
    el("div", { class: "figure" }, el("b", { "data-test": "lessons-left" }, k.lessons_left == null ? t("unlimited") : k.lessons_left), el("span", {}, t("lessons_left"))),
    el("div", { class: "figure" }, el("b", { "data-test": "valid-until" }, k.valid_until || t("none")), el("span", {}, t("valid_until"))),
    el("div", { class: "figure" }, el("b", { "data-test": "points" }, k.points), el("span", {}, t("points"))),
  );
  // The consent answers are the notice's business, not a request to follow.
  const mine = state.requests.filter((r) => r.request.kind !== "consent");
  put(main, noticeBox(), freshness(), tabs,
    el("div", { class: "card", "data-test": "child" }, el("h2", { "data-test": "child-name" }, k.name), k.member_no ? el("div", { class: "muted" }, t("member_no", { no: k.member_no })) : null, figures),
    // The answers first: what a parent comes back to see.
    mine.length ? [el("h3", {}, t("requests")), el("div", { class: "card" }, el("ul", { class: "plain", "data-test": "requests" }, mine.slice(0, 5).map(requestLine)))] : null,
    el("h3", {}, t("upcoming")),
    k.upcoming.length ? k.upcoming.map((u) => el("div", { class: "lesson", "data-test": "upcoming" }, el("div", { class: "who" }, el("div", { class: "name" }, `${u.date} ${u.start_time}–${u.end_time}`), el("div", { class: "muted" }, u.group_name)), lessonState(u))) : el("p", { class: "muted" }, t("no_upcoming")),
    trialSection(k),
    el("h3", {}, t("contracts")),
    el("div", { class: "card" }, el("ul", { class: "plain" }, k.contracts.map((c) => el("li", {}, t("contract_line", { package: c.package_name, start: c.start_date, end: c.end_date }), c.lessons_total != null ? el("div", { class: "muted" }, t("contract_lessons", { left: c.lessons_left, total: c.lessons_total })) : null)))),
    el("h3", {}, t("attendance")),
    el("div", { class: "card" }, k.attendance.length ? el("ul", { class: "plain", "data-test": "attendance" }, k.attendance.map((a) => el("li", {}, `${a.date} ${a.start_time} ${a.group_name} · ${markWord(a.mark)} · ${a.consumed ? t("consumed") : t("not_consumed")}`))) : el("p", { class: "muted" }, t("no_attendance"))),
    el("h3", {}, t("points_history")),
    el("div", { class: "card" }, el("ul", { class: "plain" }, k.points_entries.map((p) => el("li", {}, `${p.at} ${p.delta > 0 ? "+" : ""}${p.delta} ${p.reason}`)))),
    me.centre.phone ? el("p", { class: "muted" }, t("centre_contact", { phone: me.centre.phone })) : null,
    accountLink(),
  );
}

// ---- 登录设备与账户: the guardian's sessions, and deleting their portal account

function accountLink() {
  return el("button", { class: "secondary", type: "button", "data-test": "account-open", onclick: openAccount }, t("account_open"));
}

async function openAccount() {
  state.notice = null;
  try {
    state.account = { sessions: await api("GET", "api/sessions"), confirming: false, id: requestId() };
  } catch (e) {
    return failed(e);
  }
  render();
}

// One of the account page's calls at a time; a failure is said on the page, which is
// drawn again either way.
async function accountCall(work) {
  if (state.sending) return;
  state.sending = true;
  try {
    await work();
  } catch (e) {
    say(e.message || t("network_error"), true);
  } finally {
    state.sending = false;
  }
  render();
}

// Signed out (this phone's session ended, or the account deleted): the signed-out page.
function leaveAccount() {
  state.account = null;
  state.me = null;
  state.child = null;
}

const revokeSession = (s) => accountCall(async () => {
  const r = await api("POST", "api/sessions/" + encodeURIComponent(s.id) + "/revoke");
  if (!r.signed_in) return leaveAccount();
  state.account.sessions = await api("GET", "api/sessions");
  say(t("session_revoked"));
});

const deleteAccount = () => accountCall(async () => {
  await api("POST", "api/requests", { request_id: state.account.id, kind: "leave_portal", payload: {} });
  leaveAccount();
  say(t("account_deleted"));
});

// An instant from head office (UTC) in the phone's own time, as a parent reads a clock.
function localTime(iso) {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function renderAccount() {
  const a = state.account;
  bar(t("account_title"), () => { state.account = null; render(); });
  actions();
  const line = (s) => el("div", { class: "lesson", "data-test": "session", "data-current": s.current ? "1" : "0" },
    el("div", { class: "who" },
      el("div", { class: "name" }, s.device || t("device_unknown"), s.current ? el("span", { class: "pill" }, t("this_device")) : null),
      el("div", { class: "muted" }, t("session_since", { at: localTime(s.created_at) })),
      s.seen_at ? el("div", { class: "muted" }, t("session_seen", { at: localTime(s.seen_at) })) : null),
    el("button", { class: "secondary", type: "button", "data-test": "session-revoke", onclick: () => revokeSession(s) }, s.current ? t("sign_out") : t("session_revoke")));
  const danger = a.confirming
    ? el("div", { class: "card", "data-test": "delete-confirm" }, el("p", {}, t("account_delete_confirm")),
        el("button", { class: "secondary", type: "button", onclick: () => { a.confirming = false; render(); } }, t("back")),
        el("button", { class: "danger", type: "button", "data-test": "account-delete-yes", onclick: deleteAccount }, t("account_delete_yes")))
    : el("div", { class: "card" }, el("p", { class: "muted" }, t("account_delete_intro")),
        el("button", { class: "danger", type: "button", "data-test": "account-delete", onclick: () => { a.confirming = true; render(); } }, t("account_delete")));
  put(document.getElementById("main"), noticeBox(),
    el("h3", {}, t("sessions")), el("div", { "data-test": "sessions" }, a.sessions.map(line)),
    el("h3", {}, t("account_delete")), danger);
}

// A sheet's send button: one request however often it is tapped (the id was made as the
// sheet opened), then the sheet closes (`sent` resets it and names the notice).
function sendButton(test, label, request, sent) {
  const send = el("button", { class: "primary", type: "button", "data-test": test, onclick: async () => {
    if (state.sending) return;
    state.sending = true;
    send.disabled = true;
    try {
      await api("POST", "api/requests", request());
      const words = sent();
      say(state.me.desk_offline ? t("leave_sent_offline") : words);
      await refresh();
    } catch (e) {
      say(e.message || t("network_error"), true);
    } finally {
      state.sending = false;
      send.disabled = false;
    }
    render();
  } }, label);
  return send;
}

// ---- trial classes 试课 in another class

function trialSection(k) {
  const lines = (k.trials || []).map((tr) =>
    el("li", { "data-test": "trial", "data-status": tr.status }, el("div", {}, `${tr.date} ${tr.start_time}–${tr.end_time} ${tr.group_name}`), el("div", { class: "muted" }, t("trial_" + tr.status))));
  return [
    el("h3", {}, t("trials")),
    el("div", { class: "card" },
      lines.length ? el("ul", { class: "plain", "data-test": "trials" }, lines) : el("p", { class: "muted" }, t("trials_intro")),
      el("button", { class: "secondary", type: "button", "data-test": "trial-open", onclick: () => { state.trialPick = true; state.notice = null; render(); } }, t("trial_ask"))),
  ];
}

// The classes a child could try: the centre's next four weeks, not the child's own
// classes, not cancelled, not asked for already (the desk holds the same rules).
function trialChoices(k) {
  const own = new Set(k.upcoming.map((u) => u.session_id));
  const asked = new Set((k.trials || []).filter((x) => x.status !== "declined").map((x) => x.session_id));
  // Not one that has started by the publish time (the desk refuses those anyway).
  const now = state.me.centre.published_at;
  return state.me.centre.timetable.filter((s) => s.status === "scheduled" && `${s.date} ${s.start_time}` > now && !own.has(s.session_id) && !asked.has(s.session_id)).slice(0, 30);
}

function renderTrialPick() {
  const k = state.child;
  bar(t("trial_title"), () => { state.trialPick = false; render(); });
  actions();
  const choices = trialChoices(k);
  put(document.getElementById("main"), noticeBox(),
    el("p", {}, t("trial_pick", { child: k.name })),
    choices.length
      ? choices.map((s) => el("div", { class: "lesson", "data-test": "trial-choice" },
          el("div", { class: "who" }, el("div", { class: "name" }, `${s.date} ${s.start_time}–${s.end_time}`), el("div", { class: "muted" }, `${s.group_name} · ${s.coach_name}`)),
          el("button", { class: "primary", type: "button", "data-test": "trial-choose", "data-session": s.session_id, onclick: () => { state.trial = { lesson: s, id: requestId() }; render(); } }, t("trial_choose"))))
      : el("p", { class: "muted" }, t("trial_none")));
}

function renderTrial() {
  const { lesson, id } = state.trial;
  bar(t("trial_title"), () => { state.trial = null; render(); });
  const note = el("textarea", { id: "trial-note", maxlength: "200", rows: "2", "data-test": "trial-note" });
  const send = sendButton("trial-send", t("trial_send"), () => ({ request_id: id, kind: "trial", payload: { member_id: state.child.member_id, session_id: lesson.session_id, note: note.value } }), () => {
    state.trial = null;
    state.trialPick = false;
    return t("trial_sent");
  });
  actions(send);
  put(document.getElementById("main"), noticeBox(),
    el("div", { class: "card", "data-test": "trial-sheet" }, el("p", {}, t("trial_for", { child: state.child.name })), el("h2", {}, `${lesson.date} ${lesson.start_time}–${lesson.end_time}`), el("p", { class: "muted" }, `${lesson.group_name} · ${lesson.coach_name}`),
      el("label", { for: "trial-note" }, t("trial_note")), note));
}

async function pick(memberId) {
  state.childId = memberId;
  try { sessionStorage.setItem("child", memberId); } catch (e) { /* private mode */ }
  try {
    state.child = await api("GET", "api/child/" + encodeURIComponent(memberId));
  } catch (e) {
    return failed(e);
  }
  render();
}

// ---- leave

function openLeave(u) {
  // The id is made as the form opens: however often "send" is pressed, one request.
  state.leave = { lesson: u, id: requestId() };
  state.notice = null;
  render();
}

function renderLeave() {
  const { lesson, id } = state.leave;
  bar(t("leave_title"), () => { state.leave = null; render(); });
  const note = el("textarea", { id: "leave-note", maxlength: "200", rows: "2", "data-test": "leave-note" });
  const send = sendButton("leave-send", t("leave_send"), () => ({ request_id: id, kind: "leave", payload: { member_id: state.child.member_id, session_ids: [lesson.session_id], note: note.value } }), () => {
    state.leave = null;
    return t("leave_sent");
  });
  actions(send);
  put(document.getElementById("main"), noticeBox(),
    el("div", { class: "card", "data-test": "leave-sheet" }, el("p", {}, t("leave_for", { child: state.child.name })), el("h2", {}, `${lesson.date} ${lesson.start_time}–${lesson.end_time}`), el("p", { class: "muted" }, lesson.group_name),
      el("label", { for: "leave-note" }, t("leave_note")), note));
}

// ---- loading

async function loadMe() {
  state.me = await api("GET", "api/me");
  if (state.me.needs_consent) return;
  const kids = state.me.children;
  let chosen = state.childId;
  try { chosen = chosen || sessionStorage.getItem("child"); } catch (e) { /* private mode */ }
  if (!kids.some((c) => c.member_id === chosen)) chosen = kids.length ? kids[0].member_id : null;
  state.childId = chosen;
  state.child = chosen ? await api("GET", "api/child/" + encodeURIComponent(chosen)) : null;
  state.requests = await api("GET", "api/requests");
  // "Sent, waiting…" stays only while something waits.
  if (state.notice && !state.notice.error && !state.requests.some((r) => !r.outcome)) state.notice = null;
}

async function refresh() {
  try {
    await loadMe();
  } catch (e) {
    if (e.status === 401) state.me = null;
  }
}

async function signOut() {
  try { await api("POST", "api/logout"); } catch (e) { /* signed out either way */ }
  state.me = null;
  state.child = null;
  render();
}

async function start() {
  // A parent's phone set to English still gets Chinese until they switch: the centre's
  // own words (notices, class names) are Chinese.
  await loadWords(chosenLanguage("zh-CN"));
  // An invite travels in the fragment (#invite=…), which never reaches a server's logs.
  const m = /invite=([0-9a-f]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, "", location.pathname);
    try {
      await api("POST", "api/invite", { token: m[1] });
    } catch (e) {
      say(e.status ? t("invite_invalid") : t("network_error"), true);
    }
  }
  await refresh();
  render();
  // The desk's answers arrive through head office: look again now and then.
  setInterval(async () => {
    if (document.hidden || !state.me || state.leave || state.trial || state.trialPick || state.account || state.sending) return;
    await refresh();
    if (!state.leave && !state.trial && !state.trialPick) render();
  }, 5000);
}

start();
