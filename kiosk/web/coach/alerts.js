// Fall alerts from the group screens on the coach pages: while signed in the page polls
// GET /api/alerts and shows every open alert in a red banner above every view until
// someone acknowledges it; #/alerts lists the recent ones.

import { $, el, params } from "../shared/dom.js";
import { fmtTime, t } from "../shared/i18n.js";
import { api, ApiError, dateTime, section, setView, showError, state, table, viewData } from "./common.js";

// Polled every few seconds while signed in; ?alert_poll_ms= overrides (tests).
const ALERT_POLL_MS = Math.max(500, Number(params.get("alert_poll_ms")) || 3000);
const acknowledgedIds = new Set(); // a poll already in flight must not bring them back
let alertTimer = null;
let alertTicker = null;
let alertPolling = false;

export function startAlerts() {
  if (alertTimer) return;
  alertTimer = setInterval(pollAlerts, ALERT_POLL_MS);
  alertTicker = setInterval(renderAlertAges, 1000);
  pollAlerts();
}

export function stopAlerts() {
  clearInterval(alertTimer);
  clearInterval(alertTicker);
  alertTimer = alertTicker = null;
  state.alerts.open = [];
  state.alerts.failed = false;
  renderAlertBanner();
}

export async function pollAlerts() {
  if (!state.me || alertPolling) return;
  alertPolling = true;
  try {
    const body = await api("/api/alerts");
    // Ages are counted on the server's clock: the office PC's may be off.
    state.alerts.offsetMs = Date.parse(body.now) - Date.now();
    const before = state.alerts.open.map((a) => a.id + (a.cleared_at ? "c" : "")).join();
    state.alerts.open = body.alerts.filter((a) => !acknowledgedIds.has(a.id));
    state.alerts.failed = false;
    const after = state.alerts.open.map((a) => a.id + (a.cleared_at ? "c" : "")).join();
    if (after !== before && state.page === "alerts" && state.ready) renderAlerts(); // the list too
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      stopAlerts();
      return;
    }
    state.alerts.failed = true; // keep showing what we had, and say it may be stale
  } finally {
    alertPolling = false;
    state.alerts.polls += 1;
  }
  renderAlertBanner();
}

function fmtAge(iso) {
  const ms = Math.max(0, Date.now() + state.alerts.offsetMs - Date.parse(iso));
  const s = Math.floor(ms / 1000);
  if (s < 60) return t("alert_age_seconds", { s });
  const m = Math.floor(s / 60);
  if (m < 60) return t("alert_age_minutes", { m });
  return t("alert_age_hours", { h: Math.floor(m / 60), m: m % 60 });
}

function alertKind(a) {
  return a.kind === "fall" ? t("alert_fall") : t("alert_other");
}

function alertWho(a) {
  return a.resident ? a.resident.display_name + " (" + a.resident.member_code + ")" : t("alert_not_checked_in");
}

function alertWhere(a) {
  const kiosk = a.kiosk ? a.kiosk.name : t("alert_unknown_kiosk");
  const seat = a.seat_number !== null ? t("alert_seat", { n: a.seat_number }) : t("alert_no_seat");
  return [kiosk, seat, alertWho(a)].join(" · ");
}

function alertRow(a) {
  const button = el("button", { type: "button", class: "alert-ack", "data-alert-id": a.id });
  const row = el(
    "div",
    { class: "alert-row", "data-alert-id": a.id },
    el("div", { class: "alert-icon", "aria-hidden": "true", text: "⚠" }),
    el(
      "div",
      { class: "alert-text" },
      el("strong", { class: "alert-title" }),
      el("span", { class: "alert-where" }),
      el("span", { class: "alert-when" }),
      el("span", { class: "alert-cleared", hidden: true }),
      el("span", { class: "alert-status", role: "status" }),
    ),
    button,
  );
  button.addEventListener("click", () => acknowledgeAlert(a.id, row));
  return row;
}

function fillAlertRow(row, a) {
  const q = (cls) => row.querySelector("." + cls);
  q("alert-title").textContent = alertKind(a);
  q("alert-where").textContent = alertWhere(a);
  q("alert-when").textContent = t("alert_raised", { age: fmtAge(a.raised_at), time: fmtTime(a.raised_at) });
  q("alert-cleared").textContent = t("alert_cleared");
  q("alert-cleared").hidden = !a.cleared_at;
  const button = q("alert-ack");
  if (!button.disabled) button.textContent = t("alert_acknowledge");
}

// The window's title counts the open alerts (seen on a coach's other tabs).
function setDocumentTitle() {
  const open = state.alerts.open.length;
  document.title = (open ? "⚠ (" + open + ") " : "") + t("coach_title");
}

// Rows are kept and updated in place between polls, so the button under the
// coach's finger is never swapped out mid-click.
export function renderAlertBanner() {
  const banner = $("alert-banner");
  if (!banner) return;
  const open = state.alerts.open;
  const keep = new Set(open.map((a) => String(a.id)));
  for (const row of banner.querySelectorAll(".alert-row")) if (!keep.has(row.dataset.alertId)) row.remove();
  const failed = $("alert-poll-failed");
  for (const a of open) {
    let row = banner.querySelector('.alert-row[data-alert-id="' + a.id + '"]');
    if (!row) row = alertRow(a);
    fillAlertRow(row, a);
    banner.insertBefore(row, failed); // newest first, in the order the server sent
  }
  failed.textContent = t("alert_poll_failed");
  failed.hidden = !state.alerts.failed;
  banner.classList.toggle("has-alerts", open.length > 0);
  banner.hidden = !open.length && !state.alerts.failed;
  setDocumentTitle();
}

function renderAlertAges() {
  for (const a of state.alerts.open) {
    const row = document.querySelector('.alert-row[data-alert-id="' + a.id + '"]');
    if (row) row.querySelector(".alert-when").textContent = t("alert_raised", { age: fmtAge(a.raised_at), time: fmtTime(a.raised_at) });
  }
}

async function acknowledgeAlert(id, row) {
  const button = row.querySelector(".alert-ack");
  const status = row.querySelector(".alert-status");
  button.disabled = true;
  button.textContent = t("alert_acknowledging");
  status.textContent = "";
  try {
    const body = await api("/api/alerts/" + id + "/acknowledge", { method: "POST" });
    state.alerts.acknowledged.push(body.alert);
  } catch (err) {
    button.disabled = false;
    button.textContent = t("alert_acknowledge");
    if (!(err instanceof ApiError && err.status === 404)) {
      showError(err, status);
      return;
    }
    // 404: gone (or never this centre's): nothing left to acknowledge here.
  }
  acknowledgedIds.add(id);
  state.alerts.open = state.alerts.open.filter((a) => a.id !== id);
  renderAlertBanner();
  if (state.page === "alerts") renderAlerts();
}

function alertStatus(a) {
  if (!a.acknowledged_at) return a.cleared_at ? t("alert_status_open_cleared") : t("alert_status_open");
  let who = t("alert_by_unknown");
  if (a.acknowledged_by) who = a.acknowledged_by.display_name;
  else if (a.acknowledged_by_kiosk) who = t("alert_by_kiosk", { name: a.acknowledged_by_kiosk.name });
  return t("alert_status_acknowledged", { who, time: dateTime(a.acknowledged_at) });
}

export async function renderAlerts() {
  state.page = "alerts";
  const body = await viewData("/api/alerts?open=false&limit=100");
  if (!body) return;
  const rows = body.alerts.map((a) =>
    el(
      "tr",
      { class: a.acknowledged_at ? "alert-closed" : "alert-open", "data-alert-id": a.id },
      el("td", { text: dateTime(a.raised_at) }),
      el("td", { text: alertKind(a) }),
      el("td", { text: a.kiosk ? a.kiosk.name : t("alert_unknown_kiosk") }),
      el("td", { text: a.seat_number !== null ? String(a.seat_number) : "–" }),
      el("td", {}, a.resident ? el("a", { href: "#/residents/" + a.resident.id, text: alertWho(a) }) : t("alert_not_checked_in")),
      el("td", { class: "alert-status-cell", text: alertStatus(a) }),
    ),
  );
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, text: t("alerts_none") })));
  setView(
    section(
      "alerts_title",
      el("p", { class: "muted", text: t("alerts_explain") }),
      table("alerts-table", ["alert_col_raised", "alert_col_kind", "alert_col_kiosk", "alert_col_seat", "alert_col_resident", "alert_col_status"], rows),
    ),
  );
  state.alertsListed = body.alerts.length;
}
