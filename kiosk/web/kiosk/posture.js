// The spine posture screen at the kiosk: the step (front, then back) shown and spoken,
// the server's guidance over the picture until the person stands right, a progress
// ring filling over the steady second of each view, and the result: each finding in
// plain words with its level, the advice, and what a camera cannot see. A screen, not
// a diagnosis (docs/posture.md).

import { $, el } from "../shared/dom.js";
import { localized, t } from "../shared/i18n.js";
import { ProgrammePanel } from "./panel.js";

const RING = 2 * Math.PI * 42; // the ring's circumference (r = 42 in a 100 x 100 box)

export class Posture extends ProgrammePanel {
  constructor(state, page, info) {
    super(page, info);
    this.guidance = null;
    // the test hook's view (state.programme.view)
    this.state = { step: null, guidance: null, steadyMs: 0, targetMs: 1000, captured: [], level: null };
    this.render();
  }

  render() {
    const s = this.state;
    const frac = s.targetMs > 0 ? Math.min(1, s.steadyMs / s.targetMs) : 0;
    const fill = $("posture-ring-fill");
    fill.setAttribute("stroke-dasharray", RING.toFixed(1));
    fill.setAttribute("stroke-dashoffset", (RING * (1 - frac)).toFixed(1));
    $("posture-ring-text").textContent = s.step ? t("posture_view_" + s.step) : "";
    $("posture-hold").textContent = s.step && s.step !== "done" ? t("posture_hold", { percent: Math.round(frac * 100) }) : "";
    $("posture-views").replaceChildren(...s.captured.map((v) => el("li", { text: t("posture_captured", { view: t("posture_view_" + v) }) })));
    $("posture-instruction").textContent = this.instruction ? localized(this.instruction) : localized(this.info.instructions);
    const guide = $("guide");
    guide.hidden = !this.guidance || s.guidance === "ok" || this.finished;
    if (!guide.hidden) $("guide-text").textContent = localized(this.guidance);
  }

  handle(m) {
    const s = this.state;
    switch (m.type) {
      case "posture_step_changed":
        s.step = m.step;
        s.steadyMs = 0;
        this.instruction = m.message;
        this.page.speak(localized(m.message), { interrupt: true });
        break;
      case "posture_guidance_changed":
        s.guidance = m.key;
        this.guidance = m.message;
        this.page.speak(localized(m.message));
        break;
      case "posture_hold_progressed":
        s.steadyMs = m.steady_ms;
        s.targetMs = m.target_ms;
        break;
      case "posture_view_captured":
        s.captured.push(m.measurement.view);
        s.steadyMs = s.targetMs;
        break;
      case "posture_screen_completed":
        s.level = m.assessment.level;
        this.finished = true;
        break;
      default:
        return false;
    }
    return true;
  }

  stop() {
    $("guide").hidden = true;
  }

  renderResult(result, body) {
    const a = result.assessment;
    const parts = a
      ? [
          el("p", { id: "posture-level", class: "result-band level-" + a.level, text: t("level_" + a.level) }),
          result.completed ? null : el("p", { class: "hint", text: t("posture_front_only") }),
          el("ul", { id: "posture-findings", class: "findings" }, ...a.findings.map((f) => el("li", { class: "level-" + f.level, "data-figure": f.figure, text: localized(f.message) }))),
          el("p", { id: "posture-advice", class: "result-explanation", text: localized(a.advice) }),
        ]
      : [el("p", { class: "result-explanation", text: t("posture_nothing") })];
    parts.push(
      el("p", { class: "hint", text: t("posture_not_diagnosis") }),
      el("h3", { text: t("posture_limits_title") }),
      el("p", { id: "posture-limits", class: "limits", text: localized(a ? a.limits : this.info.limits) }),
    );
    body.append(...parts.filter(Boolean));
  }
}
