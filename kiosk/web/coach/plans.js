// Exercise plans on the coach pages: a resident's plans (in their view), one plan
// (#/plans/ID: what it prescribes, today's session at this week's doses with the
// progression lines, and adherence week by week with plots, totals and exports), and
// the centre's adherence (#/adherence). The editor is plan_editor.js.

import * as Charts from "./charts.js";
import STRINGS from "./plan_strings.js";
import { el } from "../shared/dom.js";
import { addStrings, fmtDate, fmtScore, localized, t } from "../shared/i18n.js";
import { api, download, exerciseName, section, setView, showError, state, table, viewData } from "./common.js";

addStrings(STRINGS);

const DONE_COLOR = "#1f77b4";
const PRESCRIBED_COLOR = "#c9dcec";

function day(iso) {
  return fmtDate(iso + "T00:00:00");
}

function period(plan) {
  return day(plan.start_date) + " – " + day(plan.end_date);
}

// The resident view's card: their plans, and a new one.
export function plansSection(residentId, plans) {
  return section(
    "plans_title",
    plans.length
      ? table(
          "plans-table",
          ["plan_col_title", "plan_col_period", "plan_col_prescriber"],
          plans.map((p) =>
            el(
              "tr",
              {},
              el("td", {}, el("a", { href: "#/plans/" + p.id, class: "plan-link", text: localized(p.document.title) || "#" + p.id })),
              el("td", { text: period(p) }),
              el("td", { text: p.prescribed_by ? p.prescribed_by.display_name : "–" }),
            ),
          ),
        )
      : el("p", { class: "muted", text: t("plans_none") }),
    el("p", {}, el("a", { class: "button primary", id: "new-plan", href: "#/residents/" + residentId + "/plans/new", text: t("plan_new") })),
  );
}

function amount(ex) {
  return ex.hold_s !== undefined && ex.hold_s !== null ? t("plan_dose_hold", { sets: ex.sets, hold: ex.hold_s }) : t("plan_dose_reps", { sets: ex.sets, reps: ex.reps });
}

function prescribedSection(plan) {
  const doc = plan.document;
  return section(
    "plan_sessions_title",
    doc.sessions.map((s) =>
      el(
        "div",
        { class: "plan-session-view" },
        el("h3", { text: localized(s.name) + " · " + s.days.map((d) => t("day_" + d)).join(" ") }),
        el(
          "ul",
          {},
          s.exercises.map((ex) =>
            el(
              "li",
              {},
              el("strong", { text: exerciseName(ex.exercise) }),
              " " + amount(ex) + (ex.rest_s ? " · " + t("plan_rest_line", { s: ex.rest_s }) : ""),
              ex.progression ? el("span", { class: "muted", text: " · " + progressionLine(ex.progression) }) : null,
            ),
          ),
        ),
      ),
    ),
    (doc.contraindications || []).length ? el("ul", { class: "cautions" }, doc.contraindications.map((c) => el("li", { text: localized(c) }))) : null,
  );
}

function progressionLine(p) {
  const parts = [t("plan_progression_line", { field: t("plan_progression_" + p.field), step: p.step })];
  if (p.min_mean_score !== undefined) parts.push(t("plan_progression_while", { score: p.min_mean_score }));
  if (p.maximum !== undefined) parts.push(t("plan_progression_up_to", { max: p.maximum }));
  parts.push(t("plan_missed_" + (p.on_missed || "hold")));
  return parts.join(", ");
}

function todaySection(today) {
  const sessions = today.sessions.concat(today.make_up);
  const lines = sessions.length
    ? sessions.map((s) =>
        el(
          "div",
          {},
          el("h3", { text: localized(s.name) + (s.done_today ? " ✓" : "") + (today.make_up.includes(s) ? " · " + t("plan_make_up") : "") }),
          el(
            "ul",
            {},
            s.exercises.map((ex) => el("li", {}, el("strong", { text: exerciseName(ex.exercise) }), " " + amount(ex), ex.change_text ? el("span", { class: "muted", text: " · " + localized(ex.change_text) }) : null)),
          ),
        ),
      )
    : [el("p", { class: "muted", text: today.next_session_on ? t("plan_next_on", { date: day(today.next_session_on) }) : t("plan_status_" + today.status) })];
  return section("plan_today_title", el("p", { class: "muted", text: day(today.date) }), lines);
}

// #/plans/ID
export async function renderPlan(id) {
  state.page = "plan";
  state.adherence = null;
  const plan = await viewData("/api/prescriptions/" + id);
  if (!plan) return;
  let today = null;
  let report = null;
  let resident = null;
  try {
    [today, report, resident] = await Promise.all([
      api("/api/prescriptions/" + id + "/today"),
      api("/api/prescriptions/" + id + "/adherence"),
      api("/api/residents/" + plan.resident_id),
    ]);
  } catch (err) {
    setView();
    showError(err);
    return;
  }
  const doc = plan.document;
  const head = el(
    "section",
    { class: "card" },
    el("h2", { id: "plan-heading", text: localized(doc.title) }),
    el("p", { class: "muted", text: resident.display_name + " · " + period(plan) + " · " + t("plan_by", { name: doc.prescribed_by.name }) }),
    doc.template_id ? el("p", { class: "muted", text: t("plan_from_template", { id: doc.template_id }) }) : null,
    plan.error ? el("p", { class: "status", text: plan.error }) : null,
    el(
      "p",
      { class: "exports" },
      el("a", { class: "button", id: "edit-plan", href: "#/plans/" + id + "/edit", text: t("plan_edit") }),
      el("button", {
        type: "button",
        class: "danger",
        id: "delete-plan",
        text: t("plan_delete"),
        onclick: async () => {
          if (!confirm(t("plan_delete_confirm"))) return;
          try {
            await api("/api/prescriptions/" + id, { method: "DELETE" });
            location.hash = "#/residents/" + plan.resident_id;
          } catch (err) {
            showError(err);
          }
        },
      }),
    ),
  );
  const adherence = adherenceSection(id, report.adherence);
  setView(el("p", {}, el("a", { href: "#/residents/" + plan.resident_id, text: "← " + resident.display_name })), head, todaySection(today), adherence.card, prescribedSection(plan));
  adherence.draw();
}

function weekLabel(weeks) {
  return (i) => (weeks[i] ? day(weeks[i].week_start) : "");
}

// Counts on an axis: whole ticks only (a half session means nothing).
function wholeTick(v) {
  return Number.isInteger(v) ? String(v) : "";
}

function pct(x) {
  return typeof x === "number" && isFinite(x) ? Math.round(x * 100) + "%" : "–";
}

function adherenceSection(id, a) {
  const weeks = a.weeks;
  const canvases = {
    sessions: el("canvas", { id: "chart-adherence-sessions", class: "chart" }),
    score: el("canvas", { id: "chart-adherence-score", class: "chart" }),
    volume: el("canvas", { id: "chart-adherence-volume", class: "chart wide" }),
  };
  const rows = weeks.map((w) => {
    const tt = w.totals;
    return el(
      "tr",
      { class: w.missed ? "week-missed" : w.complete ? "" : "week-open", "data-week": w.week_start },
      el("td", { text: day(w.week_start) + (w.complete ? "" : " · " + t("plan_week_open")) }),
      el("td", { text: tt.sessions_done + " / " + tt.sessions_prescribed }),
      el("td", { text: tt.sets_done + " / " + tt.sets_prescribed + " (" + tt.sets_completed + ")" }),
      el("td", { text: tt.reps_done + " / " + tt.reps_prescribed }),
      el("td", { text: Math.round(tt.hold_s_done) + " / " + Math.round(tt.hold_s_prescribed) }),
      el("td", { text: fmtScore(w.mean_score) }),
      el("td", { text: w.missed ? t("plan_week_missed") : "" }),
    );
  });
  const trend = a.score_trend_per_week;
  const summary = el(
    "p",
    { id: "adherence-summary" },
    (typeof a.session_rate === "number" ? t("plan_session_rate", { rate: pct(a.session_rate) }) : t("plan_session_rate_none")) +
      " · " +
      t("plan_missed_weeks", { n: a.missed_weeks.length }) +
      (typeof trend === "number" ? " · " + t("plan_trend", { v: (trend >= 0 ? "+" : "") + trend.toFixed(1) }) : ""),
  );
  const card = section(
    "plan_adherence_title",
    summary,
    el(
      "div",
      { class: "charts" },
      el("figure", {}, el("figcaption", { text: t("plan_chart_sessions") }), canvases.sessions),
      el("figure", {}, el("figcaption", { text: t("plan_chart_score") }), canvases.score),
      el("figure", { class: "wide" }, el("figcaption", { text: t("plan_chart_volume") }), canvases.volume),
    ),
    table("adherence-table", ["plan_col_week", "plan_col_sessions", "plan_col_sets_full", "plan_col_reps", "plan_col_hold", "mean_score", "plan_col_missed"], rows),
    el(
      "div",
      { class: "exports" },
      el("span", { class: "muted", text: t("export") + ": " }),
      download("/api/exports/prescriptions/" + id + "?format=csv", t("export_csv")),
      download("/api/exports/prescriptions/" + id + "?format=json", t("export_json")),
      download("/api/exports/prescriptions/" + id + "?format=fhir", t("export_fhir")),
    ),
  );
  const draw = () => {
    const x = { min: -0.6, max: Math.max(0.6, weeks.length - 0.4), ticks: weeks.map((_, i) => i), format: weekLabel(weeks) };
    const pairs = (get) =>
      weeks.flatMap((w, i) => [
        { x: i - 0.17, y: get(w.totals)[0], width: 0.32, color: PRESCRIBED_COLOR },
        { x: i + 0.17, y: get(w.totals)[1], width: 0.32, color: DONE_COLOR },
      ]);
    const legend = [
      { label: t("plan_prescribed"), color: PRESCRIBED_COLOR },
      { label: t("plan_done"), color: DONE_COLOR },
    ];
    const sessionMax = Math.max(1, ...weeks.map((w) => w.totals.sessions_prescribed), ...weeks.map((w) => w.totals.sessions_done));
    Charts.line(canvases.sessions, {
      height: 200,
      x,
      y: { min: 0, max: sessionMax * 1.15, format: wholeTick, label: t("plan_chart_sessions_unit") },
      bars: pairs((tt) => [tt.sessions_prescribed, tt.sessions_done]),
      legendExtra: legend,
      empty: t("no_data"),
    });
    const scored = weeks.map((w, i) => [i, w.mean_score]).filter((p) => typeof p[1] === "number");
    const series = [{ points: weeks.map((w, i) => [i, w.mean_score]), color: Charts.COLORS[2], dots: true, label: t("mean_score") }];
    if (typeof trend === "number" && scored.length >= 2) {
      // The trend is per plan week; the line goes through the weekly means' centre.
      const mx = scored.reduce((s, p) => s + p[0], 0) / scored.length;
      const my = scored.reduce((s, p) => s + p[1], 0) / scored.length;
      const at = (xi) => my + trend * (xi - mx);
      series.push({ points: [[0, at(0)], [weeks.length - 1, at(weeks.length - 1)]], color: Charts.COLORS[3], dash: [6, 4], label: t("plan_trend_line") });
    }
    Charts.line(canvases.score, { height: 200, x, y: { min: 0, max: 100, label: t("chart_score") }, series, empty: t("no_data") });
    const holds = weeks.some((w) => w.totals.hold_s_prescribed > 0);
    const reps = weeks.some((w) => w.totals.reps_prescribed > 0);
    const key = reps || !holds ? ["reps_prescribed", "reps_done"] : ["hold_s_prescribed", "hold_s_done"];
    const volMax = Math.max(1, ...weeks.flatMap((w) => [w.totals[key[0]], w.totals[key[1]]]));
    Charts.line(canvases.volume, {
      height: 200,
      x,
      y: { min: 0, max: volMax * 1.15, format: wholeTick, label: t(key[0] === "reps_prescribed" ? "plan_chart_reps_unit" : "plan_chart_hold_unit") },
      bars: pairs((tt) => [tt[key[0]], tt[key[1]]]),
      legendExtra: legend,
      empty: t("no_data"),
    });
    state.chartsDrawn = (state.chartsDrawn || 0) + 3;
    state.adherence = { weeks: weeks.length, current: weeks.length ? weeks[weeks.length - 1].totals : null, drawn: 3 };
  };
  return { card, draw };
}

// #/adherence: the centre's plans, week by week and plan by plan.
export async function renderCentreAdherence() {
  state.page = "adherence";
  const body = await viewData("/api/adherence");
  if (!body) return;
  const weeks = body.weeks;
  const canvas = el("canvas", { id: "chart-centre-adherence", class: "chart" });
  const rows = body.plans.map((p) => {
    const cur = p.current_week ? p.current_week.totals : null;
    return el(
      "tr",
      {},
      el("td", {}, el("a", { href: "#/residents/" + p.resident.id, text: p.resident.display_name })),
      el("td", {}, el("a", { href: "#/plans/" + p.prescription_id, class: "plan-link", text: localized(p.title) || "#" + p.prescription_id })),
      el("td", { text: cur ? cur.sessions_done + " / " + cur.sessions_prescribed : "–" }),
      el("td", { text: p.error ? t("plan_invalid") : pct(p.session_rate) }),
      el("td", { text: p.missed_weeks ? String(p.missed_weeks.length) : "–" }),
      el("td", { text: typeof p.score_trend_per_week === "number" ? (p.score_trend_per_week >= 0 ? "+" : "") + p.score_trend_per_week.toFixed(1) : "–" }),
    );
  });
  setView(
    section(
      "centre_adherence_title",
      el("p", { class: "muted", text: t("centre_adherence_explain", { date: day(body.as_of) }) }),
      el("figure", {}, el("figcaption", { text: t("plan_chart_centre") }), canvas),
      table("centre-adherence-table", ["resident", "plan_col_title", "plan_col_this_week", "plan_col_rate", "plan_col_missed_weeks", "plan_col_trend"], rows),
      body.plans.length ? null : el("p", { class: "muted", text: t("plans_none") }),
      el(
        "div",
        { class: "exports" },
        el("span", { class: "muted", text: t("export") + ": " }),
        download("/api/exports/adherence?format=csv", t("export_csv")),
        download("/api/exports/adherence?format=json", t("export_json")),
      ),
    ),
  );
  const x = { min: -0.6, max: Math.max(0.6, weeks.length - 0.4), ticks: weeks.map((_, i) => i), format: weekLabel(weeks) };
  const max = Math.max(1, ...weeks.map((w) => w.totals.sessions_prescribed));
  Charts.line(canvas, {
    height: 220,
    x,
    y: { min: 0, max: max * 1.15, format: wholeTick, label: t("plan_chart_sessions_unit") },
    bars: weeks.flatMap((w, i) => [
      { x: i - 0.17, y: w.totals.sessions_prescribed, width: 0.32, color: PRESCRIBED_COLOR },
      { x: i + 0.17, y: w.totals.sessions_done, width: 0.32, color: DONE_COLOR },
    ]),
    series: [{ points: weeks.map((w, i) => [i, w.residents_missed]), color: Charts.COLORS[1], dots: true, label: t("plan_residents_missed") }],
    legendExtra: [
      { label: t("plan_prescribed"), color: PRESCRIBED_COLOR },
      { label: t("plan_done"), color: DONE_COLOR },
    ],
    empty: t("no_data"),
  });
  state.centreAdherence = { weeks: weeks.length, plans: body.plans.length };
}

