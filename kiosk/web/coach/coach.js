// MoveCoach coach pages: sign in, residents, a resident's progress and sessions, a
// session's skeleton replay with its rep/cue timeline and angle curves against the
// template's band, notes, exports, deleting a resident (admins), and authoring a
// template from a demonstration, and fall alerts from the group screens: while signed in
// the page polls GET /api/alerts and shows every open alert in a red banner above every
// view until someone acknowledges it (#/alerts lists recent ones). Plain JS, no build
// step; talks only the JSON API under /api (server/api/). The sign-in is an HttpOnly
// cookie the page never sees.
//
// Pages are hash routes: #/residents, #/residents/ID, #/sessions/ID, #/templates,
// #/templates/new, #/alerts. Text from the API (names, notes, cues) is always set as textContent.
// window.coachState is read by the browser tests.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = (window.coachState = {
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
  let errorTexts = {};
  let exercises = {}; // id -> {en, zh-CN}
  let stopReplay = null; // cleanup of the session page's animation

  // ---------------------------------------------------------------- helpers

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function localized(text) {
    if (!text || typeof text !== "object") return text || "";
    return text[state.lang] || text.en || "";
  }

  // Exercise ids that are not templates (group sessions store `group_follow`) are named
  // in i18n.js as exercise_<id>; anything else unknown shows its id.
  function exerciseName(id) {
    if (exercises[id]) return localized(exercises[id]);
    return "exercise_" + id in window.I18N.en ? t("exercise_" + id) : id;
  }

  function fmtScore(v) {
    return typeof v === "number" && isFinite(v) ? String(Math.round(v)) : "–";
  }

  function fmtDate(iso, withTime = true) {
    if (!iso) return "–";
    const d = new Date(iso);
    const date = d.toLocaleDateString(state.lang, { year: "numeric", month: "short", day: "numeric" });
    return withTime ? date + " " + d.toLocaleTimeString(state.lang, { hour: "2-digit", minute: "2-digit" }) : date;
  }

  function scoreClass(v) {
    if (!(typeof v === "number" && isFinite(v))) return "score-none";
    return v >= 80 ? "score-good" : v >= 60 ? "score-fair" : "score-poor";
  }

  function scoreColor(v) {
    return { "score-good": "#2ca02c", "score-fair": "#e0a500", "score-poor": "#d62728", "score-none": "#9aa5ad" }[scoreClass(v)];
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message || code || String(status));
      this.status = status;
      this.code = code;
    }
  }

  async function api(path, init = {}) {
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

  function errorText(err) {
    if (err && err.code && errorTexts[err.code]) return localized(errorTexts[err.code]);
    if (err && err.code) return t("error_code", { code: err.code });
    return t("error_generic");
  }

  function showError(err, where) {
    state.errors.push({ code: err && err.code, message: String(err && err.message) });
    const box = where || $("page-status");
    if (box) box.textContent = errorText(err);
  }

  function section(titleKey, ...children) {
    return el("section", { class: "card" }, el("h2", { text: t(titleKey) }), ...children);
  }

  function download(href, label) {
    return el("a", { class: "button", href, download: "" }, label);
  }

  // ---------------------------------------------------------------- chrome

  function applyI18n() {
    window.currentLang = state.lang;
    document.documentElement.lang = state.lang;
    setDocumentTitle();
    $("title").textContent = t("coach_title");
    $("lang-btn").textContent = t("lang_switch");
    $("logout-btn").textContent = t("sign_out");
    $("nav-residents").textContent = t("nav_residents");
    $("nav-templates").textContent = t("nav_templates");
    $("nav-alerts").textContent = t("nav_alerts");
    $("whoami").textContent = state.me ? t("signed_in_as", { name: state.me.display_name, role: t("role_" + state.me.role) }) : "";
    for (const id of ["logout-btn", "nav-residents", "nav-templates", "nav-alerts", "whoami"]) $(id).hidden = !state.me;
    renderAlertBanner();
  }

  function setDocumentTitle() {
    const open = state.alerts.open.length;
    document.title = (open ? "⚠ (" + open + ") " : "") + t("coach_title");
  }

  function setView(...nodes) {
    if (stopReplay) stopReplay();
    stopReplay = null;
    const view = $("view");
    view.textContent = "";
    view.append(el("p", { id: "page-status", class: "status", role: "status" }), ...nodes.flat().filter((n) => n !== null && n !== undefined));
  }

  // ---------------------------------------------------------------- login

  function renderLogin() {
    state.page = "login";
    const status = el("p", { class: "status", role: "status" });
    const user = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
    const pass = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const form = el(
      "form",
      { class: "card login", onsubmit: async (e) => {
        e.preventDefault();
        status.textContent = t("signing_in");
        try {
          await api("/api/auth/login", { method: "POST", json: { username: user.value, password: pass.value } });
          state.me = await api("/api/auth/me");
          customNamesLoaded = false;
          applyI18n();
          location.hash = "#/residents";
        } catch (err) {
          showError(err, status);
        }
      } },
      el("h2", { text: t("login_title") }),
      el("label", { for: "username", text: t("username") }),
      user,
      el("label", { for: "password", text: t("password") }),
      pass,
      el("button", { type: "submit", class: "primary", id: "login-submit", text: t("sign_in") }),
      status,
    );
    setView(form);
  }

  // ---------------------------------------------------------------- residents

  async function renderResidents() {
    state.page = "residents";
    const list = el("tbody");
    const search = el("input", { id: "search", type: "search", placeholder: t("search_placeholder"), value: params.get("q") || "" });
    const load = async () => {
      try {
        const q = search.value.trim();
        const body = await api("/api/residents" + (q ? "?q=" + encodeURIComponent(q) : ""));
        list.textContent = "";
        for (const r of body.residents) {
          list.append(
            el(
              "tr",
              {},
              el("td", {}, el("a", { href: "#/residents/" + r.id, class: "resident-link", text: r.display_name })),
              el("td", { text: r.member_code }),
              el("td", { text: r.birth_year ? String(r.birth_year) : "–" }),
            ),
          );
        }
        if (!body.residents.length) list.append(el("tr", {}, el("td", { colspan: 3, text: t("no_residents") })));
        state.residentsShown = body.residents.length;
      } catch (err) {
        showError(err);
      }
    };
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    });
    const table = el(
      "table",
      { class: "table", id: "residents-table" },
      el("thead", {}, el("tr", {}, el("th", { text: t("name") }), el("th", { text: t("member_code") }), el("th", { text: t("birth_year") }))),
      list,
    );
    setView(section("residents_title", el("div", { class: "toolbar" }, search), table), newResidentForm(load));
    await load();
  }

  function newResidentForm(onCreated) {
    const status = el("p", { class: "status", role: "status" });
    const code = el("input", { name: "member_code", required: true, maxlength: 64 });
    const name = el("input", { name: "display_name", required: true, maxlength: 200 });
    const year = el("input", { name: "birth_year", type: "number", min: 1900, max: 2100 });
    const centre = el("select", { name: "centre_id" });
    const needsCentre = state.me && state.me.role === "admin" && state.me.centre_id === null;
    if (needsCentre) {
      api("/api/admin/centres")
        .then((b) => b.centres.forEach((c) => centre.append(el("option", { value: c.id, text: c.name }))))
        .catch(() => {});
    }
    const form = el(
      "form",
      { class: "inline-form", onsubmit: async (e) => {
        e.preventDefault();
        const body = { member_code: code.value.trim(), display_name: name.value.trim() };
        if (year.value) body.birth_year = Number(year.value);
        if (needsCentre && centre.value) body.centre_id = Number(centre.value);
        try {
          await api("/api/residents", { method: "POST", json: body });
          status.textContent = t("resident_created");
          form.reset();
          onCreated();
        } catch (err) {
          showError(err, status);
        }
      } },
      el("label", {}, t("member_code"), code),
      el("label", {}, t("name"), name),
      el("label", {}, t("birth_year"), year),
      needsCentre ? el("label", {}, t("centre"), centre) : null,
      el("button", { type: "submit", text: t("add_resident") }),
      status,
    );
    return section("new_resident", form);
  }

  // ---------------------------------------------------------------- one resident

  function weekLabel(iso) {
    const d = new Date(iso + "T00:00:00");
    return d.toLocaleDateString(state.lang, { month: "short", day: "numeric" });
  }

  function drawProgress(weeks, exercise, canvases) {
    const rows = weeks.filter((w) => w.exercise_id === exercise);
    const starts = [...new Set(rows.map((w) => w.week_start))].sort();
    const xi = (w) => starts.indexOf(w.week_start);
    const x = { min: -0.6, max: Math.max(0.6, starts.length - 0.4), ticks: starts.map((_, i) => i), format: (i) => (starts[i] ? weekLabel(starts[i]) : "") };
    const reps = rows.map((w) => [xi(w), w.reps]);
    Charts.line(canvases.reps, {
      height: 200,
      x,
      y: { min: 0, max: Math.max(5, ...reps.map((p) => p[1])) * 1.1, format: (v) => String(Math.round(v)), label: t("chart_reps") },
      bars: reps.map(([i, y]) => ({ x: i, y, width: 0.6, color: "#7fb3d5" })),
      empty: t("no_data"),
    });
    const score = rows.map((w) => [xi(w), w.mean_score]);
    Charts.line(canvases.score, {
      height: 200,
      x,
      y: { min: 0, max: 100, label: t("chart_score") },
      series: [{ points: score, color: Charts.COLORS[2], dots: true, label: t("mean_score") }],
      empty: t("no_data"),
    });
    const angles = [...new Set(rows.flatMap((w) => Object.keys(w.rom_deg || {})))].sort();
    const romSeries = angles.map((a, k) => ({
      points: rows.map((w) => [xi(w), w.rom_deg[a] ?? null]),
      color: Charts.COLORS[k % Charts.COLORS.length],
      dots: true,
      label: channelName(a),
    }));
    const romValues = romSeries.flatMap((s) => s.points.map((p) => p[1]));
    const [lo, hi] = Charts.extent(romValues, 0.15);
    Charts.line(canvases.rom, {
      height: 220,
      x,
      y: { min: Math.max(0, lo), max: hi, label: t("chart_rom") },
      series: romSeries,
      empty: t("no_data"),
    });
    state.chartsDrawn += 3;
    state.progressWeeks = starts.length;
  }

  function channelName(name) {
    const key = "channel_" + name;
    const text = t(key);
    return text === key ? name.replace(/_/g, " ") : text;
  }

  async function renderResident(id) {
    state.page = "resident";
    state.chartsDrawn = 0;
    let resident;
    try {
      resident = await api("/api/residents/" + id);
    } catch (err) {
      setView();
      showError(err);
      return;
    }
    const [progress, sessions, notes, assessments] = await Promise.all([
      api("/api/residents/" + id + "/progress?tz=" + encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC")).catch(() =>
        api("/api/residents/" + id + "/progress"),
      ),
      api("/api/residents/" + id + "/sessions"),
      api("/api/residents/" + id + "/notes"),
      api("/api/residents/" + id + "/assessments").catch(() => ({ assessments: [] })),
    ]);
    const header = el(
      "section",
      { class: "card resident-head" },
      el("h2", { id: "resident-name", text: resident.display_name }),
      el(
        "p",
        { class: "muted" },
        t("member_code") + ": " + resident.member_code + (resident.birth_year ? " · " + t("birth_year") + ": " + resident.birth_year : ""),
      ),
      el("p", { class: "muted" }, t("consent_landmarks") + ": " + t(resident.consent.landmarks ? "yes" : "no")),
      exportButtons("/api/exports/residents/" + id),
    );
    // progress
    const exerciseIds = [...new Set(progress.weeks.map((w) => w.exercise_id))];
    const select = el("select", { id: "progress-exercise" }, exerciseIds.map((e) => el("option", { value: e, text: exerciseName(e) })));
    const canvases = {
      reps: el("canvas", { id: "chart-reps", class: "chart" }),
      score: el("canvas", { id: "chart-score", class: "chart" }),
      rom: el("canvas", { id: "chart-rom", class: "chart" }),
    };
    const progressCard = section(
      "progress_title",
      exerciseIds.length ? el("label", { class: "toolbar" }, t("exercise") + " ", select) : el("p", { class: "muted", text: t("no_sessions") }),
      el("div", { class: "charts" }, el("figure", {}, el("figcaption", { text: t("chart_reps_title") }), canvases.reps),
        el("figure", {}, el("figcaption", { text: t("chart_score_title") }), canvases.score),
        el("figure", { class: "wide" }, el("figcaption", { text: t("chart_rom_title") }), canvases.rom)),
    );
    // assessments (when the API has them)
    const assessmentCard = assessments.assessments.length
      ? section(
          "assessments_title",
          el(
            "table",
            { class: "table", id: "assessments-table" },
            el("thead", {}, el("tr", {}, ["assessment_test", "assessment_date", "assessment_value", "assessment_percentile", "assessment_band"].map((k) => el("th", { text: t(k) })))),
            el(
              "tbody",
              {},
              assessments.assessments.map((a) =>
                el(
                  "tr",
                  {},
                  el("td", { text: assessmentName(a.protocol_id) }),
                  el("td", { text: fmtDate(a.taken_at, false) }),
                  el("td", { text: a.value + " " + unitLabel(a.unit) }),
                  el("td", { text: a.percentile === null ? "–" : Math.round(a.percentile) + "%" }),
                  el("td", { text: a.band ? bandLabel(a.band) : "–" }),
                ),
              ),
            ),
          ),
          assessmentChart(assessments.assessments),
        )
      : null;
    // sessions
    const sessionsCard = section(
      "sessions_title",
      el(
        "table",
        { class: "table", id: "sessions-table" },
        el("thead", {}, el("tr", {}, ["session_date", "exercise", "reps", "mean_score", "status"].map((k) => el("th", { text: t(k) })))),
        el(
          "tbody",
          {},
          sessions.sessions.map((s) =>
            el(
              "tr",
              {},
              el("td", {}, el("a", { href: "#/sessions/" + s.id, class: "session-link", text: fmtDate(s.started_at) })),
              el("td", { text: exerciseName(s.exercise_id) }),
              el("td", { text: String(s.rep_count) }),
              el("td", { class: scoreClass(s.mean_score), text: fmtScore(s.mean_score) }),
              el("td", { text: t("status_" + s.status) }),
            ),
          ),
        ),
      ),
      sessions.sessions.length ? null : el("p", { class: "muted", text: t("no_sessions") }),
    );
    const notesCard = notesSection(notes.notes, (text) => api("/api/residents/" + id + "/notes", { method: "POST", json: { text } }));
    const dangerCard = state.me && state.me.role === "admin" ? deleteSection(resident) : null;
    setView(el("p", {}, el("a", { href: "#/residents", text: "← " + t("nav_residents") })), header, progressCard, assessmentCard, sessionsCard, notesCard, dangerCard);
    const redraw = () => exerciseIds.length && drawProgress(progress.weeks, select.value, canvases);
    select.addEventListener("change", redraw);
    redraw();
  }

  // UCUM units; annotations such as "{repetitions}" are shown as words.
  function unitLabel(unit) {
    const bare = String(unit || "").replace(/^\{|\}$/g, "");
    const key = "unit_" + bare;
    return t(key) === key ? bare : t(key);
  }

  function bandLabel(band) {
    const key = "band_" + band;
    return t(key) === key ? band : t(key);
  }

  function assessmentName(id) {
    const key = "assessment_" + id;
    return t(key) === key ? id.replace(/_/g, " ") : t(key);
  }

  function assessmentChart(list) {
    const protocols = [...new Set(list.map((a) => a.protocol_id))];
    const canvas = el("canvas", { id: "chart-assessments", class: "chart" });
    requestAnimationFrame(() => {
      const times = list.map((a) => Date.parse(a.taken_at));
      const x0 = Math.min(...times);
      const x1 = Math.max(...times);
      const pad = Math.max(86400000, (x1 - x0) * 0.05);
      const series = protocols.map((p, k) => ({
        points: list.filter((a) => a.protocol_id === p).map((a) => [Date.parse(a.taken_at), a.percentile ?? null]),
        color: Charts.COLORS[k % Charts.COLORS.length],
        dots: true,
        label: assessmentName(p),
      }));
      Charts.line(canvas, {
        height: 200,
        x: { min: x0 - pad, max: x1 + pad, format: (v) => new Date(v).toLocaleDateString(state.lang, { month: "short", day: "numeric" }) },
        y: { min: 0, max: 100, label: t("assessment_percentile") },
        series,
        empty: t("no_data"),
      });
      state.chartsDrawn++;
    });
    return el("figure", { class: "wide" }, el("figcaption", { text: t("assessment_chart_title") }), canvas);
  }

  function exportButtons(base) {
    return el(
      "div",
      { class: "exports" },
      el("span", { class: "muted", text: t("export") + ": " }),
      download(base + "?format=csv", t("export_csv")),
      download(base + "?format=json", t("export_json")),
      download(base + "?format=fhir", t("export_fhir")),
    );
  }

  function notesSection(notes, post) {
    const list = el("ul", { class: "notes", id: "notes-list" });
    const show = (n) =>
      list.append(el("li", {}, el("span", { class: "muted", text: fmtDate(n.created_at) + (n.author ? " · " + n.author : "") }), el("p", { text: n.text })));
    notes.forEach(show);
    const text = el("textarea", { id: "note-text", rows: 3, maxlength: 10000 });
    const status = el("p", { class: "status", role: "status" });
    const form = el(
      "form",
      { class: "note-form", onsubmit: async (e) => {
        e.preventDefault();
        if (!text.value.trim()) return;
        try {
          show(await post(text.value.trim()));
          text.value = "";
          status.textContent = t("note_saved");
        } catch (err) {
          showError(err, status);
        }
      } },
      el("label", { for: "note-text", text: t("add_note") }),
      text,
      el("button", { type: "submit", id: "note-submit", text: t("save_note") }),
      status,
    );
    return section("notes_title", list, notes.length ? null : el("p", { class: "muted", text: t("no_notes") }), form);
  }

  function deleteSection(resident) {
    const status = el("p", { class: "status", role: "status" });
    const confirmInput = el("input", { id: "delete-confirm", placeholder: resident.member_code, autocomplete: "off" });
    const exported = el("input", { type: "checkbox", id: "delete-exported" });
    const dialog = el(
      "div",
      { class: "danger-dialog", id: "delete-dialog", hidden: true },
      el("p", { text: t("delete_explain", { name: resident.display_name }) }),
      el("p", {}, download("/api/exports/residents/" + resident.id + "?format=json&landmarks=true", t("delete_export_first"))),
      el("label", {}, exported, " " + t("delete_exported")),
      el("label", {}, t("delete_type_code", { code: resident.member_code }), confirmInput),
      el("button", { type: "button", class: "danger", id: "delete-go", text: t("delete_resident"), onclick: async () => {
        if (confirmInput.value.trim() !== resident.member_code || !exported.checked) {
          status.textContent = t("delete_not_confirmed");
          return;
        }
        try {
          const body = await api("/api/residents/" + resident.id + "?export=json", { method: "DELETE" });
          const blob = new Blob([JSON.stringify(body.export, null, 1)], { type: "application/json" });
          const a = el("a", { href: URL.createObjectURL(blob), download: "movecoach-resident-" + resident.id + "-final.json", text: t("delete_download_final") });
          setView(section("delete_done_title", el("p", { text: t("delete_done", { name: resident.display_name }) }), el("p", {}, a), el("p", {}, el("a", { href: "#/residents", text: t("nav_residents") }))));
          state.deleted = body.deleted;
        } catch (err) {
          showError(err, status);
        }
      } }),
      status,
    );
    return el(
      "section",
      { class: "card danger-zone" },
      el("h2", { text: t("delete_title") }),
      el("button", { type: "button", class: "danger", id: "delete-open", text: t("delete_resident"), onclick: () => (dialog.hidden = false) }),
      dialog,
    );
  }

  // ---------------------------------------------------------------- one session

  function replayBox(lm) {
    let x0 = 1, y0 = 1, x1 = 0, y1 = 0;
    for (let f = 0; f < lm.xy.length; f++) {
      const row = lm.xy[f];
      for (let j = 0; j < row.length; j += 2) {
        const x = row[j];
        const y = row[j + 1];
        if (x === null || y === null || (lm.visibility[f][j / 2] ?? 0) < 0.5) continue;
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
    if (x1 <= x0 || y1 <= y0) return { x0: 0, y0: 0, x1: 1, y1: 1 };
    const px = (x1 - x0) * 0.08;
    const py = (y1 - y0) * 0.08;
    return { x0: x0 - px, y0: y0 - py, x1: x1 + px, y1: y1 + py };
  }

  async function renderSession(id) {
    state.page = "session";
    state.curvesDrawn = 0;
    state.replay = null;
    state.timelineDrawn = false;
    let body;
    try {
      body = await api("/api/sessions/" + id + "?max_frames=3000");
    } catch (err) {
      setView();
      showError(err);
      return;
    }
    const s = body.session;
    const lm = body.landmarks || { frames: 0, timestamp_ms: [], xy: [], visibility: [], bones: [] };
    const curves = body.curves;
    const reps = body.reps;
    const cues = body.cues;
    const times = [...lm.timestamp_ms, ...(curves ? curves.timestamp_ms : []), ...reps.map((r) => r.timestamp_ms), ...cues.map((c) => c.timestamp_ms)];
    const t0 = times.length ? Math.min(...times, ...reps.map((r) => r.timestamp_ms - r.duration_ms)) : 0;
    const t1 = times.length ? Math.max(...times) : 1;
    const sec = (ms) => (ms - t0) / 1000;
    const xRange = { min: 0, max: Math.max(1, sec(t1)), format: (v) => v + " s" };
    const header = el(
      "section",
      { class: "card" },
      el("h2", { id: "session-title", text: exerciseName(s.exercise_id) + " · " + fmtDate(s.started_at) }),
      el(
        "p",
        {},
        body.resident ? el("a", { href: "#/residents/" + body.resident.id, text: body.resident.display_name }) : el("span", { class: "muted", text: t("anonymous") }),
        " · " + t("reps") + ": " + reps.length + " · " + t("mean_score") + ": " + fmtScore(s.mean_score) + " · " + t("status_" + s.status),
      ),
      exportButtons("/api/exports/sessions/" + id),
    );
    // replay
    const replayCanvas = el("canvas", { id: "replay", class: "replay" });
    const playBtn = el("button", { type: "button", id: "play-btn", class: "primary", text: t("play") });
    const scrub = el("input", { type: "range", id: "scrub", min: 0, max: Math.max(0, lm.frames - 1), value: 0, step: 1 });
    const clock = el("span", { id: "replay-time", class: "muted" });
    const timeline = el("canvas", { id: "timeline", class: "timeline" });
    const replayCard = section(
      "replay_title",
      lm.frames ? null : el("p", { class: "muted", text: t("no_recording") }),
      replayCanvas,
      el("div", { class: "replay-controls" }, playBtn, scrub, clock),
      el("h3", { text: t("timeline_title") }),
      timeline,
      el("p", { class: "legend muted" }, el("span", { class: "swatch score-good" }), t("legend_rep"), " ", el("span", { class: "swatch cue" }), t("legend_cue")),
    );
    // curves
    const band = body.reference_band && body.reference_band.reference;
    const channels = curves ? Object.keys(curves.channels).filter((c) => !band || c in band.channels || curves.channels[c].some((v) => v !== null)) : [];
    const shown = band ? channels.filter((c) => c in band.channels) : channels;
    const curveCanvases = {};
    const curvesCard = section(
      "curves_title",
      el("p", { class: "muted", text: band ? t("curves_explain") : t("curves_no_band") }),
      shown.length
        ? shown.map((c) => {
            curveCanvases[c] = el("canvas", { class: "chart curve", "data-channel": c });
            return el("figure", { class: "wide" }, el("figcaption", { text: channelName(c) + (band && band.channels[c] ? " (± " + band.channels[c].tolerance + ")" : "") }), curveCanvases[c]);
          })
        : el("p", { class: "muted", text: t("no_curves") }),
    );
    // reps and cues
    const repsCard = section(
      "reps_title",
      el(
        "table",
        { class: "table", id: "reps-table" },
        el("thead", {}, el("tr", {}, ["rep_number", "rep_time", "score", "rep_duration", "rom", "cues"].map((k) => el("th", { text: t(k) })))),
        el(
          "tbody",
          {},
          reps.map((r) =>
            el(
              "tr",
              { class: "rep-row", onclick: () => seekMs(r.timestamp_ms - r.duration_ms) },
              el("td", { text: String(r.count) }),
              el("td", { text: sec(r.timestamp_ms).toFixed(1) + " s" }),
              el("td", { class: scoreClass(r.score), text: fmtScore(r.score) }),
              el("td", { text: (r.duration_ms / 1000).toFixed(1) + " s" }),
              el("td", { text: Object.entries(r.range_of_motion_deg || {}).map(([k, v]) => channelName(k) + " " + Math.round(v) + "°").join(", ") || "–" }),
              el("td", { text: (r.cue_ids || []).join(", ") || "–" }),
            ),
          ),
        ),
      ),
      cues.length
        ? el(
            "ul",
            { class: "cue-list" },
            cues.map((c) => el("li", {}, el("span", { class: "muted", text: sec(c.timestamp_ms).toFixed(1) + " s · " }), localized(c.message) || c.cue_id)),
          )
        : el("p", { class: "muted", text: t("no_cues") }),
    );
    const notesCard = notesSection(body.notes, (text) => api("/api/sessions/" + id + "/notes", { method: "POST", json: { text } }));
    setView(
      body.resident ? el("p", {}, el("a", { href: "#/residents/" + body.resident.id, text: "← " + body.resident.display_name })) : el("p", {}, el("a", { href: "#/residents", text: "← " + t("nav_residents") })),
      header,
      replayCard,
      curvesCard,
      repsCard,
      notesCard,
    );

    // --- drawing, in step with the replay clock
    const box = replayBox(lm);
    const replay = (state.replay = { frame: 0, frames: lm.frames, playing: false, bonesDrawn: 0, advanced: 0 });
    const nowMs = () => (lm.frames ? lm.timestamp_ms[replay.frame] : t0);

    const drawTimeline = (playhead) => {
      const { g, w, h } = (() => {
        const dpr = window.devicePixelRatio || 1;
        const w = timeline.clientWidth || 600;
        const h = 64;
        timeline.style.height = h + "px";
        timeline.width = Math.round(w * dpr);
        timeline.height = Math.round(h * dpr);
        const g = timeline.getContext("2d");
        g.setTransform(dpr, 0, 0, dpr, 0, 0);
        return { g, w, h };
      })();
      const l = 48, r = 12;
      const xs = (ms) => l + ((ms - t0) / (t1 - t0 || 1)) * (w - l - r);
      g.clearRect(0, 0, w, h);
      g.fillStyle = "#eef2f5";
      g.fillRect(l, 6, w - l - r, 30);
      g.font = '11px "Noto Sans", "Noto Sans CJK SC", sans-serif';
      for (const rep of reps) {
        const a = xs(rep.timestamp_ms - rep.duration_ms);
        const b = xs(rep.timestamp_ms);
        g.fillStyle = scoreColor(rep.score);
        g.fillRect(a, 8, Math.max(2, b - a), 26);
        g.fillStyle = "#fff";
        g.textAlign = "center";
        g.textBaseline = "middle";
        if (b - a > 18) g.fillText(fmtScore(rep.score), (a + b) / 2, 21);
      }
      g.fillStyle = "#c0392b";
      for (const cue of cues) {
        const x = xs(cue.timestamp_ms);
        g.beginPath();
        g.moveTo(x, 38);
        g.lineTo(x - 5, 48);
        g.lineTo(x + 5, 48);
        g.closePath();
        g.fill();
      }
      g.fillStyle = "#5b6b78";
      g.textAlign = "left";
      g.fillText(t("reps"), 2, 21);
      g.fillText(t("cues"), 2, 44);
      if (playhead !== null) {
        g.strokeStyle = "#222";
        g.lineWidth = 2;
        g.beginPath();
        g.moveTo(xs(playhead), 2);
        g.lineTo(xs(playhead), h - 4);
        g.stroke();
      }
      state.timelineDrawn = true;
      return (px) => t0 + ((px - l) / (w - l - r)) * (t1 - t0);
    };

    const drawCurves = (playhead) => {
      for (const c of shown) {
        const values = curves.channels[c];
        const points = curves.timestamp_ms.map((ms, i) => [sec(ms), values[i]]);
        const bands = [];
        const means = [];
        const ch = band ? band.channels[c] : null;
        if (ch) {
          // The engine cuts a rep where it crosses the phase thresholds; the reference
          // crosses them at span[0] and span[1] (normalised time), so that part of the
          // reference lies on the rep's recorded time and the rest around it.
          const span = (s.elder_mode ? band.elder_span : band.span) || [0, 1];
          const width = Math.max(1e-3, span[1] - span[0]);
          for (const rep of reps) {
            const start = rep.timestamp_ms - rep.duration_ms;
            const at = (u) => sec(start + ((u - span[0]) / width) * rep.duration_ms);
            bands.push({ points: band.t.map((u, i) => [at(u), ch.lower[i], ch.upper[i]]), color: "rgba(44, 160, 44, 0.20)" });
            means.push({ points: band.t.map((u, i) => [at(u), ch.mean[i]]), color: "#2ca02c", width: 1.5, dash: [5, 4] });
          }
        }
        const all = [...values, ...(ch ? [...ch.lower, ...ch.upper] : [])];
        const [lo, hi] = Charts.extent(all, 0.08);
        const result = Charts.line(curveCanvases[c], {
          height: 190,
          x: xRange,
          y: { min: lo, max: hi, format: (v) => Math.round(v) + "" },
          bands,
          series: [
            ...means.map((m, i) => (i === 0 ? Object.assign({ label: t("legend_reference") }, m) : m)),
            { points, color: Charts.COLORS[0], width: 2, label: t("legend_recorded") },
          ],
          legendExtra: ch ? [{ label: t("legend_band"), color: "rgba(44, 160, 44, 0.45)" }] : [],
          playhead: playhead === null ? null : sec(playhead),
          empty: t("no_data"),
        });
        if (result.drawnSeries) state.curvesDrawn = Math.max(state.curvesDrawn, shown.indexOf(c) + 1);
      }
    };

    let timelineFromPx = null;
    const drawAll = () => {
      const ms = nowMs();
      if (lm.frames) {
        const frame = { xy: lm.xy[replay.frame], visibility: lm.visibility[replay.frame] };
        replay.bonesDrawn = Charts.skeleton(replayCanvas, frame, lm.bones, box, { height: 340, caption: sec(ms).toFixed(1) + " s" });
      } else {
        Charts.skeleton(replayCanvas, null, [], box, { height: 120 });
      }
      scrub.value = String(replay.frame);
      clock.textContent = sec(ms).toFixed(1) + " / " + sec(t1).toFixed(1) + " s";
      timelineFromPx = drawTimeline(lm.frames ? ms : null);
      if (curves) drawCurves(lm.frames ? ms : null);
    };

    function seekMs(ms) {
      if (!lm.frames) return;
      let best = 0;
      for (let i = 0; i < lm.frames; i++) if (lm.timestamp_ms[i] <= ms) best = i;
      replay.frame = best;
      drawAll();
    }

    let raf = null;
    let lastWall = null;
    let clockMs = null;
    const tick = (wall) => {
      if (!replay.playing) return;
      if (lastWall === null) {
        lastWall = wall;
        clockMs = nowMs();
      }
      clockMs += wall - lastWall;
      lastWall = wall;
      let f = replay.frame;
      while (f + 1 < lm.frames && lm.timestamp_ms[f + 1] <= clockMs) f++;
      if (f !== replay.frame) {
        replay.frame = f;
        replay.advanced++;
        drawAll();
      }
      if (f >= lm.frames - 1) {
        setPlaying(false);
        return;
      }
      raf = requestAnimationFrame(tick);
    };
    function setPlaying(on) {
      replay.playing = on && lm.frames > 1;
      playBtn.textContent = replay.playing ? t("pause") : t("play");
      if (replay.playing) {
        if (replay.frame >= lm.frames - 1) replay.frame = 0;
        lastWall = null;
        raf = requestAnimationFrame(tick);
      } else if (raf) {
        cancelAnimationFrame(raf);
        raf = null;
      }
    }
    playBtn.addEventListener("click", () => setPlaying(!replay.playing));
    scrub.addEventListener("input", () => {
      replay.frame = Number(scrub.value);
      lastWall = null;
      drawAll();
    });
    timeline.addEventListener("click", (e) => timelineFromPx && seekMs(timelineFromPx(e.offsetX)));
    const onResize = () => drawAll();
    window.addEventListener("resize", onResize);
    stopReplay = () => {
      setPlaying(false);
      window.removeEventListener("resize", onResize);
    };
    window.coach.play = () => setPlaying(true);
    window.coach.seek = (seconds) => seekMs(t0 + seconds * 1000);
    drawAll();
    if (params.get("autoplay") === "1") setPlaying(true);
  }

  // ---------------------------------------------------------------- templates and authoring

  async function renderTemplates() {
    state.page = "templates";
    let body;
    try {
      body = await api("/api/templates");
    } catch (err) {
      setView();
      showError(err);
      return;
    }
    setView(
      section(
        "templates_title",
        el("p", { class: "muted", text: t("templates_explain") }),
        el(
          "table",
          { class: "table", id: "templates-table" },
          el("thead", {}, el("tr", {}, el("th", { text: t("template_id") }), el("th", { text: t("name") }), el("th", { text: t("updated") }))),
          el("tbody", {}, body.templates.map((tp) => el("tr", {}, el("td", { text: tp.id }), el("td", { text: localized(tp.name) || tp.id }), el("td", { text: fmtDate(tp.updated_at) })))),
        ),
        body.templates.length ? null : el("p", { class: "muted", text: t("no_templates") }),
        el("p", {}, el("a", { class: "button primary", href: "#/templates/new", id: "new-template", text: t("new_template") })),
      ),
    );
  }

  async function renderAuthoring() {
    state.page = "authoring";
    state.authoring = { draft: null, saved: null };
    const status = el("p", { class: "status", role: "status", id: "authoring-status" });
    const idInput = el("input", { id: "tpl-id", pattern: "[a-z][a-z0-9_]*", maxlength: 64, required: true, placeholder: "wall_slide" });
    const nameEn = el("input", { id: "tpl-name-en", maxlength: 200, required: true });
    const nameZh = el("input", { id: "tpl-name-zh", maxlength: 200, required: true });
    const view = el("select", { id: "tpl-view" }, ["any", "side", "front"].map((v) => el("option", { value: v, text: t("view_" + v) })));
    const posture = el("select", { id: "tpl-posture" }, ["standing", "seated", "supine", "prone", "kneeling"].map((v) => el("option", { value: v, text: t("posture_" + v) })));
    const sessionSelect = el("select", { id: "source-session" }, el("option", { value: "", text: t("choose_session") }));
    api("/api/sessions?limit=100")
      .then((b) =>
        b.sessions.forEach((s) =>
          sessionSelect.append(el("option", { value: s.id, text: fmtDate(s.started_at) + " · " + exerciseName(s.exercise_id) + " · " + t("reps") + " " + s.rep_count })),
        ),
      )
      .catch(() => {});
    const video = el("input", { type: "file", id: "source-video", accept: "video/*" });
    const review = el("div", { id: "draft-review" });

    const names = () => ({ en: nameEn.value.trim(), "zh-CN": nameZh.value.trim() });
    const propose = async (fromVideo) => {
      if (!idInput.reportValidity()) return;
      status.textContent = t(fromVideo ? "analysing_video" : "analysing_session");
      review.textContent = "";
      try {
        let draft;
        if (fromVideo) {
          const file = video.files[0];
          if (!file) {
            status.textContent = t("choose_video");
            return;
          }
          const q = new URLSearchParams({ template_id: idInput.value, view: view.value, posture: posture.value });
          if (nameEn.value.trim()) q.set("name_en", nameEn.value.trim());
          if (nameZh.value.trim()) q.set("name_zh", nameZh.value.trim());
          draft = await api("/api/authoring/drafts/video?" + q, { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
        } else {
          if (!sessionSelect.value) {
            status.textContent = t("choose_session");
            return;
          }
          draft = await api("/api/authoring/drafts", {
            method: "POST",
            json: { session_id: Number(sessionSelect.value), template_id: idInput.value, name: names(), view: view.value, posture: posture.value },
          });
        }
        status.textContent = t("draft_ready", { n: draft.reps.length });
        state.authoring.draft = draft;
        showDraft(draft, review, status, names);
      } catch (err) {
        showError(err, status);
      }
    };
    setView(
      el("p", {}, el("a", { href: "#/templates", text: "← " + t("nav_templates") })),
      section(
        "authoring_title",
        el("p", { class: "muted", text: t("authoring_explain") }),
        el(
          "div",
          { class: "form-grid" },
          el("label", {}, t("template_id"), idInput),
          el("label", {}, t("name_en"), nameEn),
          el("label", {}, t("name_zh"), nameZh),
          el("label", {}, t("view"), view),
          el("label", {}, t("posture"), posture),
        ),
        el("h3", { text: t("source_title") }),
        el("div", { class: "source-row" }, el("label", {}, t("source_session"), sessionSelect), el("button", { type: "button", id: "propose-session", text: t("propose"), onclick: () => propose(false) })),
        el("div", { class: "source-row" }, el("label", {}, t("source_video"), video), el("button", { type: "button", id: "propose-video", text: t("propose"), onclick: () => propose(true) })),
        status,
      ),
      review,
    );
  }

  function showDraft(draft, review, status, names) {
    const template = JSON.parse(JSON.stringify(draft.template)); // the coach edits this copy
    review.textContent = "";
    // band and reps, per channel
    const charts = el("div", { class: "charts" });
    for (const c of draft.channels) {
      const canvas = el("canvas", { class: "chart draft-chart", "data-channel": c });
      charts.append(el("figure", {}, el("figcaption", { text: channelName(c) + (draft.moving.includes(c) ? "" : " · " + t("steady")) + " (± " + draft.tolerance[c] + "°)" }), canvas));
      requestAnimationFrame(() => {
        const ref = draft.reference[c];
        const pts = draft.t.map((u, i) => [u, ref[i] - draft.tolerance[c], ref[i] + draft.tolerance[c]]);
        const reps = draft.reps.map((r, k) => ({ points: draft.t.map((u, i) => [u, r.values[c][i]]), color: "rgba(31, 119, 180, 0.55)", width: 1.2, label: k === 0 ? t("legend_demo_reps") : undefined }));
        const [lo, hi] = Charts.extent([...pts.flatMap((p) => [p[1], p[2]]), ...draft.reps.flatMap((r) => r.values[c])], 0.08);
        Charts.line(canvas, {
          height: 180,
          x: { min: 0, max: 1, format: (v) => Math.round(v * 100) + "%", label: t("rep_time_axis") },
          y: { min: lo, max: hi, format: (v) => Math.round(v) + "" },
          bands: [{ points: pts, color: "rgba(44, 160, 44, 0.22)" }],
          series: [...reps, { points: draft.t.map((u, i) => [u, ref[i]]), color: "#2ca02c", width: 2.5, label: t("legend_reference") }],
          empty: t("no_data"),
        });
        state.chartsDrawn++;
      });
    }
    const repsTable = el(
      "table",
      { class: "table", id: "draft-reps" },
      el("thead", {}, el("tr", {}, ["rep_number", "rep_duration", "rep_fit"].map((k) => el("th", { text: t(k) })))),
      el("tbody", {}, draft.reps.map((r, i) => el("tr", {}, el("td", { text: String(i + 1) }), el("td", { text: (r.duration_ms / 1000).toFixed(1) + " s" }), el("td", { text: r.cost === null ? "–" : r.cost.toFixed(2) })))),
    );
    // thresholds
    const primary = draft.primary;
    const phaseInputs = [];
    const phaseRows = Object.entries(template.phases).map(([phase, conds]) => {
      const bounds = conds[primary];
      return el(
        "div",
        { class: "phase-row" },
        el("strong", { text: t("phase_" + phase) }),
        Object.entries(bounds).map(([k, v]) => {
          const input = el("input", { type: "number", step: "0.5", value: v, class: "phase-input", "data-phase": phase, "data-bound": k });
          phaseInputs.push(input);
          return el("label", {}, channelName(primary) + " " + t("bound_" + k), input);
        }),
      );
    });
    // cue texts
    const ruleInputs = (template.rules || []).map((rule) => {
      const en = el("input", { value: rule.text.en, maxlength: 300, class: "cue-en" });
      const zh = el("input", { value: rule.text["zh-CN"], maxlength: 300, class: "cue-zh" });
      return { rule, en, zh, node: el("div", { class: "rule-row" }, el("strong", { text: rule.id }), el("label", {}, t("cue_en"), en), el("label", {}, t("cue_zh"), zh)) };
    });
    const saveStatus = el("p", { class: "status", role: "status", id: "save-status" });
    const save = async () => {
      const n = names();
      if (!n.en || !n["zh-CN"]) {
        saveStatus.textContent = t("need_both_names");
        return;
      }
      template.name = n;
      for (const input of phaseInputs) template.phases[input.dataset.phase][primary][input.dataset.bound] = Number(input.value);
      for (const r of ruleInputs) r.rule.text = { en: r.en.value.trim(), "zh-CN": r.zh.value.trim() };
      try {
        const saved = await api("/api/templates", { method: "POST", json: { template } });
        state.authoring.saved = saved.id;
        saveStatus.textContent = t("template_saved", { id: saved.id });
      } catch (err) {
        showError(err, saveStatus);
      }
    };
    review.append(
      section("review_title", el("p", { class: "muted", text: t("review_explain", { n: draft.reps.length, counter: draft.counter_count }) }), charts, repsTable),
      section(
        "edit_title",
        el("h3", { text: t("thresholds_title") }),
        el("p", { class: "muted", text: t("thresholds_explain") }),
        phaseRows,
        ruleInputs.length ? el("h3", { text: t("cues_title") }) : null,
        ruleInputs.map((r) => r.node),
        el("button", { type: "button", class: "primary", id: "save-template", text: t("save_template"), onclick: save }),
        saveStatus,
      ),
    );
  }


  // ---------------------------------------------------------------- fall alerts

  // Polled every few seconds while signed in; ?alert_poll_ms= overrides (tests).
  const ALERT_POLL_MS = Math.max(500, Number(params.get("alert_poll_ms")) || 3000);
  const acknowledgedIds = new Set(); // a poll already in flight must not bring them back
  let alertTimer = null;
  let alertTicker = null;
  let alertPolling = false;

  function startAlerts() {
    if (alertTimer) return;
    alertTimer = setInterval(pollAlerts, ALERT_POLL_MS);
    alertTicker = setInterval(renderAlertAges, 1000);
    pollAlerts();
  }

  function stopAlerts() {
    clearInterval(alertTimer);
    clearInterval(alertTicker);
    alertTimer = alertTicker = null;
    state.alerts.open = [];
    state.alerts.failed = false;
    renderAlertBanner();
  }

  async function pollAlerts() {
    if (!state.me || alertPolling) return;
    alertPolling = true;
    try {
      const body = await api("/api/alerts");
      // Ages are counted on the server's clock: the office PC's may be off.
      state.alerts.offsetMs = Date.parse(body.now) - Date.now();
      const before = state.alerts.open.map((a) => a.id + (a.cleared_at ? "c" : "")).join();
      state.alerts.open = body.alerts.filter((a) => !acknowledgedIds.has(a.id));
      state.alerts.failed = false;
      const after = state.alerts.open.map((a) => a.id + (a.cleared_at ? "c" : "")).join();
      if (after !== before && state.page === "alerts" && state.ready) renderAlerts(); // the list too
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        stopAlerts();
        return;
      }
      state.alerts.failed = true; // keep showing what we had, and say it may be stale
    } finally {
      alertPolling = false;
      state.alerts.polls += 1;
    }
    renderAlertBanner();
  }

  function fmtAge(iso) {
    const ms = Math.max(0, Date.now() + state.alerts.offsetMs - Date.parse(iso));
    const s = Math.floor(ms / 1000);
    if (s < 60) return t("alert_age_seconds", { s });
    const m = Math.floor(s / 60);
    if (m < 60) return t("alert_age_minutes", { m });
    return t("alert_age_hours", { h: Math.floor(m / 60), m: m % 60 });
  }

  function fmtClock(iso) {
    return new Date(iso).toLocaleTimeString(state.lang, { hour: "2-digit", minute: "2-digit" });
  }

  function alertKind(a) {
    return a.kind === "fall" ? t("alert_fall") : t("alert_other");
  }

  function alertWho(a) {
    return a.resident ? a.resident.display_name + " (" + a.resident.member_code + ")" : t("alert_not_checked_in");
  }

  function alertWhere(a) {
    const kiosk = a.kiosk ? a.kiosk.name : t("alert_unknown_kiosk");
    const seat = a.seat_number !== null ? t("alert_seat", { n: a.seat_number }) : t("alert_no_seat");
    return [kiosk, seat, alertWho(a)].join(" · ");
  }

  function alertRow(a) {
    const button = el("button", { type: "button", class: "alert-ack", "data-alert-id": a.id });
    const row = el(
      "div",
      { class: "alert-row", "data-alert-id": a.id },
      el("div", { class: "alert-icon", "aria-hidden": "true", text: "⚠" }),
      el(
        "div",
        { class: "alert-text" },
        el("strong", { class: "alert-title" }),
        el("span", { class: "alert-where" }),
        el("span", { class: "alert-when" }),
        el("span", { class: "alert-cleared", hidden: true }),
        el("span", { class: "alert-status", role: "status" }),
      ),
      button,
    );
    button.addEventListener("click", () => acknowledgeAlert(a.id, row));
    return row;
  }

  function fillAlertRow(row, a) {
    const q = (cls) => row.querySelector("." + cls);
    q("alert-title").textContent = alertKind(a);
    q("alert-where").textContent = alertWhere(a);
    q("alert-when").textContent = t("alert_raised", { age: fmtAge(a.raised_at), time: fmtClock(a.raised_at) });
    q("alert-cleared").textContent = t("alert_cleared");
    q("alert-cleared").hidden = !a.cleared_at;
    const button = q("alert-ack");
    if (!button.disabled) button.textContent = t("alert_acknowledge");
  }

  // Rows are kept and updated in place between polls, so the button under the
  // coach's finger is never swapped out mid-click.
  function renderAlertBanner() {
    const banner = $("alert-banner");
    if (!banner) return;
    const open = state.alerts.open;
    const keep = new Set(open.map((a) => String(a.id)));
    for (const row of banner.querySelectorAll(".alert-row")) if (!keep.has(row.dataset.alertId)) row.remove();
    const failed = $("alert-poll-failed");
    for (const a of open) {
      let row = banner.querySelector('.alert-row[data-alert-id="' + a.id + '"]');
      if (!row) row = alertRow(a);
      fillAlertRow(row, a);
      banner.insertBefore(row, failed); // newest first, in the order the server sent
    }
    failed.textContent = t("alert_poll_failed");
    failed.hidden = !state.alerts.failed;
    banner.classList.toggle("has-alerts", open.length > 0);
    banner.hidden = !open.length && !state.alerts.failed;
    setDocumentTitle();
  }

  function renderAlertAges() {
    for (const a of state.alerts.open) {
      const row = document.querySelector('.alert-row[data-alert-id="' + a.id + '"]');
      if (row) row.querySelector(".alert-when").textContent = t("alert_raised", { age: fmtAge(a.raised_at), time: fmtClock(a.raised_at) });
    }
  }

  async function acknowledgeAlert(id, row) {
    const button = row.querySelector(".alert-ack");
    const status = row.querySelector(".alert-status");
    button.disabled = true;
    button.textContent = t("alert_acknowledging");
    status.textContent = "";
    try {
      const body = await api("/api/alerts/" + id + "/acknowledge", { method: "POST" });
      state.alerts.acknowledged.push(body.alert);
    } catch (err) {
      button.disabled = false;
      button.textContent = t("alert_acknowledge");
      if (!(err instanceof ApiError && err.status === 404)) {
        showError(err, status);
        return;
      }
      // 404: gone (or never this centre's): nothing left to acknowledge here.
    }
    acknowledgedIds.add(id);
    state.alerts.open = state.alerts.open.filter((a) => a.id !== id);
    renderAlertBanner();
    if (state.page === "alerts") renderAlerts();
  }

  function alertStatus(a) {
    if (!a.acknowledged_at) return a.cleared_at ? t("alert_status_open_cleared") : t("alert_status_open");
    let who = t("alert_by_unknown");
    if (a.acknowledged_by) who = a.acknowledged_by.display_name;
    else if (a.acknowledged_by_kiosk) who = t("alert_by_kiosk", { name: a.acknowledged_by_kiosk.name });
    return t("alert_status_acknowledged", { who, time: fmtDate(a.acknowledged_at) });
  }

  async function renderAlerts() {
    state.page = "alerts";
    let body;
    try {
      body = await api("/api/alerts?open=false&limit=100");
    } catch (err) {
      setView();
      showError(err);
      return;
    }
    const rows = body.alerts.map((a) =>
      el(
        "tr",
        { class: a.acknowledged_at ? "alert-closed" : "alert-open", "data-alert-id": a.id },
        el("td", { text: fmtDate(a.raised_at) }),
        el("td", { text: alertKind(a) }),
        el("td", { text: a.kiosk ? a.kiosk.name : t("alert_unknown_kiosk") }),
        el("td", { text: a.seat_number !== null ? String(a.seat_number) : "–" }),
        el("td", {}, a.resident ? el("a", { href: "#/residents/" + a.resident.id, text: alertWho(a) }) : t("alert_not_checked_in")),
        el("td", { class: "alert-status-cell", text: alertStatus(a) }),
      ),
    );
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, text: t("alerts_none") })));
    setView(
      section(
        "alerts_title",
        el("p", { class: "muted", text: t("alerts_explain") }),
        el(
          "table",
          { class: "table", id: "alerts-table" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["alert_col_raised", "alert_col_kind", "alert_col_kiosk", "alert_col_seat", "alert_col_resident", "alert_col_status"].map((k) => el("th", { text: t(k) })),
            ),
          ),
          el("tbody", {}, rows),
        ),
      ),
    );
    state.alertsListed = body.alerts.length;
  }

  // ---------------------------------------------------------------- router, start-up

  let customNamesLoaded = false;

  async function loadCustomNames() {
    if (customNamesLoaded) return;
    try {
      const custom = await api("/api/templates");
      for (const tp of custom.templates) if (tp.name && tp.name.en) exercises[tp.id] = tp.name;
      customNamesLoaded = true;
    } catch (e) {
      // shown with their ids
    }
  }

  async function route() {
    const hash = location.hash || "#/residents";
    if (!state.me && hash !== "#/login") {
      try {
        state.me = await api("/api/auth/me");
      } catch (err) {
        location.hash = "#/login";
        return;
      }
      applyI18n();
    }
    if (state.me) {
      startAlerts();
      await loadCustomNames();
    }
    let m;
    if (hash === "#/login") renderLogin();
    else if ((m = hash.match(/^#\/residents\/(\d+)$/))) await renderResident(m[1]);
    else if ((m = hash.match(/^#\/sessions\/(\d+)$/))) await renderSession(m[1]);
    else if (hash === "#/templates") await renderTemplates();
    else if (hash === "#/templates/new") await renderAuthoring();
    else if (hash === "#/alerts") await renderAlerts();
    else await renderResidents();
    state.ready = true;
  }

  async function init() {
    state.lang = params.get("lang") === "zh-CN" ? "zh-CN" : "en";
    applyI18n();
    try {
      errorTexts = await (await fetch("/api/auth/errors")).json();
      for (const ex of await (await fetch("/api/exercises")).json()) exercises[ex.id] = ex.name;
    } catch (e) {
      state.errors.push({ code: "client", message: String(e) });
    }
    $("lang-btn").addEventListener("click", () => {
      state.lang = state.lang === "en" ? "zh-CN" : "en";
      applyI18n();
      route();
    });
    $("logout-btn").addEventListener("click", async () => {
      try {
        await api("/api/auth/logout", { method: "POST" });
      } catch (e) {
        // signed out anyway
      }
      state.me = null;
      stopAlerts();
      applyI18n();
      location.hash = "#/login";
    });
    window.addEventListener("hashchange", () => {
      state.ready = false;
      route();
    });
    route();
  }

  window.coach = { route, pollAlerts };
  init();
})();
