// The centre's programmes at the kiosk (the picker's "Programmes" row): a whole
// routine (kiosk/routine.js), the posture screen (kiosk/posture.js) and paced breathing
// (kiosk/breathing.js). The server runs each as a session on the same /ws socket
// (`open` with `programme`, docs/protocol.md) and sends its events; this module picks
// the kind's view for the stage panel, sends `control` messages (a routine's pause,
// resume, skip), and shows the result screen from the `summary` the server sends when
// the session closes (when the programme ends, or "Finish" ends it early).
//
// The test hook `state.programme`: {id, kind, info, view: the kind's own state,
// result: the summary shown}.

import { $, el } from "../shared/dom.js";
import { addStrings, localized, t } from "../shared/i18n.js";
import { Breathing } from "./breathing.js";
import { Posture } from "./posture.js";
import STRINGS from "./programme_strings.js";
import { Routine } from "./routine.js";

addStrings(STRINGS);

const KINDS = { routine: Routine, posture: Posture, breathing: Breathing };

// The programmes over the page's test hook `state`. `page`: show(screen), speak(text,
// opts), open(message) (camera, then `open`), close() (send `close`), control(action)
// (send `control`), reset() (the stage as for any session), toPicker().
export class Programmes {
  constructor(state, page) {
    this.state = state;
    this.page = page;
    this.list = []; // ProgrammeInfo entries (GET /api/programmes)
    this.view = null; // the running kind's view
    this.picked = null; // the ProgrammeInfo being run or shown
  }

  async load() {
    try {
      const response = await fetch("/api/programmes");
      this.list = response.ok ? await response.json() : [];
    } catch (e) {
      this.list = [];
    }
    this.renderPicker();
  }

  bind() {
    $("pause-btn").addEventListener("click", () => this.page.control(this.view && this.view.paused ? "resume" : "pause"));
    $("skip-btn").addEventListener("click", () => this.page.control("skip"));
    $("programme-again").addEventListener("click", () => this.picked && this.start(this.picked.id));
    $("programme-other").addEventListener("click", this.page.toPicker);
  }

  get running() {
    return this.state.mode === "programme";
  }

  render() {
    this.renderPicker();
    if (this.view) this.view.render();
    const shown = this.state.programme;
    if (shown && shown.result && this.picked && this.state.state === "result") this.showResult(shown.result);
  }

  renderPicker() {
    $("programme-section").hidden = !this.list.length;
    $("programme-grid").replaceChildren(
      ...this.list.map((p) =>
        el(
          "button",
          { type: "button", class: "card", role: "listitem", "data-programme": p.id, onclick: () => this.start(p.id) },
          el("img", { src: p.picture, alt: "" }),
          el("span", { class: "card-name", text: localized(p.name) }),
          el("span", { class: "card-view", text: t("kind_" + p.kind) }),
        ),
      ),
    );
  }

  // Opens programme `id` on the stage.
  async start(id) {
    const info = this.list.find((p) => p.id === id);
    if (!info) return;
    this.picked = info;
    this.page.reset();
    this.state.mode = "programme";
    this.state.programme = { id, kind: info.kind, info, view: null, result: null };
    this.view = new KINDS[info.kind](this.state, this.page, info);
    this.state.programme.view = this.view.state;
    $("stage").classList.add("programme");
    for (const kind of Object.keys(KINDS)) $(kind + "-live").hidden = kind !== info.kind;
    $("programme-live").hidden = false;
    $("exercise-name").textContent = localized(info.name);
    $("guide").hidden = true; // each kind guides in its own way
    this.page.show("stage");
    this.state.state = "exercising";
    await this.page.open({ programme: id });
  }

  // Leaving the stage: the picker's exercises take it back.
  stop() {
    if (this.view) this.view.stop();
    this.view = null;
    this.picked = null;
    this.state.programme = null;
    $("stage").classList.remove("programme");
    $("programme-live").hidden = true;
  }

  // The `opened` message's programme (at the session's pace).
  opened(info) {
    if (!this.view) return;
    this.picked = info;
    this.state.programme.info = info;
    this.view.opened(info);
  }

  // An engine event; true when the kind took it.
  onEvent(m) {
    if (!this.running || !this.view) return false;
    const taken = this.view.onEvent(m);
    if (this.view.finished) this.page.close(); // the server then sends the summary
    return taken;
  }

  // The `summary` message after `close`: the result screen.
  summary(message) {
    if (!this.running || this.state.state === "picker") return;
    const result = message.summary || {};
    this.state.programme.result = result;
    this.showResult(result);
  }

  showResult(result) {
    this.state.state = "result";
    $("programme-result-name").textContent = localized(this.picked.name);
    const body = $("programme-result-body");
    body.replaceChildren();
    const view = this.view || new KINDS[this.picked.kind](this.state, this.page, this.picked);
    $("programme-result-title").textContent = t(this.picked.kind + "_result_title");
    view.renderResult(result, body);
    this.page.show("programme-result");
  }
}
