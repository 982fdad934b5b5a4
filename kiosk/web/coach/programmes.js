// Programme results on the coach pages: a session's card (a routine's per-section
// scores; a posture screen's figures by view with their uncertainty, levels, the
// thresholds used and the change since the previous visit; a breathing session's
// rhythm against the prescribed pace and its breaths) and the resident's history of
// them. The API: GET /api/sessions/ID (`programme`), /api/residents/ID/programmes.

import { el } from "../shared/dom.js";
import { addStrings, fmtScore, localized, t } from "../shared/i18n.js";
import { dateTime, scoreClass, section, table } from "./common.js";
import STRINGS from "./programme_strings.js";

addStrings(STRINGS);

const FIGURES = ["shoulder_height_diff_pct", "shoulder_tilt_deg", "pelvic_tilt_deg", "trunk_shift_pct", "head_tilt_deg"];

// x with `digits` decimals ("-0.0" shown as "0.0"); "–" when there is none.
function num(x, digits = 1) {
  if (!(typeof x === "number" && isFinite(x))) return "–";
  const rounded = Number(x.toFixed(digits));
  return (rounded === 0 ? 0 : rounded).toFixed(digits);
}

function unit(u) {
  return u === "deg" ? "°" : u === "%H" ? " " + t("unit_pct_height") : u ? " " + u : "";
}

// value ± u (one standard uncertainty) in the figure's unit.
function withUncertainty(f) {
  return f ? num(f.value) + " ± " + num(f.uncertainty) + unit(f.unit) : "–";
}

// A session's programme card (null for other sessions).
export function programmeSection(p) {
  if (!p) return null;
  const card = { routine: routineCard, posture: postureCard, breathing: breathingCard }[p.kind];
  return card ? card(p) : null;
}

function stopped(p) {
  return p.completed ? null : el("p", { class: "muted", text: t("programme_stopped") });
}

function routineCard(p) {
  return section(
    "routine_title",
    el("p", { id: "routine-whole" }, t("routine_whole_score") + ": ", el("strong", { class: scoreClass(p.score), text: fmtScore(p.score) })),
    stopped(p),
    table(
      "routine-sections",
      ["col_section", "col_status", "col_rounds", "score", "col_round_scores", "col_improve"],
      p.sections.map((s) =>
        el(
          "tr",
          { "data-section": s.section_id },
          el("td", { text: localized(s.name) || s.section_id }),
          el("td", { text: t("section_status_" + s.status) }),
          el("td", { text: s.rounds + " / " + s.target_rounds }),
          el("td", { class: scoreClass(s.score), text: fmtScore(s.score) }),
          el("td", { text: (s.round_scores || []).map(fmtScore).join(" · ") || "–" }),
          el("td", { text: s.improvement ? localized(s.improvement) : "–" }),
        ),
      ),
    ),
  );
}

function postureCard(p) {
  const byView = {};
  for (const f of p.figures) (byView[f.view] = byView[f.view] || {})[f.figure] = f;
  const changes = p.comparison ? p.comparison.figures : {};
  const change = (name) => {
    const c = changes[name];
    if (!c) return "–";
    const text = (c.delta >= 0 ? "+" : "") + num(c.delta) + " ± " + num(c.uncertainty) + unit(c.unit);
    return text + " · " + t(c.changed ? (c.closer_to_level ? "change_closer" : "change_further") : "change_none");
  };
  const assessment = p.assessment || {};
  return section(
    "posture_title",
    el("p", { class: "muted", text: t("posture_explain") }),
    stopped(p),
    table(
      "posture-figures",
      ["col_figure", "view_front_short", "view_back_short", "col_combined", "col_level", "col_threshold", "col_change"],
      FIGURES.map((name) => {
        const c = (byView.combined || {})[name];
        const threshold = c && c.threshold !== null ? num(c.threshold) + unit(c.threshold_unit) + (c.threshold_placeholder ? " " + t("placeholder_mark") : "") : "–";
        return el(
          "tr",
          { "data-figure": name, class: c && c.level ? "level-" + c.level : "" },
          el("td", { text: t("figure_" + name) }),
          el("td", { text: withUncertainty((byView.front || {})[name]) }),
          el("td", { text: withUncertainty((byView.back || {})[name]) }),
          el("td", { text: withUncertainty(c) }),
          el("td", { text: c && c.level ? t("level_" + c.level) : "–" }),
          el("td", { text: threshold, title: c && c.threshold_source ? c.threshold_source : null }),
          el("td", { text: change(name) }),
        );
      }),
    ),
    p.comparison
      ? el("p", { id: "posture-previous", class: "muted", text: t("posture_compared", { date: dateTime(p.comparison.previous_taken_at, false) }) })
      : el("p", { id: "posture-previous", class: "muted", text: t("posture_first") }),
    assessment.advice ? el("p", { id: "posture-advice", text: localized(assessment.advice) }) : null,
    assessment.limits ? el("p", { class: "muted", text: localized(assessment.limits) }) : null,
  );
}

function breathingCard(p) {
  const r = p.rhythm;
  const lines = r
    ? [
        t("rhythm_period", { actual: num(r.period_s), target: num(p.inhale_s + p.exhale_s) }),
        t("rhythm_ratio", { actual: num(r.ratio), target: num(p.exhale_s / p.inhale_s) }),
        t("rhythm_even", { cv: typeof r.regularity_cv === "number" ? Math.round(r.regularity_cv * 100) : "–" }),
        t("rhythm_lag", { lag: num(r.lag_s) }),
        t("rhythm_breaths", { n: p.breaths.length, total: p.cycles }),
      ]
    : [t("rhythm_none")];
  return section(
    "breathing_title",
    el("ul", { id: "rhythm-lines" }, ...lines.map((text) => el("li", { text }))),
    r ? el("p", { text: localized(r.message) }) : null,
    stopped(p),
    table(
      "breaths-table",
      ["col_breath", "col_inhale", "col_exhale", "col_hold", "col_period"],
      p.breaths.map((b) =>
        el("tr", {}, el("td", { text: String(b.count) }), el("td", { text: num(b.inhale_s) + " s" }), el("td", { text: num(b.exhale_s) + " s" }), el("td", { text: num(b.top_hold_s) + " s" }), el("td", { text: b.period_s === null ? "–" : num(b.period_s) + " s" })),
      ),
    ),
    el("p", { class: "muted", text: t("rhythm_camera") }),
  );
}

// The resident's programme results, newest first (null when there are none).
export function programmesHistory(list, exerciseName) {
  if (!list.length) return null;
  const rows = [...list].reverse().map((p) => {
    let summary;
    if (p.kind === "routine") summary = t("routine_whole_score") + " " + fmtScore(p.score) + " · " + p.sections.filter((s) => s.rounds).map((s) => fmtScore(s.score)).join(" / ");
    else if (p.kind === "posture") {
      const combined = p.figures.filter((f) => f.view === "combined" && f.level);
      summary = combined.map((f) => t("figure_" + f.figure) + " " + num(f.value) + unit(f.unit)).join(" · ");
      if (p.comparison) summary += " · " + t("changed_figures", { n: Object.values(p.comparison.figures).filter((c) => c.changed).length });
    } else summary = p.rhythm ? t("rhythm_period_short", { actual: num(p.rhythm.period_s), target: num(p.inhale_s + p.exhale_s) }) : t("rhythm_none");
    return el(
      "tr",
      { "data-kind": p.kind },
      el("td", {}, el("a", { href: "#/sessions/" + p.session_id, text: dateTime(p.taken_at) })),
      el("td", { text: exerciseName(p.programme_id) }),
      el("td", { text: summary }),
    );
  });
  return section("programmes_title", table("programmes-table", ["session_date", "exercise", "col_result"], rows));
}
