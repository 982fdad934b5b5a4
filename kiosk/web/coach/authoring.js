// Authoring a template (#/templates/new): from a recorded session or an uploaded video
// of a demonstration, the server proposes a draft (reference curves with a tolerance
// band, phase thresholds, cue texts); the coach reviews the demonstration's reps
// against the band, edits the thresholds and cue texts in both languages, and saves.

import * as Charts from "./charts.js";
import { el } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { api, channelName, dateTime, exerciseName, section, setView, showError, state, table } from "./common.js";

export async function renderAuthoring() {
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
        sessionSelect.append(el("option", { value: s.id, text: dateTime(s.started_at) + " · " + exerciseName(s.exercise_id) + " · " + t("reps") + " " + s.rep_count })),
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
  const repsTable = table(
    "draft-reps",
    ["rep_number", "rep_duration", "rep_fit"],
    draft.reps.map((r, i) => el("tr", {}, el("td", { text: String(i + 1) }), el("td", { text: (r.duration_ms / 1000).toFixed(1) + " s" }), el("td", { text: r.cost === null ? "–" : r.cost.toFixed(2) }))),
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
