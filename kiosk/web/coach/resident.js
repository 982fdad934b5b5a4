// One resident's view (#/residents/ID): their details and exports, their exercise
// plans (plans.js), weekly progress per
// exercise (repetitions, average score, range of motion per joint), fitness
// assessments with their percentile over time, programme results (routines, posture
// screens compared visit to visit, breathing; coach/programmes.js), sessions, notes,
// member cards (cards.js), and (administrators)
// deleting the resident after a full export.

import { cardsSection } from "./cards.js";
import * as Charts from "./charts.js";
import { plansSection } from "./plans.js";
import { el } from "../shared/dom.js";
import { fmtDate, fmtScore, t, tOr } from "../shared/i18n.js";
import { programmesHistory } from "./programmes.js";
import { api, channelName, dateTime, download, exerciseName, exportButtons, notesSection, scoreClass, section, setView, showError, state, table, viewData } from "./common.js";

export async function renderResident(id) {
  state.page = "resident";
  state.chartsDrawn = 0;
  const base = "/api/residents/" + id;
  const resident = await viewData(base);
  if (!resident) return;
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const [progress, sessions, notes, assessments, programmes, plans, cards] = await Promise.all([
    api(base + "/progress?tz=" + encodeURIComponent(timeZone)).catch(() => api(base + "/progress")),
    api(base + "/sessions"),
    api(base + "/notes"),
    api(base + "/assessments").catch(() => ({ assessments: [] })),
    api(base + "/programmes").catch(() => ({ programmes: [] })),
    api(base + "/prescriptions").catch(() => ({ prescriptions: [] })),
    api(base + "/member-cards").catch(() => ({ cards: [] })),
  ]);
  const header = el(
    "section",
    { class: "card resident-head" },
    el("h2", { id: "resident-name", text: resident.display_name }),
    el("p", { class: "muted" }, t("member_code") + ": " + resident.member_code + (resident.birth_year ? " · " + t("birth_year") + ": " + resident.birth_year : "")),
    el("p", { class: "muted" }, t("consent_landmarks") + ": " + t(resident.consent.landmarks ? "yes" : "no")),
    exportButtons("/api/exports/residents/" + id, programmes.programmes.length > 0),
  );
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
    el(
      "div",
      { class: "charts" },
      el("figure", {}, el("figcaption", { text: t("chart_reps_title") }), canvases.reps),
      el("figure", {}, el("figcaption", { text: t("chart_score_title") }), canvases.score),
      el("figure", { class: "wide" }, el("figcaption", { text: t("chart_rom_title") }), canvases.rom),
    ),
  );
  const notesCard = notesSection(notes.notes, (text) => api(base + "/notes", { method: "POST", json: { text } }));
  const dangerCard = state.me && state.me.role === "admin" ? deleteSection(resident) : null;
  setView(
    el("p", {}, el("a", { href: "#/residents", text: "← " + t("nav_residents") })),
    header,
    plansSection(id, plans.prescriptions),
    progressCard,
    assessments.assessments.length ? assessmentsSection(assessments.assessments) : null,
    programmesHistory(programmes.programmes, exerciseName),
    sessionsSection(sessions.sessions),
    notesCard,
    cardsSection(id, cards.cards),
    dangerCard,
  );
  const redraw = () => exerciseIds.length && drawProgress(progress.weeks, select.value, canvases);
  select.addEventListener("change", redraw);
  redraw();
}

function sessionsSection(sessions) {
  return section(
    "sessions_title",
    table(
      "sessions-table",
      ["session_date", "exercise", "reps", "mean_score", "status"],
      sessions.map((s) =>
        el(
          "tr",
          {},
          el("td", {}, el("a", { href: "#/sessions/" + s.id, class: "session-link", text: dateTime(s.started_at) })),
          el("td", { text: exerciseName(s.exercise_id) }),
          el("td", { text: String(s.rep_count) }),
          el("td", { class: scoreClass(s.mean_score), text: fmtScore(s.mean_score) }),
          el("td", { text: t("status_" + s.status) }),
        ),
      ),
    ),
    sessions.length ? null : el("p", { class: "muted", text: t("no_sessions") }),
  );
}

// ---------------------------------------------------------------- weekly progress

function drawProgress(weeks, exercise, canvases) {
  const rows = weeks.filter((w) => w.exercise_id === exercise);
  const starts = [...new Set(rows.map((w) => w.week_start))].sort();
  const xi = (w) => starts.indexOf(w.week_start);
  const weekLabel = (i) => (starts[i] ? fmtDate(new Date(starts[i] + "T00:00:00")) : "");
  const x = { min: -0.6, max: Math.max(0.6, starts.length - 0.4), ticks: starts.map((_, i) => i), format: weekLabel };
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
  const [lo, hi] = Charts.extent(romSeries.flatMap((s) => s.points.map((p) => p[1])), 0.15);
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

// ---------------------------------------------------------------- fitness assessments

// UCUM units; annotations such as "{repetitions}" are shown as words.
function unitLabel(unit) {
  const bare = String(unit || "").replace(/^\{|\}$/g, "");
  return tOr("unit_" + bare, bare);
}

function assessmentName(id) {
  return tOr("assessment_" + id, id.replace(/_/g, " "));
}

function assessmentsSection(list) {
  return section(
    "assessments_title",
    table(
      "assessments-table",
      ["assessment_test", "assessment_date", "assessment_value", "assessment_percentile", "assessment_band"],
      list.map((a) =>
        el(
          "tr",
          {},
          el("td", { text: assessmentName(a.protocol_id) }),
          el("td", { text: dateTime(a.taken_at, false) }),
          el("td", { text: a.value + " " + unitLabel(a.unit) }),
          el("td", { text: a.percentile === null ? "–" : Math.round(a.percentile) + "%" }),
          el("td", { text: a.band ? tOr("band_" + a.band, a.band) : "–" }),
        ),
      ),
    ),
    assessmentChart(list),
  );
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
      x: { min: x0 - pad, max: x1 + pad, format: (v) => fmtDate(v) },
      y: { min: 0, max: 100, label: t("assessment_percentile") },
      series,
      empty: t("no_data"),
    });
    state.chartsDrawn++;
  });
  return el("figure", { class: "wide" }, el("figcaption", { text: t("assessment_chart_title") }), canvas);
}

// ---------------------------------------------------------------- deleting (administrators)

function deleteSection(resident) {
  const status = el("p", { class: "status", role: "status" });
  const confirmInput = el("input", { id: "delete-confirm", placeholder: resident.member_code, autocomplete: "off" });
  const exported = el("input", { type: "checkbox", id: "delete-exported" });
  const remove = async () => {
    if (confirmInput.value.trim() !== resident.member_code || !exported.checked) {
      status.textContent = t("delete_not_confirmed");
      return;
    }
    try {
      const body = await api("/api/residents/" + resident.id + "?export=json", { method: "DELETE" });
      const blob = new Blob([JSON.stringify(body.export, null, 1)], { type: "application/json" });
      const a = el("a", { href: URL.createObjectURL(blob), download: "movecoach-resident-" + resident.id + "-final.json", text: t("delete_download_final") });
      setView(
        section(
          "delete_done_title",
          el("p", { text: t("delete_done", { name: resident.display_name }) }),
          el("p", {}, a),
          el("p", {}, el("a", { href: "#/residents", text: t("nav_residents") })),
        ),
      );
      state.deleted = body.deleted;
    } catch (err) {
      showError(err, status);
    }
  };
  const dialog = el(
    "div",
    { class: "danger-dialog", id: "delete-dialog", hidden: true },
    el("p", { text: t("delete_explain", { name: resident.display_name }) }),
    el("p", {}, download("/api/exports/residents/" + resident.id + "?format=json&landmarks=true", t("delete_export_first"))),
    el("label", {}, exported, " " + t("delete_exported")),
    el("label", {}, t("delete_type_code", { code: resident.member_code }), confirmInput),
    el("button", { type: "button", class: "danger", id: "delete-go", text: t("delete_resident"), onclick: remove }),
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
