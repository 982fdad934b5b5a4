// A routine class on the group screen (mode "routine", e.g. an elders' Baduanjin):
// everyone follows the routine, nobody leads. The server follows each person through
// it (exercises/routine_group.py) and sends one guide for the room: each
// `section_started` (the room's, never a person's own) is captioned and spoken once,
// calmly. Each tile shows the section that person is doing and its rounds against the
// standard's (`group_pose` people's `routine`); the summary lists every participant's
// sections: rounds and score. Staff can pause, resume and move everyone to the next
// section (`control` messages).
//
// state.routine is read by the browser tests (tests/kiosk/test_browser_group_routine.py).

import { $, el, params } from "../shared/dom.js";
import { fmtScore, localized, t } from "../shared/i18n.js";

// the routine the start panel offers (?routine=<id>: another routine programme)
export const ROUTINE_ID = params.get("routine") || "baduanjin";

export class RoutineView {
  constructor(state, page) {
    this.page = page; // {speak, caption, send}
    this.info = null; // group_opened.programme
    this.state = state.routine = { id: ROUTINE_ID, room: null, index: -1, spoken: [], paused: false };
  }

  opened(programme) {
    this.info = programme || null;
    Object.assign(this.state, { room: null, index: -1, spoken: [], paused: false });
    this.renderControls();
  }

  section(id) {
    return ((this.info && this.info.sections) || []).find((s) => s.id === id) || null;
  }

  // the header of the tiles: the routine and the section the room is on
  title(withRoom = true) {
    const name = this.info ? localized(this.info.name) : t("mode_routine");
    const room = withRoom ? this.section(this.state.room) : null;
    return room ? name + " · " + localized(room.name) : name;
  }

  // extra elements of a tile (hidden outside the routine mode)
  tileParts() {
    return [
      el(
        "span",
        { class: "routine-stat" },
        el("span", { class: "section-name" }),
        el("span", { class: "stat-num rounds", text: "0" }),
        el("span", { class: "stat-label l-rounds" }),
      ),
    ];
  }

  renderTile(tile, q, on) {
    q("routine-stat").hidden = !on || !tile.in_view;
    if (!on) return;
    const place = tile.routine;
    const s = place ? this.section(place.section_id) : null;
    q("section-name").textContent = s ? localized(s.name) : "";
    q("rounds").textContent = place ? `${place.rounds}/${place.target_rounds}` : "–";
    q("l-rounds").textContent = t("rounds");
  }

  renderControls() {
    const on = !!this.info;
    $("routine-controls").hidden = !on;
    $("routine-pause-btn").textContent = this.state.paused ? t("resume") : t("pause");
    $("routine-skip-btn").textContent = t("next_section");
  }

  bind() {
    $("routine-pause-btn").addEventListener("click", () => this.page.send({ type: "control", action: this.state.paused ? "resume" : "pause" }));
    $("routine-skip-btn").addEventListener("click", () => this.page.send({ type: "control", action: "skip" }));
  }

  // a server event; true when it was the routine's
  onEvent(m) {
    if (m.type === "section_started") {
      // the room's guide: once for everyone, calm (the page's elder pace)
      this.state.room = m.section_id;
      this.state.index = m.index;
      this.state.spoken.push(m.section_id);
      this.page.caption(m.say);
      this.page.speak(localized(m.say));
      this.renderControls();
      return true;
    }
    if (m.type === "participant_event" && (m.event_type === "RoutinePaused" || m.event_type === "RoutineResumed")) {
      this.state.paused = m.event_type === "RoutinePaused";
      this.renderControls();
      return true;
    }
    return false;
  }

  // group_summary: a row per participant (rounds, whole score), then their sections:
  // those they did or skipped and those the room got to (a whole Baduanjin stopped
  // early does not list the sections nobody reached)
  renderSummary(m, rows) {
    return rows.map((p) => {
      const result = p.session || {};
      const sections = (result.sections || []).filter((s) => s.rounds > 0 || s.status === "skipped" || s.index <= this.state.index);
      const detail = el(
        "ul",
        { class: "summary-sections" },
        ...sections.map((s) =>
          el(
            "li",
            { "data-section": s.section_id, class: "status-" + s.status },
            el("span", { class: "name", text: localized(s.name) }),
            el("span", { class: "rounds", text: s.rounds ? t("rounds_of", { n: s.rounds, target: s.target_rounds }) : t(s.status === "skipped" ? "section_skipped" : "section_not_done") }),
            el("span", { class: "section-score", text: fmtScore(s.score) }),
          ),
        ),
      );
      return { measure: result.score, detail };
    });
  }
}
