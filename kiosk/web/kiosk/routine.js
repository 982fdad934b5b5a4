// A whole routine at the kiosk (the Baduanjin): the section being done in large type,
// its round against the standard's, the list of sections, pause / resume and "next
// section"; each section's spoken transition, the rest between sections and the
// tempo. The server follows the person from the pose (exercises/routine_session.py);
// the result screen lists every section's rounds, score and the one thing to work on.

import { $, el } from "../shared/dom.js";
import { fmtScore, localized, t } from "../shared/i18n.js";
import { ProgrammePanel } from "./panel.js";

export class Routine extends ProgrammePanel {
  constructor(state, page, info) {
    super(page, info);
    // the test hook's view of the routine (state.programme.view)
    this.state = { section: null, index: -1, rounds: 0, target: 0, sectionsStarted: [], paused: false, resting: false, tempo: null };
    this.render();
  }

  section(id) {
    return this.info.sections.find((s) => s.id === id);
  }

  render() {
    const s = this.state.section ? this.section(this.state.section) : null;
    $("routine-section").textContent = s ? localized(s.name) : localized(this.info.name);
    $("routine-round").textContent = s ? t("routine_round", { n: this.state.rounds, target: this.state.target }) : "";
    $("routine-pace").textContent = s ? t("routine_pace", { s: Math.round(s.pace_s) }) : "";
    $("routine-status").textContent = this.paused ? t("routine_paused") : this.state.resting ? t("routine_rest", { name: localized(this.nextName) }) : this.state.tempo ? localized(this.state.tempo) : "";
    $("pause-btn").textContent = this.paused ? t("resume") : t("pause");
    $("routine-list").replaceChildren(
      ...this.info.sections.map((sec, i) =>
        el("li", { class: i === this.state.index ? "current" : i < this.state.index ? "past" : "", "data-section": sec.id, text: localized(sec.name) }),
      ),
    );
  }

  handle(m) {
    switch (m.type) {
      case "section_started":
        this.state.section = m.section_id;
        this.state.index = m.index;
        this.state.rounds = 0;
        this.state.target = m.target_rounds;
        this.state.resting = false;
        this.state.tempo = null;
        this.state.sectionsStarted.push(m.section_id);
        this.page.speak(localized(m.say), { interrupt: true });
        break;
      case "round_completed":
        if (m.section_id === this.state.section) this.state.rounds = m.round;
        this.page.speak(t("say_rep", { n: m.round }));
        break;
      case "rest_started":
        this.state.resting = true;
        this.nextName = (this.section(m.next_section_id) || {}).name;
        this.page.speak(localized(m.say));
        break;
      case "tempo_changed":
        this.state.tempo = m.message;
        this.page.speak(localized(m.message));
        break;
      case "routine_paused":
        this.paused = this.state.paused = true;
        break;
      case "routine_resumed":
        this.paused = this.state.paused = false;
        break;
      case "routine_completed":
        this.finished = true;
        this.page.speak(localized(this.info.name) + " · " + t("routine_whole_score") + " " + fmtScore(m.score), { interrupt: true });
        break;
      case "section_completed":
      case "section_skipped":
        break;
      default:
        return false; // cue_issued ("the other side now") is the page's
    }
    return true;
  }

  renderResult(result, body) {
    const rows = (result.sections || []).map((s) =>
      el(
        "tr",
        { "data-section": s.section_id, class: "status-" + s.status },
        el("td", { text: localized(s.name) }),
        el("td", { text: s.rounds ? t("rounds_of", { n: s.rounds, target: s.target_rounds }) : t("section_status_" + s.status) }),
        el("td", { class: "section-score", text: fmtScore(s.score) }),
        el("td", { text: s.improvement ? localized(s.improvement) : s.rounds ? t("nothing_to_improve") : "" }),
      ),
    );
    const parts = [
      el("p", { class: "result-value" }, el("span", { id: "routine-score", class: "big", text: fmtScore(result.score) }), " ", el("span", { class: "label", text: t("routine_whole_score") })),
      result.completed ? null : el("p", { class: "hint", text: t("programme_stopped") }),
      el(
        "table",
        { id: "section-scores", class: "result-table" },
        el("thead", {}, el("tr", {}, ...["col_section", "col_rounds", "col_score", "col_improve"].map((k) => el("th", { text: t(k) })))),
        el("tbody", {}, ...rows),
      ),
    ];
    body.append(...parts.filter(Boolean));
  }
}
