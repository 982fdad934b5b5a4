// Today's plan at the kiosk: after a resident checks in (card or member code) the page
// asks for their exercise plan (POST /api/kiosk/plan), greets them and shows today's
// session at this week's doses, then runs it exercise by exercise: each set is an
// exercise session on the socket that ends by itself once the set's repetitions (or
// hold time) are reached, or early with "Finish"; the set is recorded under the plan
// from that session (POST /api/kiosk/plan/sets); rests count down with spoken
// transitions ("Rest 60 seconds", "Next: heel raise"); the end screen shows what was
// done against what was prescribed. A plan in elder mode runs in elder mode (large
// text, slower voice, fewer cues).

import STRINGS from "./strings.js";
import { $, el } from "../shared/dom.js";
import { addStrings, fmtDate, fmtScore, localized, t } from "../shared/i18n.js";
import { api, errorCode } from "../shared/station.js";

addStrings(STRINGS);

// The plan over the page's test hook `state` (state.plan). `page`: show(screen),
// exerciseName(id), exercise(id) (the picker's entry), startExercise(entry),
// finish(), speak(text, opts), setElder(on), memberCode(), toPicker(),
// openHistory().
export class Planner {
  constructor(state, page) {
    this.state = state;
    this.page = page;
    this.data = null; // the POST /api/kiosk/plan answer
    this.steps = [];
    this.index = -1;
    this.active = false; // a set of the plan runs or is about to
    this.timer = null;
    this.sets = []; // today's sets under the plan (as the server recorded them)
  }

  // Asks for the resident's plan; true when they have one.
  async load() {
    this.stop();
    this.data = null;
    try {
      const response = await api("/api/kiosk/plan", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ member_code: this.page.memberCode() }),
      });
      if (!response.ok) {
        this.state.plan = { state: "none", error: await errorCode(response) };
        return false;
      }
      this.data = await response.json();
    } catch (e) {
      this.state.plan = { state: "none", error: String(e) };
      return false;
    }
    this.sets = this.data.sets_today || [];
    this.state.plan = { state: "today", id: this.data.prescription && this.data.prescription.id, recorded: [], steps: 0 };
    return !!this.data.prescription;
  }

  // The session to run now: today's first not yet done, else the first make-up.
  session() {
    const today = (this.data && this.data.today) || { sessions: [], make_up: [] };
    return today.sessions.find((s) => !s.done_today) || today.make_up[0] || null;
  }

  amount(ex, n) {
    return ex.kind === "hold" ? t("plan_amount_hold", { n: n ?? ex.hold_s }) : t("plan_amount_reps", { n: n ?? ex.reps });
  }

  dose(ex) {
    const parts = [ex.kind === "hold" ? t("plan_dose_hold", { sets: ex.sets, hold: ex.hold_s }) : t("plan_dose_reps", { sets: ex.sets, reps: ex.reps })];
    if (ex.load_kg) parts.push(t("plan_load_kg", { kg: ex.load_kg }));
    if (ex.rest_s && ex.sets > 1) parts.push(t("plan_rest", { s: ex.rest_s }));
    if (ex.pace_s) parts.push(t("plan_pace", { s: ex.pace_s }));
    if (ex.target_score) parts.push(t("plan_target", { score: ex.target_score }));
    return parts.join(" · ");
  }

  // Fills the plan screen (also after a language change).
  render() {
    const data = this.data;
    if (!data) return;
    $("plan-greeting").textContent = t("plan_greeting", { name: data.resident.display_name });
    const plan = data.prescription;
    $("plan-title").textContent = plan ? localized(plan.title) : "";
    const today = data.today;
    const session = this.session();
    let line = "";
    if (!plan || !today) line = t("plan_none_at_all");
    else if (today.status === "ended") line = t("plan_ended");
    else if (today.status === "not_started") line = t("plan_not_started", { date: fmtDate(plan.start_date + "T00:00:00") });
    else if (session) line = t(today.sessions.includes(session) ? "plan_today" : "plan_make_up", { session: localized(session.name) });
    else if (today.sessions.length) line = t("plan_done_today");
    else line = today.next_session_on ? t("plan_none_today", { date: fmtDate(today.next_session_on + "T00:00:00") }) : t("plan_none_at_all");
    $("plan-day").textContent = line;
    $("plan-exercises").replaceChildren(
      ...(session ? session.exercises : []).map((ex) =>
        el(
          "li",
          { "data-exercise": ex.exercise },
          el("strong", { text: this.page.exerciseName(ex.exercise) }),
          " ",
          el("span", { class: "dose", text: this.dose(ex) }),
          ex.change_text ? el("span", { class: "change", text: localized(ex.change_text) }) : null,
          ex.notes && localized(ex.notes) ? el("span", { class: "note", text: localized(ex.notes) }) : null,
        ),
      ),
    );
    $("plan-cautions").replaceChildren(...(plan ? plan.contraindications : []).map((c) => el("li", { text: localized(c) })));
    $("plan-start").hidden = !session;
  }

  show() {
    this.render();
    this.state.plan.state = "today";
    this.state.state = "plan";
    this.page.show("plan");
  }

  // Runs the session of the day, set by set.
  start() {
    const session = this.session();
    if (!session) return;
    if (this.data.prescription.elder_mode) this.page.setElder(true);
    this.steps = [];
    for (const ex of session.exercises) {
      for (let n = 1; n <= ex.sets; n++) this.steps.push({ session: session.session_id, ex, n });
    }
    this.state.plan = Object.assign(this.state.plan, { state: "running", steps: this.steps.length, recorded: [] });
    this.active = true;
    this.run(0);
  }

  run(i) {
    this.index = i;
    const step = this.steps[i];
    const entry = this.page.exercise(step.ex.exercise);
    this.state.plan.step = i;
    this.state.plan.state = "running";
    const name = this.page.exerciseName(step.ex.exercise);
    this.page.speak(t("say_set", { name, n: step.n, total: step.ex.sets, amount: this.amount(step.ex) }), { interrupt: true });
    this.page.startExercise(entry, this.stepLine(step));
  }

  stepLine(step) {
    return t("plan_step", { n: step.n, total: step.ex.sets, amount: this.amount(step.ex) });
  }

  // The shown line of the running set (after a language change).
  currentLine() {
    return this.active && this.index >= 0 ? this.stepLine(this.steps[this.index]) : null;
  }

  // Engine events of the running set: it ends by itself at its repetitions or time.
  onRep(count) {
    const step = this.active && this.steps[this.index];
    if (step && step.ex.kind !== "hold" && count >= step.ex.reps) this.page.finish();
  }

  onHold(heldMs) {
    const step = this.active && this.steps[this.index];
    if (step && step.ex.kind === "hold" && heldMs >= step.ex.hold_s * 1000) this.page.finish();
  }

  // The set's session ended with `summary`: record it under the plan, then rest or end.
  async onSummary(summary) {
    const step = this.steps[this.index];
    try {
      const response = await api("/api/kiosk/plan/sets", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          member_code: this.page.memberCode(),
          prescription_id: this.data.prescription.id,
          session_id: step.session,
          exercise: step.ex.exercise,
          set_index: step.n,
          live_session_id: summary.session_id,
        }),
      });
      if (response.ok) {
        const body = await response.json();
        this.sets = body.sets_today;
        this.state.plan.recorded.push(body.set);
      } else {
        this.state.plan.errors = (this.state.plan.errors || []).concat([await errorCode(response)]);
        $("stage-status").textContent = t("plan_set_not_saved");
      }
    } catch (e) {
      this.state.plan.errors = (this.state.plan.errors || []).concat([String(e)]);
    }
    if (!this.active) return;
    if (this.index + 1 < this.steps.length) this.rest(step.ex.rest_s, this.index + 1);
    else this.done();
  }

  rest(seconds, next) {
    const step = this.steps[next];
    const name = this.page.exerciseName(step.ex.exercise);
    const sameExercise = step.n > 1;
    const nextLine = () => (sameExercise ? t("rest_next_set", { n: step.n, total: step.ex.sets, name }) : t("rest_next_exercise", { name }));
    this.state.plan.state = "rest";
    this.state.state = "rest";
    $("rest-next").textContent = nextLine();
    this.page.show("rest");
    this.restNextLine = nextLine;
    let left = Math.max(0, Math.round(seconds));
    this.page.speak(t("say_rest", { s: left }) + (sameExercise ? "" : " " + t("say_next", { name })), { interrupt: true });
    const tick = () => {
      $("rest-seconds").textContent = String(left);
      this.state.plan.restLeft = left;
      if (left <= 0) {
        this.timer = null;
        this.run(next);
        return;
      }
      if (left <= 3) this.page.speak(String(left));
      left--;
      this.timer = setTimeout(tick, 1000);
    };
    tick();
  }

  skipRest() {
    if (this.state.plan.state !== "rest") return;
    clearTimeout(this.timer);
    this.timer = null;
    this.run(this.index + 1);
  }

  // What was done today against what the session prescribes, per exercise.
  rows() {
    const session = this.steps.length ? this.steps[0].session : null;
    const exercises = [...new Map(this.steps.map((s) => [s.ex.exercise, s.ex])).values()];
    return exercises.map((ex) => {
      const sets = this.sets.filter((s) => s.session_id === session && s.exercise === ex.exercise);
      const hold = ex.kind === "hold";
      const scores = sets.map((s) => s.score).filter((x) => typeof x === "number");
      return {
        exercise: ex.exercise,
        setsDone: sets.length,
        sets: ex.sets,
        done: hold ? sets.reduce((a, s) => a + s.hold_s, 0) : sets.reduce((a, s) => a + s.reps, 0),
        prescribed: ex.sets * (hold ? ex.hold_s : ex.reps),
        hold,
        score: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
      };
    });
  }

  done() {
    this.active = false;
    const rows = this.rows();
    const done = rows.reduce((a, r) => a + Math.min(r.setsDone, r.sets), 0);
    const total = rows.reduce((a, r) => a + r.sets, 0);
    this.state.plan = Object.assign(this.state.plan, { state: "done", rows, done, total });
    this.state.state = "plandone";
    this.renderDone();
    this.page.show("plandone");
    this.page.speak(t("say_plan_done", { done, total }), { interrupt: true });
  }

  renderDone() {
    const plan = this.state.plan;
    if (!plan || plan.state !== "done") return;
    $("plan-done-line").textContent = t("plan_done_line", { done: plan.done, total: plan.total });
    $("plan-done-rows").replaceChildren(
      ...plan.rows.map((r) =>
        el(
          "tr",
          { "data-exercise": r.exercise },
          el("td", { text: this.page.exerciseName(r.exercise) }),
          el("td", { text: r.setsDone + " / " + r.sets }),
          el("td", { text: (r.hold ? Math.round(r.done) : r.done) + " / " + r.prescribed + (r.hold ? " " + t("seconds") : "") }),
          el("td", { text: fmtScore(r.score) }),
        ),
      ),
    );
  }

  // Stops a plan run (Back, Stop, sign-out); the sets recorded so far stay.
  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.active = false;
    if (this.state.plan && ["running", "rest"].includes(this.state.plan.state)) this.state.plan.state = "stopped";
  }

  bind() {
    $("plan-start").addEventListener("click", () => this.start());
    $("plan-later").addEventListener("click", () => this.page.toPicker());
    $("plan-history").addEventListener("click", () => this.page.openHistory());
    $("rest-skip").addEventListener("click", () => this.skipRest());
    $("rest-stop").addEventListener("click", () => {
      this.stop();
      this.page.toPicker();
    });
    $("plan-done-ok").addEventListener("click", () => this.page.toPicker());
  }

  // Redraws what a language change touches.
  renderAll() {
    if (this.state.state === "plan") this.render();
    if (this.state.state === "rest" && this.restNextLine) $("rest-next").textContent = this.restNextLine();
    this.renderDone();
    const line = this.currentLine();
    if (line) $("plan-step").textContent = line;
  }
}
