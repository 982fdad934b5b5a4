// MoveCoach group screen: one camera and a large display in front of a class.
// ES modules, no build step. Talks only the /ws/group protocol (docs/group.md): the
// server finds everyone, keeps their track ids and seat numbers, counts, scores,
// decides group cues and falls; this page shows it and sends staff actions.
//
// Frames: the camera (getUserMedia) or, without one, the server's demo video, scaled to
// the server's send_width, JPEG-encoded and sent with the 12-byte header
// (docs/protocol.md; shared/media.js, shared/station.js). Nothing is queued: while the
// socket is down frames are skipped. A screen the browser gives no camera (plain HTTP
// under a LAN name) says why on the start panel and what staff can do.
//
// Speech: only `group_cue_issued` messages are spoken (calm, slow, the session's
// language); nobody is singled out by voice.
//
// window.groupState is read by the browser tests (tests/kiosk/test_browser_group.py).

import { Alerts } from "./alerts.js";
import STRINGS from "./i18n.js";
import { HeldPicture, RateMeter } from "./held.js";
import { Overlay } from "./overlay.js";
import { ROUTINE_ID, RoutineView } from "./routine.js";
import { $, buildKeypad, el, params, showOnly } from "../shared/dom.js";
import { addStrings, fmtScore, known, localized, t, tOr, translate } from "../shared/i18n.js";
import { MIN_VISIBILITY } from "../shared/skeleton.js";
import { cameraSource, kioskToken, Link, loadCatalogue, renderCameraNotice, Station } from "../shared/station.js";

addStrings(STRINGS);

const MAX_SEND_FPS = Number(params.get("fps")) || 15;
const CAPTION_MS = 7000;
const WELCOME_MS = 5000;
const MAX_TILES = 8;
const SLOW_FPS = 5; // below this the rate is shown as a warning
const AWAY_AFTER_MS = 1500; // a missed detection or two is not "not in view"

const state = (window.groupState = {
  state: "loading", // loading | setup | live | closing | summary
  lang: "en",
  elder: true,
  muted: false,
  mode: "follow", // follow | same_exercise | routine
  exercise: null, // catalogue id (same_exercise)
  connected: false,
  reconnects: 0,
  source: null, // camera | demo
  cameraProblem: null, // null | "insecure_context" | "no_camera_api" (shared/media.js)
  cameraNotice: null, // the problem the start panel's notice explains, null when hidden
  cameraError: null,
  sessionId: null,
  options: null,
  framesSent: 0,
  posesReceived: 0,
  posesDrawn: 0,
  processedFps: null, // group_pose messages a second over the last 3 s (what the server manages)
  heldPictures: 0, // poses drawn over the very frame they were computed on
  drawnTs: null, // timestamp_ms of the frame under the skeletons (null: the live video)
  drawn: [], // last frame: [{track_id, role, number, color, box: [x0, y0, x1, y1]}] in canvas CSS px
  picture: null, // where the picture is on the page: {left, top, width, height, mirror, video_wh}
  instructorTrackId: null,
  tiles: [], // [{track_id, number, name, reps, in_step, last_score, in_view, fallen}]
  events: [],
  errors: [],
  sent: [], // client text messages sent (type + fields), newest last
  spoken: [],
  caption: null,
  alerts: [], // [{key, alert_id, track_id, number, name, cleared, acknowledged, ack_sent}]
  alertShown: null,
  summary: null,
  stats: null,
  kioskProblem: null,
});

let exercises = [];
let kiosk = { default_lang: "en", demo: { available: false } };
let wantSession = false; // staff started a class and did not end it
let options = { cue_interval_ms: 6000, speech_rate: 0.85, countdown_s: 0, send_width: 640 };
let captionTimer = null;
let lastCueMessage = null;
let checkinTrack = null; // track id the keypad dialog is for
let lastPeople = [];
const tiles = new Map(); // track id -> tile record
const welcome = new Map(); // track id -> timer (the "Welcome, name" line)

const video = $("video");
const overlay = new Overlay(state, video, $("display"));
const held = new HeldPicture($("held"));
const rate = new RateMeter();
const station = new Station(state, {
  render,
  statusIds: ["setup-status", "live-status"],
  // calm and slow: never faster than the server's pace, slower still for elders
  speech: { keep: 50, rate: () => Math.min(options.speech_rate || 1, state.elder ? 0.85 : 0.95) },
});
const speak = (text) => station.speak(text);
const link = new Link("/ws/group", state, {
  maxDelayMs: 10000,
  onMessage,
  onError,
  onOpen: () => {
    setStatus(null);
    sendOpen(); // a class that was running goes on in a new server session
  },
  onClose: ({ everOpened }) => {
    if (state.state === "closing") {
      state.state = "setup";
      show("setup");
    }
    if (!everOpened && kiosk.kiosk_auth && !kioskToken) state.kioskProblem = "kiosk_token_required";
    setStatus(state.kioskProblem || "connection_lost");
    // the server's session (its track ids) ended with the connection
    if (state.state === "live") resetLive();
  },
});
const send = (message) => link.send(message);
const alerts = new Alerts(state, { tile: (id) => tiles.get(id), send });
// mode "routine": the routine's tiles, room guide, controls and summary (routine.js)
const routine = new RoutineView(state, { speak, send, caption: (message) => showCaption(message) });
const isRoutine = () => state.mode === "routine";
const startSource = cameraSource(video, station, link, {
  demo: () => kiosk.demo,
  maxFps: MAX_SEND_FPS,
  sendWidth: () => options.send_width || 640,
  onSent: (ts, canvas) => held.keep(ts, canvas),
  chosen: () => {
    // A class expects a mirror (like a dance studio's); the demo is shown as recorded.
    overlay.mirror = state.source === "camera" && params.get("mirror") !== "0";
    held.mirror = overlay.mirror;
    video.classList.toggle("mirror", overlay.mirror);
  },
});

// ---------------------------------------------------------------- language, screens

function render() {
  document.title = t("app_title");
  translate();
  station.renderControls();
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  $("elder-check").checked = state.elder;
  renderExercises();
  renderModeName();
  routine.renderControls();
  for (const tile of tiles.values()) renderTile(tile);
  if (lastCueMessage && !$("caption").hidden) $("caption").textContent = localized(lastCueMessage);
  alerts.render();
  if (state.summary) renderSummary(state.summary);
  $("summary-measure").textContent = state.mode === "follow" ? t("summary_in_step") : isRoutine() ? t("summary_routine_score") : t("summary_score");
  state.cameraNotice = renderCameraNotice($("camera-notice"), kiosk.demo && kiosk.demo.available);
}

function setElder(on) {
  station.setElder(on);
  drawPeople(lastPeople); // the cue strip changed height: refit the picture
}

function setStatus(key, params) {
  const text = station.setStatus(key, params);
  $("conn").textContent = state.connected ? "" : text;
}

function show(screen) {
  showOnly(["setup", "live", "summary"], screen);
  $("stop-btn").hidden = screen !== "live";
}

function renderExercises() {
  $("exercise-grid").replaceChildren(
    ...exercises.map((ex) =>
      el(
        "button",
        {
          type: "button",
          class: "option exercise",
          role: "listitem",
          "data-exercise": ex.id,
          "aria-pressed": String(ex.id === state.exercise),
          onclick: () => {
            state.exercise = ex.id;
            renderExercises();
            setStatus(null);
          },
        },
        ex.picture ? el("img", { src: ex.picture, alt: "" }) : null,
        el("span", { class: "option-name", text: localized(ex.name) }),
      ),
    ),
  );
}

function setMode(mode) {
  state.mode = ["same_exercise", "routine"].includes(mode) ? mode : "follow";
  for (const b of document.querySelectorAll("[data-mode]")) b.setAttribute("aria-pressed", String(b.dataset.mode === state.mode));
  $("exercise-box").hidden = state.mode !== "same_exercise";
  if (state.mode === "same_exercise" && !state.exercise && exercises.length) state.exercise = exercises[0].id;
  renderExercises();
  renderModeName();
}

function renderModeName() {
  let text = state.mode === "follow" ? t("mode_follow") : t("mode_same");
  const ex = exercises.find((e) => e.id === state.exercise);
  if (state.mode === "same_exercise" && ex) text = localized(ex.name);
  if (isRoutine()) text = routine.title();
  $("mode-name").textContent = text;
  $("live").classList.toggle("follow", state.mode === "follow");
  $("live").classList.toggle("routine", isRoutine());
  $("view-hint").textContent = isRoutine() ? t("routine_hint") : t("tap_hint");
}

function drawPeople(people) {
  overlay.draw(people);
}

function setInstructor(trackId) {
  send({ type: "set_instructor", track_id: trackId });
}

// ---------------------------------------------------------------- tiles

function tileFor(trackId, number) {
  let tile = tiles.get(trackId);
  if (!tile) {
    tile = {
      track_id: trackId,
      number,
      name: null,
      reps: 0,
      in_step: null,
      last_score: null,
      in_view: true,
      seen_at: performance.now(),
      fallen: false,
      el: buildTile(trackId),
    };
    tiles.set(trackId, tile);
    placeTile(tile);
  }
  if (number != null && tile.number !== number) {
    tile.number = number;
    placeTile(tile);
  }
  return tile;
}

function buildTile(trackId) {
  const span = (cls, text) => el("span", { class: cls, text });
  const checkIn = (e) => {
    e.stopPropagation();
    const tile = tiles.get(trackId);
    if (!tile) return;
    if (tile.name) send({ type: "check_out", track_id: trackId });
    else openCheckin(trackId);
  };
  const lead = (e) => {
    e.stopPropagation();
    setInstructor(trackId);
  };
  return el(
    "li",
    { class: "tile", "data-track-id": String(trackId) },
    el(
      "div",
      { class: "tile-head" },
      span("seat"),
      span("who"),
      el(
        "span",
        { class: "tile-actions" },
        el("button", { type: "button", class: "checkin-btn", onclick: checkIn }),
        el("button", { type: "button", class: "instructor-btn", onclick: lead }),
      ),
    ),
    el(
      "div",
      { class: "tile-body" },
      span("stat-num reps", "0"),
      span("stat-label l-reps"),
      el("span", { class: "score-stat" }, span("stat-label l-score"), span("stat-num score", "–")),
      el("span", { class: "step-stat" }, span("stat-label l-step"), el("span", { class: "meter" }, span("meter-fill")), span("step-num")),
      ...routine.tileParts(),
      span("away-note"),
    ),
  );
}

const bySeat = (a, b) => (a.number ?? 99) - (b.number ?? 99);

function placeTile(tile) {
  const list = $("tiles");
  const sorted = [...tiles.values()].sort(bySeat);
  const next = sorted[sorted.indexOf(tile) + 1];
  if (tile.el.parentNode !== list || tile.el.nextSibling !== (next ? next.el : null)) list.insertBefore(tile.el, next ? next.el : null);
}

function removeTile(trackId) {
  const tile = tiles.get(trackId);
  if (!tile) return;
  tile.el.remove();
  tiles.delete(trackId);
  if (checkinTrack === trackId) closeCheckin();
  syncTileState();
}

function renderTile(tile) {
  const li = tile.el;
  const q = (cls) => li.querySelector("." + cls);
  li.style.setProperty("--person", overlay.colorOf(tile.track_id));
  li.classList.toggle("away", !tile.in_view);
  li.classList.toggle("fallen", !!tile.fallen);
  li.classList.toggle("named", !!tile.name);
  q("seat").textContent = tile.number != null ? String(tile.number) : "?";
  const greeting = welcome.has(tile.track_id) && tile.name ? t("checked_in_as", { name: tile.name }) : null;
  li.classList.toggle("welcome", !!greeting); // the greeting gets the whole line for a moment
  q("who").textContent = greeting || tile.name || t("seat", { n: tile.number ?? "?" });
  q("reps").textContent = String(tile.reps || 0);
  q("l-reps").textContent = t("reps");
  q("score").textContent = fmtScore(tile.last_score);
  q("l-score").textContent = t("score");
  const step = typeof tile.in_step === "number" ? Math.max(0, Math.min(100, tile.in_step)) : null;
  const fill = q("meter-fill");
  fill.style.width = (step ?? 0) + "%";
  fill.className = "meter-fill " + (step == null ? "" : step >= 70 ? "good" : step >= 40 ? "fair" : "low");
  q("l-step").textContent = t("in_step");
  q("step-num").textContent = step == null ? "–" : String(Math.round(step));
  // out of view: a gentle note where the live measure was
  q("score-stat").hidden = state.mode === "follow" || !tile.in_view;
  q("step-stat").hidden = state.mode !== "follow" || !tile.in_view;
  q("away-note").hidden = tile.in_view;
  q("reps").hidden = q("l-reps").hidden = isRoutine(); // a routine counts rounds per section
  routine.renderTile(tile, q, isRoutine());
  q("away-note").textContent = t("not_in_view");
  q("checkin-btn").textContent = tile.name ? t("check_out") : t("check_in");
  const lead = q("instructor-btn");
  lead.hidden = isRoutine(); // nobody leads a routine class
  lead.textContent = "★";
  lead.title = t("make_instructor_label");
  lead.setAttribute("aria-label", t("make_instructor_label"));
}

function syncTileState() {
  state.tiles = [...tiles.values()].sort(bySeat).map(({ el, ...rest }) => rest);
  $("waiting").hidden = tiles.size > 0 || lastPeople.length > 0;
  $("tiles-empty").hidden = tiles.size > 0;
  // tiles keep one size from 1 to 5 people, then share the column (up to 8)
  $("tiles").style.setProperty("--rows", String(Math.max(5, Math.min(MAX_TILES, tiles.size))));
}

const seen = (p) => (p.visibility || []).some((v) => v >= MIN_VISIBILITY);

function onPose(m) {
  state.posesReceived++;
  const people = Array.isArray(m.people) ? m.people : [];
  lastPeople = people;
  // The skeletons go over the frame they were computed on, not the live video.
  overlay.fitPicture();
  if (held.show(m.timestamp_ms)) {
    state.heldPictures++;
    state.drawnTs = m.timestamp_ms;
  } else state.drawnTs = null;
  drawPeople(people);
  const now = performance.now();
  rate.tick(now);
  renderRate(now);
  for (const p of people) {
    if (p.role === "instructor") state.instructorTrackId = p.track_id;
    if (p.role !== "participant" || p.number == null) {
      if (tiles.has(p.track_id)) removeTile(p.track_id); // now the instructor
      continue;
    }
    if (!tiles.has(p.track_id) && tiles.size >= MAX_TILES) continue;
    const tile = tileFor(p.track_id, p.number);
    tile.name = p.name || null;
    tile.reps = p.reps || 0;
    tile.in_step = p.in_step;
    tile.last_score = p.last_score;
    tile.fallen = !!p.fallen;
    tile.routine = p.routine || null;
    if (seen(p)) tile.seen_at = performance.now();
  }
  for (const tile of tiles.values()) tile.in_view = now - (tile.seen_at ?? -Infinity) < AWAY_AFTER_MS;
  for (const tile of tiles.values()) renderTile(tile);
  $("people-count").textContent = t("people_in_view", { n: people.filter(seen).length });
  syncTileState();
}

// How many frames a second the server manages, so staff know what the screen follows.
function renderRate(now) {
  const fps = rate.rate(now);
  state.processedFps = fps === null ? null : Math.round(fps * 10) / 10;
  const box = $("fps");
  box.textContent = fps === null ? "" : t("processing_fps", { n: fps < 10 ? fps.toFixed(1) : Math.round(fps) });
  box.classList.toggle("slow", fps !== null && fps < SLOW_FPS);
}

// ---------------------------------------------------------------- check-in

function openCheckin(trackId) {
  const tile = tiles.get(trackId);
  if (!tile) return;
  checkinTrack = trackId;
  $("checkin-title").textContent = t("checkin_title", { n: tile.number ?? "?" });
  $("member-code").value = "";
  $("checkin-status").textContent = "";
  $("checkin-status").className = "status";
  $("checkin").hidden = false;
  $("member-code").focus();
}

function closeCheckin() {
  checkinTrack = null;
  $("checkin").hidden = true;
}

function submitCheckin(event) {
  event.preventDefault();
  const code = $("member-code").value.trim();
  if (!code || checkinTrack == null) return;
  if (!send({ type: "check_in", track_id: checkinTrack, resident: code })) {
    $("checkin-status").textContent = t("connection_lost");
    return;
  }
  $("checkin-status").className = "status";
  $("checkin-status").textContent = t("checking_in");
}

function onCheckedIn(m) {
  const tile = tiles.get(m.track_id) || tileFor(m.track_id, m.number);
  tile.name = m.name;
  if (welcome.has(m.track_id)) clearTimeout(welcome.get(m.track_id));
  welcome.set(
    m.track_id,
    setTimeout(() => {
      welcome.delete(m.track_id);
      const later = tiles.get(m.track_id);
      if (later) renderTile(later);
    }, WELCOME_MS),
  );
  renderTile(tile);
  syncTileState();
  if (checkinTrack === m.track_id) closeCheckin();
}

// ---------------------------------------------------------------- cues

function showCaption(message) {
  lastCueMessage = message;
  const box = $("caption");
  box.textContent = localized(message);
  box.hidden = false;
  $("view-hint").hidden = true;
  state.caption = localized(message);
  if (captionTimer) clearTimeout(captionTimer);
  captionTimer = setTimeout(() => {
    box.hidden = true;
    $("view-hint").hidden = false;
    state.caption = null;
  }, CAPTION_MS);
}

// ---------------------------------------------------------------- summary

function renderSummary(m) {
  const people = [...(m.participants || [])].sort(bySeat);
  const follow = m.mode === "follow";
  const routineRows = m.mode === "routine" ? routine.renderSummary(m, people) : null;
  $("summary-measure").textContent = follow ? t("summary_in_step") : routineRows ? t("summary_routine_score") : t("summary_score");
  $("summary-count").textContent = routineRows ? t("rounds") : t("summary_reps");
  $("summary-mode").textContent = m.exercise && m.exercise.name ? localized(m.exercise.name) : follow ? t("mode_follow") : routineRows ? routine.title(false) : t("mode_same");
  $("summary-rows").replaceChildren(
    ...people.map((p, i) => {
      const measure = follow ? p.in_step_mean : routineRows ? routineRows[i].measure : p.session && p.session.mean_score;
      const tr = el(
        "tr",
        {},
        el("td", { class: "num seat-cell", text: String(p.number ?? "–") }),
        el("td", { class: "name", text: p.name || t("anonymous") }),
        el("td", { class: "num", text: String(p.reps ?? 0) }),
        el("td", { class: "num", text: fmtScore(measure) }),
      );
      if (routineRows) tr.children[1].append(routineRows[i].detail); // their sections
      tr.firstChild.style.setProperty("--person", overlay.colorOf(p.track_id));
      return tr;
    }),
  );
  $("summary-empty").hidden = people.length > 0;
}

function showSummary(m) {
  state.summary = m;
  state.stats = m.stats || state.stats;
  state.state = "summary";
  renderSummary(m);
  show("summary");
}

// ---------------------------------------------------------------- session

function resetLive() {
  for (const tile of tiles.values()) tile.el.remove();
  tiles.clear();
  overlay.colors.clear();
  lastPeople = [];
  state.drawn = [];
  state.tiles = [];
  $("tiles-empty").hidden = false;
  state.instructorTrackId = null;
  $("people-count").textContent = "";
  $("fps").textContent = "";
  held.clear();
  rate.times.length = 0;
  state.processedFps = null;
  state.drawnTs = null;
  $("caption").hidden = true;
  $("view-hint").hidden = false;
  drawPeople([]);
  syncTileState();
}

function openMessage() {
  const m = { type: "open", mode: state.mode, lang: state.lang, elder: state.elder, max_participants: MAX_TILES };
  if (state.mode === "same_exercise") m.exercise = state.exercise;
  if (isRoutine()) m.routine = ROUTINE_ID;
  if (video.videoWidth) m.resolution_wh = [video.videoWidth, video.videoHeight];
  return m;
}

async function start() {
  if (state.mode === "same_exercise" && !state.exercise) {
    setStatus("choose_exercise_first");
    return;
  }
  state.summary = null;
  state.state = "live";
  renderModeName();
  resetLive();
  show("live");
  if (!(await startSource())) return;
  drawPeople(lastPeople); // size the picture to the camera
  wantSession = true;
  sendOpen();
}

function sendOpen() {
  if (wantSession && !link.sessionOpen) send(openMessage());
}

function stop() {
  wantSession = false;
  closeCheckin();
  if (link.sessionOpen && send({ type: "close" })) {
    state.state = "closing";
    link.ended(); // no more frames
    return;
  }
  link.ended();
  state.state = "setup";
  show("setup");
}

// ---------------------------------------------------------------- server messages

function onMessage(m) {
  switch (m.type) {
    case "group_opened":
      link.opened();
      state.sessionId = m.session_id;
      state.options = m.options;
      if (m.options) options = m.options;
      overlay.bones = m.bones || [];
      state.mode = m.mode || state.mode;
      routine.opened(m.programme);
      renderModeName();
      break;
    case "group_pose":
      if (state.state === "live") onPose(m);
      break;
    case "checked_in":
      onCheckedIn(m);
      break;
    case "checked_out": {
      const tile = tiles.get(m.track_id);
      if (tile) {
        tile.name = null;
        renderTile(tile);
        syncTileState();
      }
      break;
    }
    case "alert_raised":
      alerts.raise(m);
      break;
    case "alert_acknowledged":
      alerts.acknowledged(m);
      break;
    case "group_summary":
      showSummary(m);
      break;
    default:
      onEvent(m);
  }
  if (m.type !== "group_pose") logEvent(m);
}

// Every message but the poses and the stats, the newest 300 (the tests read them).
function logEvent(m) {
  state.events.push(m);
  if (state.events.length > 300) state.events.shift();
}

function onEvent(m) {
  if (routine.onEvent(m)) {
    renderModeName(); // the room's section
    return;
  }
  switch (m.type) {
    case "participant_joined":
      if (m.role === "participant" && m.number != null && (tiles.has(m.track_id) || tiles.size < MAX_TILES)) {
        renderTile(tileFor(m.track_id, m.number));
        syncTileState();
      }
      break;
    case "participant_left":
      removeTile(m.track_id);
      break;
    case "instructor_changed":
      state.instructorTrackId = m.track_id;
      removeTile(m.track_id);
      break;
    case "group_cue_issued":
      showCaption(m.message);
      speak(localized(m.message));
      break;
    case "fall_detected":
      alerts.raise({ track_id: m.track_id });
      break;
    case "fall_cleared":
      alerts.cleared(m);
      break;
    default:
      break; // in_step_scored, follow_rep_counted, participant_event: the poses carry the numbers
  }
}

function onError(m) {
  logEvent(m);
  const key = "error_" + m.code;
  if (checkinTrack != null && ["unknown_resident", "too_many_attempts", "unknown_participant", "no_records", "bad_message"].includes(m.code)) {
    $("checkin-status").className = "status error";
    $("checkin-status").textContent = tOr(key, t("error_generic"));
    return;
  }
  if (m.fatal || ["busy", "unknown_exercise"].includes(m.code)) setStatus(known(key) ? key : "error_generic");
}

// ---------------------------------------------------------------- start-up

function bindControls() {
  station.bindControls();
  $("elder-btn").addEventListener("click", () => drawPeople(lastPeople)); // the cue strip changed height
  $("elder-check").addEventListener("change", (e) => setElder(e.target.checked));
  for (const b of document.querySelectorAll("[data-mode]")) b.addEventListener("click", () => setMode(b.dataset.mode));
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => station.setLang(b.dataset.lang));
  $("start-btn").addEventListener("click", start);
  $("stop-btn").addEventListener("click", stop);
  $("again-btn").addEventListener("click", () => {
    state.state = "setup";
    show("setup");
  });
  $("display").addEventListener("click", (event) => {
    const person = overlay.personAt(event);
    if (person && person.role !== "instructor" && !isRoutine()) setInstructor(person.track_id);
  });
  $("checkin-form").addEventListener("submit", submitCheckin);
  $("checkin-cancel").addEventListener("click", closeCheckin);
  alerts.bind();
  routine.bind();
  window.addEventListener("resize", () => drawPeople(lastPeople));
  video.addEventListener("loadedmetadata", () => drawPeople(lastPeople));
  video.addEventListener("resize", () => drawPeople(lastPeople)); // the camera changed size
  buildKeypad($("keypad"), $("member-code"));
}

function ready(catalogue) {
  kiosk = catalogue.kiosk;
  exercises = catalogue.exercises;
  station.setLang(params.get("lang") || kiosk.default_lang || "en");
  setMode(params.get("mode") || "follow");
  if (params.get("exercise")) state.exercise = params.get("exercise");
  renderExercises();
  state.state = "setup";
  show("setup");
  setStatus(null);
  link.connect();
}

bindControls();
station.setLang(params.get("lang") || "en");
setElder(params.get("elder") !== "0");
station.startUp(loadCatalogue, ready);
