// What the coach pages' views share: the test hook (window.coachState), the JSON API
// with its errors in both languages, the exercise names, the one view area (#view) and
// the parts several views show (sections, exports, notes, score colours, channel names).

import { $, el } from "../shared/dom.js";
import { fmtDate, localized, t, tOr } from "../shared/i18n.js";

export const state = (window.coachState = {
  page: "loading",
  lang: "en",
  me: null,
  chartsDrawn: 0,
  curvesDrawn: 0,
  replay: null, // {frame, frames, playing, bonesDrawn}
  timelineDrawn: false,
  errors: [],
  authoring: null, // {draft, saved}
  alerts: { open: [], polls: 0, failed: false, offsetMs: 0, acknowledged: [] },
});

const names = {
  exercises: {}, // id -> {en, zh-CN}: the built-ins, then the centre's own templates
  errors: {}, // API error code -> {en, zh-CN} (GET /api/auth/errors)
};
let leaving = null; // what the current view stops when another replaces it

// ---------------------------------------------------------------- the API

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || String(status));
    this.status = status;
    this.code = code;
  }
}

// The JSON API: `init.json` is sent as the JSON body; a 204 gives null; an error
// throws ApiError (a lost sign-in sends the page to #/login first).
export async function api(path, init = {}) {
  const opts = Object.assign({ credentials: "same-origin" }, init);
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
    delete opts.json;
  }
  const response = await fetch(path, opts);
  if (response.status === 204) return null;
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && body.detail;
    const code = detail && typeof detail === "object" ? detail.code : null;
    const message = detail && typeof detail === "object" ? detail.message : JSON.stringify(detail);
    if (response.status === 401 && code === "not_logged_in" && state.page !== "login") {
      state.me = null;
      location.hash = "#/login";
    }
    throw new ApiError(response.status, code, message);
  }
  return body;
}

// The API's error texts and the built-in exercises' names (once, at start-up).
export async function loadNames() {
  try {
    names.errors = await (await fetch("/api/auth/errors")).json();
    for (const ex of await (await fetch("/api/exercises")).json()) names.exercises[ex.id] = ex.name;
  } catch (e) {
    state.errors.push({ code: "client", message: String(e) });
  }
  try {
    for (const p of await (await fetch("/api/programmes")).json()) names.exercises[p.id] = p.name;
  } catch (e) {
    // the records API alone (no live server): programme sessions show their ids
  }
}

// The centre's own templates' names (after signing in); false when they could not be read.
export async function loadTemplateNames() {
  try {
    const custom = await api("/api/templates");
    for (const tp of custom.templates) if (tp.name && tp.name.en) names.exercises[tp.id] = tp.name;
    return true;
  } catch (e) {
    return false; // shown with their ids
  }
}

function errorText(err) {
  if (err && err.code && names.errors[err.code]) return localized(names.errors[err.code]);
  if (err && err.code) return t("error_code", { code: err.code });
  return t("error_generic");
}

// Says what went wrong in `where` (the view's status line by default).
export function showError(err, where) {
  state.errors.push({ code: err && err.code, message: String(err && err.message) });
  const box = where || $("page-status");
  if (box) box.textContent = errorText(err);
}

// ---------------------------------------------------------------- the view area

// Replaces the view (#view) with a status line and `nodes`; stops the previous view's
// work (see onLeave).
export function setView(...nodes) {
  if (leaving) leaving();
  leaving = null;
  $("view").replaceChildren(el("p", { id: "page-status", class: "status", role: "status" }), ...nodes.flat().filter((n) => n !== null && n !== undefined));
}

// `stop` runs when the next view replaces this one (animations, listeners).
export function onLeave(stop) {
  leaving = stop;
}

// GET `path` for a view: its body, or null once the error shows on an empty view.
export async function viewData(path) {
  try {
    return await api(path);
  } catch (err) {
    setView();
    showError(err);
    return null;
  }
}

// ---------------------------------------------------------------- parts

export function section(titleKey, ...children) {
  return el("section", { class: "card" }, el("h2", { text: t(titleKey) }), ...children);
}

// A table with `id`: a head row naming `headKeys` (t), then `rows` (or a <tbody>).
export function table(id, headKeys, rows) {
  const body = Array.isArray(rows) ? el("tbody", {}, rows) : rows;
  return el("table", { class: "table", id }, el("thead", {}, el("tr", {}, headKeys.map((k) => el("th", { text: t(k) })))), body);
}

export function download(href, label) {
  return el("a", { class: "button", href, download: "" }, label);
}

// Export links of a session or resident (`programmes`: also the programme results' CSV).
export function exportButtons(base, programmes = false) {
  return el(
    "div",
    { class: "exports" },
    el("span", { class: "muted", text: t("export") + ": " }),
    download(base + "?format=csv", t("export_csv")),
    programmes ? download(base + "?format=csv&table=programmes", t("export_programmes_csv")) : null,
    download(base + "?format=json", t("export_json")),
    download(base + "?format=fhir", t("export_fhir")),
  );
}

// A notes card: the notes, and a form whose text post(text) stores (it returns the note).
export function notesSection(notes, post) {
  const list = el("ul", { class: "notes", id: "notes-list" });
  const show = (n) => list.append(el("li", {}, el("span", { class: "muted", text: dateTime(n.created_at) + (n.author ? " · " + n.author : "") }), el("p", { text: n.text })));
  notes.forEach(show);
  const text = el("textarea", { id: "note-text", rows: 3, maxlength: 10000 });
  const status = el("p", { class: "status", role: "status" });
  const form = el(
    "form",
    {
      class: "note-form",
      onsubmit: async (e) => {
        e.preventDefault();
        if (!text.value.trim()) return;
        try {
          show(await post(text.value.trim()));
          text.value = "";
          status.textContent = t("note_saved");
        } catch (err) {
          showError(err, status);
        }
      },
    },
    el("label", { for: "note-text", text: t("add_note") }),
    text,
    el("button", { type: "submit", id: "note-submit", text: t("save_note") }),
    status,
  );
  return section("notes_title", list, notes.length ? null : el("p", { class: "muted", text: t("no_notes") }), form);
}

// ---------------------------------------------------------------- names and formats

// Exercise ids that are not templates (group sessions store `group_follow`) are named
// in i18n.js as exercise_<id>; anything else unknown shows its id.
export function exerciseName(id) {
  return names.exercises[id] ? localized(names.exercises[id]) : tOr("exercise_" + id, id);
}

// An angle or metric channel's name (channel_<name>), else the name in words.
export function channelName(name) {
  return tOr("channel_" + name, name.replace(/_/g, " "));
}

// A date with the year and, unless `withTime` is false, the time.
export function dateTime(iso, withTime = true) {
  return fmtDate(iso, { year: true, time: withTime });
}

export function scoreClass(v) {
  if (!(typeof v === "number" && isFinite(v))) return "score-none";
  return v >= 80 ? "score-good" : v >= 60 ? "score-fair" : "score-poor";
}

export function scoreColor(v) {
  return { "score-good": "#2ca02c", "score-fair": "#e0a500", "score-poor": "#d62728", "score-none": "#9aa5ad" }[scoreClass(v)];
}
