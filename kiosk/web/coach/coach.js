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
// #/templates, #/templates/new, #/alerts, and for exercise plans (plans.js,
// plan_editor.js) #/residents/ID/plans/new, #/plans/ID, #/plans/ID/edit, #/adherence. Text from the API (names, notes, cues) is
// always set as textContent. window.coachState is read by the browser tests.

import { pollAlerts, renderAlertBanner, renderAlerts, startAlerts, stopAlerts } from "./alerts.js";
import { renderAuthoring } from "./authoring.js";
import { api, loadNames, loadTemplateNames, state } from "./common.js";
import STRINGS from "./i18n.js";
import { renderLogin } from "./login.js";
import { renderPlanEditor } from "./plan_editor.js";
import { renderCentreAdherence, renderPlan } from "./plans.js";
import { renderResident } from "./resident.js";
import { renderResidents } from "./residents.js";
import { renderSession } from "./session.js";
import { renderTemplates } from "./templates.js";
import { $, params } from "../shared/dom.js";
import { addStrings, setLang, t } from "../shared/i18n.js";

addStrings(STRINGS);

const NAV = { "nav-residents": "nav_residents", "nav-adherence": "nav_adherence", "nav-templates": "nav_templates", "nav-alerts": "nav_alerts" };
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

// Routes run one after another in the order they were asked for (a language switch and
// a click on the nav can overlap: an earlier view finishing late must not draw over the
// later one), and `state.ready` says the view of the latest one is drawn.
let routeQueue = Promise.resolve();
let routesAsked = 0;
function route() {
  const asked = ++routesAsked;
  state.ready = false;
  const run = routeQueue.then(showRoute);
  routeQueue = run.catch(() => {}); // the next view still shows after one that failed
  run.then(
    () => {
      if (asked === routesAsked) state.ready = true;
    },
    () => {}, // reported once, through `run`
  );
  return run; // a failure still reaches the caller and the page's error handler
}

// Shows the view the hash names (#/residents by default), signing in first.
async function showRoute() {
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
  else if ((m = hash.match(/^#\/residents\/(\d+)\/plans\/new$/))) await renderPlanEditor({ residentId: m[1] });
  else if ((m = hash.match(/^#\/plans\/(\d+)\/edit$/))) await renderPlanEditor({ planId: m[1] });
  else if ((m = hash.match(/^#\/plans\/(\d+)$/))) await renderPlan(m[1]);
  else if (hash === "#/adherence") await renderCentreAdherence();
  else if ((m = hash.match(/^#\/sessions\/(\d+)$/))) await renderSession(m[1]);
  else if (hash === "#/templates") await renderTemplates();
  else if (hash === "#/templates/new") await renderAuthoring();
  else if (hash === "#/alerts") await renderAlerts();
  else await renderResidents();
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
  window.addEventListener("hashchange", () => route());
  route();
}

window.coach = { route, pollAlerts };
init();
