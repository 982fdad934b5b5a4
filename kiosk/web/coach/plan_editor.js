// The plan editor (#/residents/ID/plans/new, #/plans/ID/edit): a resident's exercise
// plan (运动处方) as a form over its document (docs/prescriptions.md): what it is for,
// its dates, elder mode, cautions, and its weekly sessions, each a list of exercises
// with sets × repetitions (or hold seconds), rest, pace, a target score and a
// progression rule. A new plan may start from a plan template at the levels the
// resident's latest assessments suggest (the reasons are listed). Texts are written in
// the page's language; a text's other language is kept as it was. The server validates
// the document and says what is wrong (key path and expectation) when it refuses it.

import STRINGS from "./plan_strings.js";
import { $, el } from "../shared/dom.js";
import { addStrings, lang, localized, t } from "../shared/i18n.js";
import { api, exerciseName, section, setView, showError, state, viewData } from "./common.js";

addStrings(STRINGS);

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const KIND_FIELDS = { reps: ["reps", "sets"], sequence: ["reps", "sets"], hold: ["hold_s", "sets"] };

function isoDay(d) {
  const z = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + z(d.getMonth() + 1) + "-" + z(d.getDate());
}

function plusDays(iso, days) {
  const d = new Date(iso + "T00:00:00");
  d.setDate(d.getDate() + days);
  return isoDay(d);
}

// A text object with the page's language set to `value` (the other kept); empty
// drops the page's language.
function withText(obj, value) {
  const out = Object.assign({}, obj || {});
  if (value.trim()) out[lang()] = value.trim();
  else delete out[lang()];
  return out;
}

function blankSession(n) {
  return { id: "s" + n, name: { [lang()]: t("plan_session_default", { n }) }, days: ["mon", "wed", "fri"], exercises: [] };
}

function blankDocument() {
  const start = isoDay(new Date());
  return { schema: 1, title: {}, start_date: start, end_date: plusDays(start, 7 * 8 - 1), elder_mode: true, sessions: [blankSession(1)] };
}

// #/residents/ID/plans/new (residentId) or #/plans/ID/edit (planId).
export async function renderPlanEditor({ residentId = null, planId = null }) {
  state.page = "plan-editor";
  const catalogueBody = await viewData("/api/plan-templates");
  if (!catalogueBody) return;
  let doc;
  let resident;
  if (planId) {
    const plan = await viewData("/api/prescriptions/" + planId);
    if (!plan) return;
    doc = JSON.parse(JSON.stringify(plan.document));
    residentId = plan.resident_id;
  } else {
    doc = blankDocument();
  }
  try {
    resident = await api("/api/residents/" + residentId);
  } catch (err) {
    setView();
    showError(err);
    return;
  }
  const editor = new Editor(doc, catalogueBody.catalogue, catalogueBody.templates, resident, planId);
  state.planEditor = { saved: null, suggestion: null, errors: 0 };
  editor.render();
}

class Editor {
  constructor(doc, catalogue, templates, resident, planId) {
    this.doc = doc;
    this.catalogue = catalogue; // id -> kind
    this.templates = templates;
    this.resident = resident;
    this.planId = planId;
    this.reasons = [];
  }

  render() {
    const d = this.doc;
    const head = el(
      "p",
      {},
      el("a", { href: "#/residents/" + this.resident.id, text: "← " + this.resident.display_name }),
      this.planId ? [" · ", el("a", { href: "#/plans/" + this.planId, text: t("plan_view_link") })] : null,
    );
    const templateCard = this.planId ? null : this.templateSection();
    const basics = section(
      this.planId ? "plan_edit_title" : "plan_new_title",
      el(
        "div",
        { class: "form-grid" },
        this.input("plan-title", "plan_field_title", localized(d.title), (v) => (d.title = withText(d.title, v))),
        this.input("plan-start", "plan_field_start", d.start_date, (v) => (d.start_date = v), "date"),
        this.input("plan-end", "plan_field_end", d.end_date, (v) => (d.end_date = v), "date"),
        el("label", {}, t("plan_field_elder"), el("input", { type: "checkbox", id: "plan-elder", checked: !!d.elder_mode, onchange: (e) => (d.elder_mode = e.target.checked) })),
      ),
      el(
        "div",
        { class: "form-grid" },
        this.textarea("plan-cautions", "plan_field_cautions", (d.contraindications || []).map(localized).join("\n"), (v) => {
          const lines = v.split("\n").map((x) => x.trim());
          const old = d.contraindications || [];
          d.contraindications = lines.map((line, i) => withText(old[i], line)).filter((c) => Object.keys(c).length);
        }),
        this.textarea("plan-notes", "plan_field_notes", localized(d.notes), (v) => (d.notes = withText(d.notes, v))),
      ),
    );
    const sessions = el("div", { id: "plan-sessions" }, d.sessions.map((s, i) => this.sessionCard(s, i)));
    const status = el("p", { id: "plan-save-status", class: "status", role: "status" });
    const save = el("button", { type: "button", class: "primary", id: "save-plan", text: t("plan_save"), onclick: () => this.save(status) });
    const addSession = el("button", { type: "button", id: "add-session", text: t("plan_add_session"), onclick: () => this.changed(() => d.sessions.push(blankSession(d.sessions.length + 1))) });
    setView(head, templateCard, basics, sessions, el("p", {}, addSession), el("p", {}, save), status);
  }

  // Re-renders after a change of structure (an exercise or session added or removed).
  changed(change) {
    change();
    this.render();
  }

  input(id, labelKey, value, set, type = "text") {
    return el("label", { for: id }, t(labelKey), el("input", { id, type, value: value ?? "", oninput: (e) => set(e.target.value) }));
  }

  textarea(id, labelKey, value, set) {
    const box = el("textarea", { id, rows: 3, oninput: (e) => set(e.target.value) });
    box.value = value || "";
    return el("label", { for: id }, t(labelKey), box);
  }

  templateSection() {
    const select = el(
      "select",
      { id: "plan-template" },
      el("option", { value: "", text: t("plan_no_template") }),
      this.templates.map((tp) => el("option", { value: tp.id, text: localized(tp.name) + (tp.status === "example" ? " · " + t("plan_template_example") : "") })),
    );
    const about = el("div", { id: "plan-template-about" });
    const showAbout = () => {
      const tp = this.templates.find((x) => x.id === select.value);
      about.replaceChildren(
        ...(tp
          ? [
              el("p", { text: localized(tp.description) }),
              el("p", { class: "muted", text: localized(tp.source_note) }),
              el("ul", { class: "muted sources" }, tp.sources.map((src) => el("li", { text: src }))),
            ]
          : []),
      );
    };
    select.addEventListener("change", showAbout);
    const use = el("button", { type: "button", id: "use-template", text: t("plan_use_template"), onclick: () => select.value && this.suggest(select.value) });
    const reasons = el("ul", { id: "plan-reasons" }, this.reasons.map((r) => el("li", {}, el("strong", { text: exerciseName(r.exercise) + ": " }), t("plan_level_" + r.level) + " — " + localized(r.reason))));
    return section("plan_template_title", el("div", { class: "toolbar" }, select, use), about, this.reasons.length ? reasons : null);
  }

  async suggest(templateId) {
    try {
      const body = await api("/api/residents/" + this.resident.id + "/plan-suggestion", { method: "POST", json: { template_id: templateId, start_date: this.doc.start_date } });
      this.doc = body.document;
      this.reasons = body.levels;
      state.planEditor.suggestion = body.levels;
      this.render();
      $("plan-template").value = templateId;
    } catch (err) {
      showError(err);
    }
  }

  sessionCard(s, i) {
    const days = el(
      "div",
      { class: "days" },
      DAYS.map((day) =>
        el(
          "label",
          { class: "day" },
          el("input", {
            type: "checkbox",
            id: `day-${i}-${day}`,
            checked: s.days.includes(day),
            onchange: (e) => {
              const on = new Set(s.days);
              if (e.target.checked) on.add(day);
              else on.delete(day);
              s.days = DAYS.filter((x) => on.has(x));
            },
          }),
          t("day_" + day),
        ),
      ),
    );
    const rows = s.exercises.map((ex, j) => this.exerciseRow(s, ex, i, j));
    const head = ["plan_col_exercise", "plan_col_sets", "plan_col_amount", "plan_col_rest", "plan_col_pace", "plan_col_target", "plan_col_progression", ""];
    return el(
      "section",
      { class: "card plan-session", "data-session": i },
      el(
        "div",
        { class: "form-grid" },
        this.input(`session-name-${i}`, "plan_field_session_name", localized(s.name), (v) => (s.name = withText(s.name, v))),
        this.input(`session-id-${i}`, "plan_field_session_id", s.id, (v) => (s.id = v.trim())),
      ),
      el("p", { class: "muted", text: t("plan_field_days") }),
      days,
      el("table", { class: "table plan-exercises" }, el("thead", {}, el("tr", {}, head.map((k) => el("th", { text: k ? t(k) : "" })))), el("tbody", {}, rows)),
      el(
        "p",
        {},
        el("button", { type: "button", class: "add-exercise", "data-session": i, text: t("plan_add_exercise"), onclick: () => this.changed(() => s.exercises.push(this.blankExercise())) }),
        " ",
        this.doc.sessions.length > 1 ? el("button", { type: "button", class: "danger remove-session", text: t("plan_remove_session"), onclick: () => this.changed(() => this.doc.sessions.splice(i, 1)) }) : null,
      ),
    );
  }

  blankExercise() {
    return { exercise: Object.keys(this.catalogue).includes("sit_to_stand") ? "sit_to_stand" : Object.keys(this.catalogue)[0], sets: 2, reps: 10, rest_s: 60 };
  }

  number(cls, value, set, { step = 1, min = 0 } = {}) {
    return el("input", { type: "number", class: cls, min, step, value: value ?? "", oninput: (e) => set(e.target.value === "" ? undefined : Number(e.target.value)) });
  }

  exerciseRow(s, ex, i, j) {
    const kind = this.catalogue[ex.exercise] || "reps";
    const amountField = KIND_FIELDS[kind][0];
    const ids = Object.keys(this.catalogue).sort((a, b) => exerciseName(a).localeCompare(exerciseName(b)));
    const select = el(
      "select",
      {
        class: "ex-exercise",
        onchange: (e) =>
          this.changed(() => {
            const newKind = this.catalogue[e.target.value] || "reps";
            ex.exercise = e.target.value;
            if (KIND_FIELDS[newKind][0] !== amountField) {
              delete ex[amountField];
              ex[KIND_FIELDS[newKind][0]] = newKind === "hold" ? 20 : 10;
              delete ex.progression;
            }
          }),
      },
      ids.map((id) => el("option", { value: id, text: exerciseName(id), selected: id === ex.exercise })),
    );
    const set = (key) => (v) => {
      if (v === undefined) delete ex[key];
      else ex[key] = v;
    };
    const p = ex.progression || null;
    const field = el(
      "select",
      {
        class: "ex-progression-field",
        onchange: (e) =>
          this.changed(() => {
            if (!e.target.value) delete ex.progression;
            else ex.progression = Object.assign({ step: e.target.value === "hold_s" ? 5 : 2, on_missed: "hold" }, ex.progression || {}, { field: e.target.value });
          }),
      },
      el("option", { value: "", text: t("plan_progression_none") }),
      KIND_FIELDS[kind].map((f) => el("option", { value: f, text: t("plan_progression_" + f), selected: p && p.field === f })),
    );
    const setP = (key) => (v) => {
      if (v === undefined || v === "") delete ex.progression[key];
      else ex.progression[key] = v;
    };
    const progression = el(
      "div",
      { class: "progression" },
      field,
      p
        ? [
            el("label", {}, t("plan_progression_step"), this.number("ex-step", p.step, setP("step"), { step: p.field === "hold_s" ? 0.5 : 1, min: 0 })),
            el("label", {}, t("plan_progression_min_score"), this.number("ex-min-score", p.min_mean_score, setP("min_mean_score"))),
            el("label", {}, t("plan_progression_maximum"), this.number("ex-maximum", p.maximum, setP("maximum"))),
            el(
              "label",
              {},
              t("plan_progression_on_missed"),
              el(
                "select",
                { class: "ex-on-missed", onchange: (e) => setP("on_missed")(e.target.value) },
                ["hold", "step_back"].map((o) => el("option", { value: o, text: t("plan_missed_" + o), selected: (p.on_missed || "hold") === o })),
              ),
            ),
          ]
        : null,
    );
    return el(
      "tr",
      { class: "plan-exercise", "data-exercise": ex.exercise },
      el("td", {}, select),
      el("td", {}, this.number("ex-sets", ex.sets, set("sets"), { min: 1 })),
      el("td", {}, this.number("ex-amount", ex[amountField], set(amountField), { min: 1, step: amountField === "hold_s" ? 0.5 : 1 }), " ", t(amountField === "hold_s" ? "plan_unit_seconds" : "plan_unit_reps")),
      el("td", {}, this.number("ex-rest", ex.rest_s, set("rest_s"))),
      el("td", {}, this.number("ex-pace", ex.pace_s, set("pace_s"), { step: 0.5 })),
      el("td", {}, this.number("ex-target", ex.target_score, set("target_score"))),
      el("td", {}, progression),
      el("td", {}, el("button", { type: "button", class: "remove-exercise", "aria-label": t("plan_remove_exercise"), text: "✕", onclick: () => this.changed(() => s.exercises.splice(j, 1)) })),
    );
  }

  async save(status) {
    status.textContent = t("plan_saving");
    try {
      const body = this.planId
        ? await api("/api/prescriptions/" + this.planId, { method: "PUT", json: { document: this.doc } })
        : await api("/api/residents/" + this.resident.id + "/prescriptions", { method: "POST", json: { document: this.doc } });
      state.planEditor.saved = body.id;
      location.hash = "#/plans/" + body.id;
    } catch (err) {
      state.planEditor.errors++;
      showError(err, status);
      if (err.message) status.append(el("br"), el("span", { class: "muted", id: "plan-save-detail", text: err.message }));
    }
  }
}
