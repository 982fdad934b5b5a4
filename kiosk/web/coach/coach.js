// MoveCoach coach pages: the shell around the views. Sign in (login.js), residents
// (residents.js), a resident's progress, assessments and sessions (resident.js), a
// session's skeleton replay with its rep/cue timeline and angle curves against the
// template's band (session.js), templates and authoring one from a demonstration
// (templates.js, authoring.js), and fall alerts from the group screens: a red banner
// above every view while signed in, and a list (alerts.js). ES modules, no build step;
// talks only the JSON API under /api (server/api/). The sign-in is an HttpOnly cookie
// the page never sees.
//
// Views are hash routes: #/login, #/residents, #/residents/ID, #/sessions/ID,
// #/templates, #/templates/new, #/alerts. Text from the API (names, notes, cues) is
// always set as textContent. window.coachState is read by the browser tests.

import { pollAlerts, renderAlertBanner, renderAlerts, startAlerts, stopAlerts } from "./alerts.js";
import { renderAuthoring } from "./authoring.js";
import { api, loadNames, loadTemplateNames, state } from "./common.js";
import STRINGS from "./i18n.js";
import { renderLogin } from "./login.js";
import { renderResident } from "./resident.js";
import { renderResidents } from "./residents.js";
import { renderSession } from "./session.js";
import { renderTemplates } from "./templates.js";
import { $, params } from "../shared/dom.js";
import { addStrings, setLang, t } from "../shared/i18n.js";

addStrings(STRINGS);

const NAV = { "nav-residents": "nav_residents", "nav-templates": "nav_templates", "nav-alerts": "nav_alerts" };
let templateNamesLoaded = false;

function renderChrome() {
  $("title").textContent = t("coach_title");
  $("lang-btn").textContent = t("lang_switch");
  $("logout-btn").textContent = t("sign_out");
  for (const [id, key] of Object.entries(NAV)) $(id).textContent = t(key);
  $("whoami").textContent = state.me ? t("signed_in_as", { name: state.me.display_name, role: t("role_" + state.me.role) }) : "";
  for (const id of ["logout-btn", "whoami", ...Object.keys(NAV)]) $(id).hidden = !state.me;
  renderAlertBanner(); // and the window's title
}

function signedIn() {
  templateNamesLoaded = false;
  renderChrome();
}

// Shows the view the hash names (#/residents by default), signing in first.
async function route() {
  const hash = location.hash || "#/residents";
  if (!state.me && hash !== "#/login") {
    try {
      state.me = await api("/api/auth/me");
    } catch (err) {
      location.hash = "#/login";
      return;
    }
    renderChrome();
  }
  if (state.me) {
    startAlerts();
    if (!templateNamesLoaded) templateNamesLoaded = await loadTemplateNames();
  }
  let m;
  if (hash === "#/login") renderLogin(signedIn);
  else if ((m = hash.match(/^#\/residents\/(\d+)$/))) await renderResident(m[1]);
  else if ((m = hash.match(/^#\/sessions\/(\d+)$/))) await renderSession(m[1]);
  else if (hash === "#/templates") await renderTemplates();
  else if (hash === "#/templates/new") await renderAuthoring();
  else if (hash === "#/alerts") await renderAlerts();
  else await renderResidents();
  state.ready = true;
}

async function signOut() {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch (e) {
    // signed out anyway
  }
  state.me = null;
  stopAlerts();
  renderChrome();
  location.hash = "#/login";
}

async function init() {
  state.lang = setLang(params.get("lang") === "zh-CN" ? "zh-CN" : "en");
  renderChrome();
  await loadNames();
  $("lang-btn").addEventListener("click", () => {
    state.lang = setLang(state.lang === "en" ? "zh-CN" : "en");
    renderChrome();
    route();
  });
  $("logout-btn").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => {
    state.ready = false;
    route();
  });
  route();
}

window.coach = { route, pollAlerts };
init();
