// Paced breathing at the kiosk: the pace shown (a circle that grows over each
// in-breath and shrinks over each out-breath, the seconds left, "breathe in" /
// "breathe out") and spoken (the programme's cue at each turn), each breath the arms
// showed listed as it is seen, and at the end the person's rhythm against the
// prescribed one. The camera sees the arms, not the breath (docs/breathing.md).

import { $, el } from "../shared/dom.js";
import { localized, t } from "../shared/i18n.js";
import { ProgrammePanel } from "./panel.js";

const fmt1 = (x) => (typeof x === "number" && isFinite(x) ? x.toFixed(1) : "–");

export class Breathing extends ProgrammePanel {
  constructor(state, page, info) {
    super(page, info);
    this.timer = null;
    this.phaseEndsAt = null; // performance.now() when the current phase ends
    // the test hook's view (state.programme.view)
    this.state = { phase: null, cycle: 0, cues: [], measured: [] };
    this.render();
  }

  render() {
    const s = this.state;
    const sch = this.info.schedule || {};
    $("breath-phase").textContent = s.phase ? t(s.phase === "inhale" ? "breathe_in" : "breathe_out") : t("breath_get_ready");
    $("breath-cycle").textContent = s.cycle ? t("breath_cycle", { n: s.cycle, total: sch.cycles }) : t("breath_pace", { inhale: fmt1(sch.inhale_s), exhale: fmt1(sch.exhale_s) });
    $("breath-measured").replaceChildren(
      ...s.measured.map((b, i) => el("li", { text: t("breath_line", { n: i + 1, inhale: fmt1(b.inhale_s), exhale: fmt1(b.exhale_s) }) })),
    );
    this.tick();
  }

  // The seconds left in the phase, inside the circle.
  tick() {
    const left = this.phaseEndsAt === null ? null : Math.max(0, Math.ceil((this.phaseEndsAt - performance.now()) / 1000));
    $("breath-count").textContent = left === null ? "" : String(left);
  }

  handle(m) {
    const s = this.state;
    switch (m.type) {
      case "breathing_started":
        this.page.speak(localized(m.instructions), { interrupt: true });
        break;
      case "breath_cued": {
        s.phase = m.phase;
        s.cycle = m.cycle;
        s.cues.push([m.phase, m.cycle]);
        // the circle grows (in) or shrinks (out) over the phase's duration
        const ball = $("breath-ball");
        ball.style.transitionDuration = m.duration_ms + "ms";
        ball.classList.toggle("full", m.phase === "inhale");
        this.phaseEndsAt = performance.now() + m.duration_ms;
        if (!this.timer) this.timer = setInterval(() => this.tick(), 250);
        this.page.speak(localized(m.message), { interrupt: true });
        break;
      }
      case "breath_measured":
        s.measured.push(m.breath);
        break;
      case "breathing_guidance_changed":
        if (m.key !== "ok") this.page.speak(localized(m.message));
        $("guide").hidden = m.key === "ok";
        $("guide-text").textContent = localized(m.message);
        break;
      case "breathing_completed":
        this.finished = true;
        this.stop();
        this.page.speak(localized(m.message), { interrupt: true });
        break;
      default:
        return false;
    }
    return true;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.phaseEndsAt = null;
  }

  renderResult(result, body) {
    const r = result.rhythm;
    const lines = [];
    if (!r || !r.breaths.length) {
      lines.push(t("rhythm_none"));
    } else {
      const target = result.inhale_s + result.exhale_s;
      lines.push(t("rhythm_breaths", { n: r.breaths.length, total: result.cycles }));
      lines.push(t("rhythm_period", { actual: fmt1(r.period_s), target: fmt1(target) }));
      lines.push(t("rhythm_ratio", { actual: fmt1(r.ratio), target: fmt1(result.exhale_s / result.inhale_s) }));
      if (typeof r.regularity_cv === "number") lines.push(t("rhythm_even", { cv: Math.round(r.regularity_cv * 100) }));
    }
    const parts = [
      el("ul", { id: "rhythm-lines", class: "findings" }, ...lines.map((text) => el("li", { text }))),
      r ? el("p", { id: "rhythm-tip", class: "result-explanation", text: localized(r.message) }) : null,
      result.completed ? null : el("p", { class: "hint", text: t("programme_stopped") }),
      el("p", { class: "hint", text: t("rhythm_camera") }),
    ];
    body.append(...parts.filter(Boolean));
  }
}
