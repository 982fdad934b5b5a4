// The kiosk page's resident sign-in: a resident types their member code on a large
// keypad; their sessions are then recorded to them and "My history" shows their own
// recent ones. Anonymous is the default; the code is kept in memory only and forgotten
// on "Sign out" or after ?idle_ms= (2 minutes) without a touch while no exercise runs.

import { $, buildKeypad, el, params } from "../shared/dom.js";
import { fmtDate, fmtScore, t, tOr } from "../shared/i18n.js";
import { api, errorCode } from "../shared/station.js";

const IDLE_SIGN_OUT_MS = Number(params.get("idle_ms")) || 120000;
const BUSY = ["exercising", "countdown", "placing", "finishing"]; // never signed out then

// The sign-in over the page's test hook `state` (resident, history, state). `page`:
// show(screen), screen() (the one shown), toPicker(), exerciseName(id).
export class Residents {
  constructor(state, page) {
    this.state = state;
    this.page = page;
    this.resident = null; // {member_code, display_name} while signed in
    this.idleTimer = null;
  }

  // The signed-in resident's member code (sent with an `open`), or null.
  get memberCode() {
    return this.resident ? this.resident.member_code : null;
  }

  bind() {
    $("signin-btn").addEventListener("click", () => this.openSignIn());
    $("signout-btn").addEventListener("click", () => this.signOut());
    $("history-btn").addEventListener("click", () => this.openHistory());
    $("history-back").addEventListener("click", this.page.toPicker);
    $("signin-cancel").addEventListener("click", this.page.toPicker);
    $("signin-form").addEventListener("submit", (e) => this.submit(e));
    for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, () => this.resetIdle(), { passive: true });
    buildKeypad($("keypad"), $("member-code"), { focus: true });
  }

  // The header's badge and buttons (not while exercising).
  render() {
    const on = !!this.resident;
    const idle = this.page.screen() !== "stage";
    $("resident-badge").hidden = !on;
    $("resident-badge").textContent = on ? t("signed_in_as", { name: this.resident.display_name }) : "";
    $("signin-btn").hidden = on || !this.state.signInAvailable || !idle;
    $("signout-btn").hidden = !on || !idle;
    $("history-btn").hidden = !on || !idle;
  }

  resetIdle() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.resident) return;
    this.idleTimer = setTimeout(() => {
      if (BUSY.includes(this.state.state)) return this.resetIdle();
      this.signOut();
    }, IDLE_SIGN_OUT_MS);
  }

  openSignIn() {
    this.state.state = "signin";
    $("member-code").value = "";
    $("signin-status").textContent = "";
    this.page.show("signin");
    $("member-code").focus();
  }

  // POST /api/kiosk/sign-in: the resident and their recent sessions.
  signIn(code) {
    return api("/api/kiosk/sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ member_code: code }),
    });
  }

  async submit(event) {
    event.preventDefault();
    const code = $("member-code").value.trim();
    if (!code) return;
    const status = $("signin-status");
    status.textContent = t("signing_in");
    let response;
    try {
      response = await this.signIn(code);
    } catch (e) {
      status.textContent = t("error_sign_in_failed");
      return;
    }
    if (!response.ok) {
      status.textContent = tOr("error_" + (await errorCode(response)), t("error_sign_in_failed"));
      return;
    }
    const body = await response.json();
    this.resident = { member_code: body.resident.member_code, display_name: body.resident.display_name };
    this.state.resident = this.resident.display_name;
    this.state.history = body.sessions;
    $("member-code").value = "";
    this.resetIdle();
    this.showHistory(body.sessions);
  }

  showHistory(sessions) {
    this.state.state = "history";
    $("history-title").textContent = t("history_title", { name: this.resident ? this.resident.display_name : "" });
    $("history-rows").replaceChildren(
      ...(sessions || []).map((s) =>
        el(
          "tr",
          {},
          [fmtDate(s.started_at, { time: true }), this.page.exerciseName(s.exercise_id), String(s.rep_count), fmtScore(s.mean_score)].map((text) => el("td", { text })),
        ),
      ),
    );
    $("history-empty").hidden = !!(sessions && sessions.length);
    this.page.show("history");
  }

  async openHistory() {
    if (!this.resident) return;
    this.resetIdle();
    try {
      const response = await this.signIn(this.resident.member_code);
      if (response.ok) this.state.history = (await response.json()).sessions;
    } catch (e) {
      // show what we have
    }
    this.showHistory(this.state.history);
  }

  signOut() {
    this.resident = null;
    this.state.resident = null;
    this.state.history = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    $("history-rows").textContent = "";
    if (["history", "signin"].includes(this.state.state)) {
      this.state.state = "picker";
      this.page.show("picker");
    }
    this.render();
  }
}
