// MoveCoach kiosk page: pick an exercise, get placed in frame, exercise with live
// feedback, see a summary. ES modules, no build step. Talks only the /ws protocol
// (docs/protocol.md): the engine on the server decides reps, scores, cues and placement.
//
// Frames come from the camera (getUserMedia) or, without one, from the server's demo
// video played in the same <video> element; either way they are scaled, JPEG-encoded
// and sent with their capture time, so the demo goes through exactly the camera path
// (shared/media.js, shared/station.js). A page the browser gives no camera (plain HTTP
// under a LAN name) says why on the picker and what staff can do.
//
// Kiosk token: when the server authenticates kiosks, the set-up page (/setup) stores
// this kiosk's token in localStorage; the page sends it on the websocket (as a
// "movecoach.token.<token>" subprotocol, never in the URL) and
// on /api/kiosk/* requests (Authorization: Bearer).
//
// Residents may sign in with their member code (kiosk/residents.js) or by showing
// their member card's QR code to the camera (kiosk/checkin.js); a resident with an
// exercise plan is greeted with today's session, which the page runs set by set
// (kiosk/plan.js). Fitness
// assessments (the picker's second row): the server runs the protocol and sends its
// phases, countdown, counts and result as events; the page speaks their `say` texts,
// shows the count (per arm for the curl, seconds for the stance) and the result
// screen. `?assessment_timing=fast` shortens the phases before the measured time
// (demonstrations, the browser tests); the test's own 30 s / 2 min never change.
//
// The centre's programmes (the picker's "Programmes" row: a whole routine, the posture
// screen, paced breathing) run through kiosk/programmes.js on the same socket.
//
// window.kioskState is read by the browser tests.

import STRINGS from "./i18n.js";
import { CheckIn } from "./kiosk/checkin.js";
import { Planner } from "./kiosk/plan.js";
import { Programmes } from "./kiosk/programmes.js";
import { Residents } from "./kiosk/residents.js";
import { $, el, params, showOnly } from "./shared/dom.js";
import { addStrings, fmtScore, localized, t, tOr, translate } from "./shared/i18n.js";
import { clearOverlay, containRect, fillJoints, landmarkAt, strokeBones } from "./shared/skeleton.js";
import { api, cameraSource, errorCode, kioskToken, Link, loadCatalogue, renderCameraNotice, Station } from "./shared/station.js";

addStrings(STRINGS);

const MAX_SEND_FPS = Number(params.get("fps")) || 30;
const SCAN_FPS = 6;
const FAST_TIMING = { instructions_ms: 1500, ready_hold_ms: 300, countdown_ms: 3000 };
const SCREENS = ["picker", "signin", "history", "plan", "rest", "plandone", "stage", "summary", "result", "programme-result"];

const state = (window.kioskState = {
  state: "loading", // loading | picker | placing | countdown | exercising | finishing | summary | assessing | result | signin | history | plan | rest | plandone
  lang: "en",
  elder: false,
  muted: false,
  connected: false,
  source: null, // "camera" | "demo"
  cameraProblem: null, // null | "insecure_context" | "no_camera_api" (shared/media.js)
  cameraNotice: null, // the problem the picker's notice explains, null when hidden
  cameraError: null,
  inference: "ok", // /health's inference: "ok" | "degraded" (the picker's notice)
  exercise: null,
  sessionId: null,
  framesSent: 0,
  posesReceived: 0,
  posesDrawn: 0,
  reps: 0,
  scores: [],
  phase: null,
  placement: null,
  lastEvent: null,
  events: [],
  errors: [],
  sent: [],
  spoken: [],
  speechErrors: 0,
  stats: null,
  summary: null,
  options: null,
  kioskToken: !!kioskToken,
  kioskProblem: null, // null | "kiosk_token_required" | "bad_kiosk_token"
  signInAvailable: false,
  resident: null, // display name of the signed-in resident
  history: null,
  mode: "exercise", // "exercise" | "assessment" | "programme"
  programme: null, // the programme being run or shown (kiosk/programmes.js)
  assessment: null, // the `opened` message's assessment info
  assessPhase: null,
  counts: {}, // side ("left"/"right") or "total" -> count
  clock: null,
  result: null,
  scanning: false, // looking for a member card (sign-in screen)
  checkInRefusals: [], // problems the server named for codes that checked nobody in
  plan: null, // kiosk/plan.js: {state, id, steps, step, recorded, rows, done, total}
});

let kiosk = { default_lang: "en", default_elder: false, demo: { available: false }, assessments: [] }; // GET /api/kiosk
let exercises = [];
let options = { cue_interval_ms: 4000, speech_rate: 1.0, countdown_s: 3, send_width: 640 };
let countdownDone = false;
let countdownTimer = null;
let lastPlacementMessage = null;
let lastCue = null;
let lastCueSpokenAt = -Infinity;
let lastPlacementSpokenAt = -Infinity;
let pendingOpen = null;
let pickedAssessment = null; // the test id while an assessment runs or is shown
let timerStart = null; // {started_at_ms, limit_ms} of the running assessment
let currentScreen = "picker";

const video = $("video");
const overlay = $("display");
const station = new Station(state, {
  render,
  statusIds: ["picker-status", "stage-status"],
  speech: { keep: 100, rate: () => options.speech_rate },
});
const setStatus = (key, params) => station.setStatus(key, params);
const speak = (text, opts) => station.speak(text, opts);
const residents = new Residents(state, {
  show,
  screen: () => currentScreen,
  toPicker: backToPicker,
  exerciseName,
  signedIn,
});
const planner = new Planner(state, {
  show,
  exerciseName,
  exercise: (id) => exercises.find((e) => e.id === id),
  startExercise,
  finish,
  speak,
  setElder: (on) => station.setElder(on),
  memberCode: () => residents.memberCode,
  toPicker: backToPicker,
  openHistory: () => residents.openHistory(),
});
const programmes = new Programmes(state, {
  show,
  speak,
  open: openSession,
  close: closeSession,
  control: (action) => link.sessionOpen && link.send({ type: "control", action }),
  reset: () => {
    pickedAssessment = null;
    state.exercise = null;
    resetSessionView();
  },
  toPicker: backToPicker,
});
const link = new Link("/ws", state, {
  maxDelayMs: 8000,
  onMessage,
  onError,
  onConnecting: () => {
    if (!state.connected) setStatus(state.kioskProblem || (state.state === "loading" ? "connecting" : "connection_lost"));
  },
  onOpen: () => {
    setStatus(null);
    sendOpen();
  },
  onClose: ({ everOpened, hadSession }) => {
    setStatus(state.kioskProblem || "connection_lost");
    if (!everOpened && !state.kioskProblem) checkKiosk(); // refused: a token problem?
    if (hadSession || state.state === "finishing") backToPicker(); // the server's session ended with the connection
  },
});
const checkIn = new CheckIn(state, link, {
  startSource: () => startSource(),
  video,
  speak: (text) => speak(text, { interrupt: true }),
  checkedIn: (resident) => {
    residents.setResident(resident);
    speak(t("say_welcome", { name: resident.display_name }), { interrupt: true });
    signedIn(null);
  },
});
const startSource = cameraSource(video, station, link, {
  demo: () => kiosk.demo,
  // The server reads a member card a few times a second: no more frames meanwhile.
  maxFps: () => (link.scanning ? SCAN_FPS : MAX_SEND_FPS),
  sendWidth: () => options.send_width,
  chosen: () => {
    // A mirror is what people expect of a camera; the demo is shown as recorded.
    $("stage").classList.toggle("mirror", state.source === "camera" && params.get("mirror") !== "0");
    $("source-badge").hidden = false;
    render();
  },
});

// ---------------------------------------------------------------- language, screens

function render() {
  document.title = t("app_title");
  translate();
  station.renderControls();
  renderPicker();
  renderAssessments();
  programmes.render();
  residents.render();
  if (state.exercise) $("exercise-name").textContent = localized(state.exercise.name);
  if (lastPlacementMessage) $("guide-text").textContent = lastPlacementMessage();
  if (lastCue) $("cue").textContent = localized(lastCue);
  renderScores($("rep-scores"));
  planner.renderAll();
  checkIn.render();
  $("source-badge").textContent = state.source === "demo" ? t("using_demo") : t("using_camera");
  state.cameraNotice = renderCameraNotice($("camera-notice"), kiosk.demo && kiosk.demo.available);
}

function show(screen) {
  if (screen !== "signin" && state.scanning) checkIn.stop();
  currentScreen = screen;
  showOnly(SCREENS, screen);
  residents.render();
  if (screen === "signin" && !state.scanning) checkIn.start();
}

// A resident signed in (keypad: their recent `sessions`; card: null): today's plan
// when they have one, else their history.
async function signedIn(sessions) {
  if (await planner.load()) planner.show();
  else if (sessions) residents.showHistory(sessions);
  else residents.openHistory();
}

function viewLabel(view) {
  return tOr("view_" + String(view || "any").toLowerCase(), t("view_any"));
}

function card(data, picture, name, ...more) {
  return el("button", Object.assign({ type: "button", class: "card", role: "listitem" }, data), el("img", { src: picture, alt: "" }), el("span", { class: "card-name", text: name }), ...more);
}

function renderPicker() {
  $("exercise-grid").replaceChildren(
    ...exercises.map((ex) =>
      card({ "data-exercise": ex.id, onclick: () => startExercise(ex) }, ex.picture, localized(ex.name), el("span", { class: "card-view", text: viewLabel(ex.view) })),
    ),
  );
}

function renderAssessments() {
  $("assessment-grid").replaceChildren(
    ...(kiosk.assessments || []).map((id) => card({ "data-assessment": id, onclick: () => startAssessment(id) }, "/static/pictures/exercise.svg", t("assess_" + id))),
  );
}

function renderScores(list) {
  list.replaceChildren(...state.scores.map((score, i) => el("li", { text: t("rep_line", { n: i + 1, score: fmtScore(score) }) })));
  list.scrollTop = list.scrollHeight;
}

// Records that are not templates (a group class stores `group_follow`) are named in
// i18n.js as exercise_<id>; anything else unknown shows its id.
function exerciseName(id) {
  const ex = exercises.find((e) => e.id === id);
  return ex ? localized(ex.name) : tOr("exercise_" + id, id);
}

// ---------------------------------------------------------------- overlay

// The <video> is shown with object-fit: contain; the overlay covers the same box and
// is mirrored with it (the "mirror" class), so landmarks are placed as sent.
function drawPose(pose) {
  const g = clearOverlay(overlay);
  if (!pose || !pose.present) return;
  const r = containRect(overlay, video);
  const at = (j) => landmarkAt(pose, j, r, false);
  const thick = state.elder ? 7 : 5;
  g.lineCap = "round";
  g.lineWidth = thick;
  g.strokeStyle = "rgba(64, 224, 160, 0.9)";
  const bones = strokeBones(g, pose.bones, at);
  g.fillStyle = "#ffffff";
  fillJoints(g, pose.xy.map((_, j) => at(j)).filter(Boolean), thick * 0.8);
  if (bones > 0) state.posesDrawn++;
}

// ---------------------------------------------------------------- placement, countdown

function setPlacement(placement, message) {
  state.placement = placement;
  if (placement === "OK") {
    $("guide").hidden = true;
    lastPlacementMessage = null;
    if (!countdownDone && !countdownTimer) startCountdown();
    return;
  }
  lastPlacementMessage = () => localized(message) || tOr("placement_" + placement, t("step_into_frame"));
  $("guide-text").textContent = lastPlacementMessage();
  $("guide").hidden = false;
  const now = performance.now();
  if (now - lastPlacementSpokenAt >= options.cue_interval_ms) {
    lastPlacementSpokenAt = now;
    speak(lastPlacementMessage());
  }
}

function startCountdown() {
  let n = options.countdown_s;
  if (n <= 0) {
    countdownDone = true;
    state.state = "exercising";
    return;
  }
  state.state = "countdown";
  const box = $("countdown");
  const num = $("countdown-num");
  box.hidden = false;
  const tick = () => {
    if (n > 0) {
      num.textContent = String(n);
      speak(String(n), { interrupt: true });
      n--;
      countdownTimer = setTimeout(tick, 1000);
    } else {
      num.textContent = t("go");
      speak(t("say_go"), { interrupt: true });
      countdownTimer = setTimeout(() => {
        box.hidden = true;
        countdownTimer = null;
        countdownDone = true;
        if (state.state === "countdown") state.state = "exercising";
      }, 700);
    }
  };
  tick();
}

function stopCountdown() {
  if (countdownTimer) clearTimeout(countdownTimer);
  countdownTimer = null;
  $("countdown").hidden = true;
}

// ---------------------------------------------------------------- sessions

function resetSessionView() {
  state.mode = pickedAssessment ? "assessment" : "exercise";
  $("stage").classList.toggle("assessment", state.mode === "assessment");
  $("assess-live").hidden = state.mode !== "assessment";
  $("finish-btn").textContent = state.mode === "assessment" ? t("assess_stop") : t("finish");
  state.assessment = null;
  state.assessPhase = null;
  state.counts = {};
  state.clock = null;
  state.result = null;
  timerStart = null;
  $("assess-counts").textContent = "";
  $("assess-clock").textContent = "–";
  $("assess-target").textContent = "";
  state.reps = 0;
  state.scores = [];
  state.phase = null;
  state.placement = null;
  state.summary = null;
  state.stats = null;
  countdownDone = false;
  stopCountdown();
  lastCue = null;
  lastPlacementMessage = null;
  $("rep-count").textContent = "0";
  $("last-score").textContent = "–";
  $("cue").textContent = "";
  $("hold").hidden = true;
  renderScores($("rep-scores"));
  $("guide-text").textContent = t("step_into_frame");
  $("guide").hidden = false;
  drawPose(null);
}

// Opens the camera (or demo), then asks the server for `message`'s session.
async function openSession(message) {
  if (!(await startSource())) return;
  pendingOpen = Object.assign({ type: "open", lang: state.lang, elder: state.elder }, message);
  if (residents.memberCode) pendingOpen.resident = residents.memberCode;
  if (video.videoWidth) pendingOpen.resolution_wh = [video.videoWidth, video.videoHeight];
  sendOpen();
}

// `planLine`: the set of today's plan this session is (kiosk/plan.js), else none.
async function startExercise(ex, planLine = null) {
  pickedAssessment = null;
  if (!planLine) planner.stop();
  programmes.stop();
  state.exercise = ex;
  $("exercise-name").textContent = localized(ex.name);
  resetSessionView();
  $("plan-step").hidden = !planLine;
  $("plan-step").textContent = planLine || "";
  show("stage");
  state.state = "placing";
  await openSession({ exercise: ex.id });
}

async function startAssessment(id) {
  pickedAssessment = id;
  programmes.stop();
  state.exercise = null;
  $("exercise-name").textContent = t("assess_" + id);
  resetSessionView();
  $("guide").hidden = true; // the protocol says how to get into position
  show("stage");
  state.state = "assessing";
  const message = { assessment: id };
  const age = parseInt($("assess-age").value, 10);
  if (age > 0) message.age_years = age;
  if ($("assess-sex").value) message.sex = $("assess-sex").value;
  if (params.get("assessment_timing") === "fast") message.timing = FAST_TIMING;
  await openSession(message);
}

function sendOpen() {
  if (pendingOpen && link.send(pendingOpen)) pendingOpen = null;
}

function closeSession() {
  if (!link.sessionOpen) return;
  link.ended();
  link.send({ type: "close" });
}

function finish() {
  if (!link.sessionOpen) return;
  state.state = "finishing";
  stopCountdown();
  closeSession();
}

function backToPicker() {
  planner.stop();
  pickedAssessment = null;
  programmes.stop();
  state.mode = "exercise";
  closeSession();
  stopCountdown();
  state.state = "picker";
  state.exercise = null;
  show("picker");
}

function showSummary(message) {
  state.summary = message;
  if (programmes.running) return programmes.summary(message);
  if (pickedAssessment) {
    // an assessment ends on its result screen; stopped before the start: no result
    if (state.state === "finishing") {
      backToPicker();
      setStatus("assess_cancelled");
    }
    return;
  }
  if (state.state !== "finishing") return; // "Back" was pressed: no summary screen
  if (planner.active) return planner.onSummary(message); // the plan goes on
  state.state = "summary";
  const s = message.summary || {};
  let reps = typeof s.reps === "number" ? s.reps : Array.isArray(s.reps) ? s.reps.length : state.reps;
  if (typeof s.rep_count === "number") reps = s.rep_count;
  const scores = state.scores.filter((x) => typeof x === "number" && isFinite(x));
  const mean = typeof s.mean_score === "number" ? s.mean_score : scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
  $("summary-exercise").textContent = state.exercise ? localized(state.exercise.name) : "";
  $("summary-reps").textContent = String(reps);
  $("summary-score").textContent = fmtScore(mean);
  renderScores($("summary-scores"));
  show("summary");
  speak(state.holdDone && !reps ? t("say_hold_done") : t("say_done", { n: reps }), { interrupt: true });
}

// ---------------------------------------------------------------- assessments

function unitLabel() {
  return state.assessment ? localized(state.assessment.unit_label) : "";
}

function renderCounts() {
  const sides = state.assessment && state.assessment.sides.length ? state.assessment.sides : ["total"];
  $("assess-counts").replaceChildren(
    ...sides.map((side) =>
      el(
        "div",
        { class: "counter" },
        el("span", { class: "label", text: side === "total" ? t("assess_count") : t("assess_" + side) }),
        el("span", { class: "big", id: "assess-count-" + side, text: String(state.counts[side] || 0) }),
      ),
    ),
  );
}

function onAssessmentOpened(info) {
  state.assessment = info;
  const openEnded = info.duration_ms === null;
  $("assess-clock-label").textContent = openEnded ? t("assess_time_held") : t("assess_time_left");
  $("assess-clock").textContent = openEnded ? "0" : t("assess_seconds", { n: Math.round(info.duration_ms / 1000) });
  const lines = [];
  if (info.id === "step_test_2min") lines.push(t("assess_step_target"));
  if (info.normal_range) {
    lines.push(t("assess_normal_range", { lo: Math.round(info.normal_range[0]), hi: Math.round(info.normal_range[1]), unit: unitLabel() }));
  }
  $("assess-target").textContent = lines.join(" · ");
  // the stance counts seconds, shown by the clock; the others count repetitions
  $("assess-counts").hidden = openEnded;
  renderCounts();
  lastCue = info.start_position;
  $("cue").textContent = localized(info.start_position);
}

function tickClock(ts) {
  if (!timerStart || state.assessPhase !== "running") return;
  const elapsed = Math.max(0, ts - timerStart.started_at_ms);
  const fixed = state.assessment && state.assessment.duration_ms !== null;
  const seconds = fixed ? Math.max(0, Math.ceil((timerStart.limit_ms - elapsed) / 1000)) : Math.floor(elapsed / 1000);
  state.clock = seconds;
  $("assess-clock").textContent = fixed ? t("assess_seconds", { n: seconds }) : String(seconds);
}

function showResult(result) {
  state.result = result;
  state.state = "result";
  stopCountdown();
  $("result-name").textContent = t("assess_" + result.test_id);
  const seconds = result.unit === "s";
  $("result-value").textContent = seconds ? result.value.toFixed(1) : String(Math.round(result.value));
  $("result-unit").textContent = unitLabel();
  const sides = result.per_side || {};
  $("result-sides").textContent =
    "left" in sides && "right" in sides && state.assessment && state.assessment.sides.length ? t("assess_per_side", { left: sides.left, right: sides.right }) : "";
  $("result-percentile").textContent = typeof result.percentile === "number" ? t("assess_percentile", { p: Math.round(result.percentile) }) : t("assess_no_percentile");
  const band = $("result-band");
  band.className = "result-band " + (result.band || "");
  band.textContent = result.band ? t("band_" + result.band) : "";
  $("result-explanation").textContent = localized(result.explanation);
  $("result-flags").textContent = (result.flags || []).includes("stopped_early") ? t("assess_stopped_early") : "";
  show("result");
}

function onAssessmentEvent(m) {
  switch (m.type) {
    case "assessment_phase_changed":
      state.assessPhase = m.phase;
      if (m.phase === "running") {
        $("countdown-num").textContent = t("go");
        countdownTimer = setTimeout(stopCountdown, 700);
        lastCue = null;
        $("cue").textContent = "";
      }
      speak(localized(m.say), { interrupt: true });
      return true;
    case "assessment_countdown_ticked":
      $("countdown").hidden = false;
      $("countdown-num").textContent = String(m.seconds_left);
      speak(localized(m.say), { interrupt: true });
      return true;
    case "assessment_timer_started":
      timerStart = { started_at_ms: m.started_at_ms, limit_ms: m.limit_ms };
      return true;
    case "assessment_count_changed": {
      const side = m.side || "total";
      state.counts[side] = m.count;
      const count = $("assess-count-" + side);
      if (count) count.textContent = String(m.count);
      speak(t("say_rep", { n: m.count }));
      return true;
    }
    case "assessment_rep_rejected":
    case "assessment_cue_issued":
      lastCue = m.message;
      $("cue").textContent = localized(m.message);
      speak(localized(m.message));
      return true;
    case "assessment_completed":
      showResult(m.result);
      closeSession(); // the server sends the summary; the result screen stays
      return true;
    case "assessment_cancelled":
      stopCountdown();
      setStatus("assess_cancelled");
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------- server messages

function onMessage(m) {
  if (checkIn.onMessage(m)) return;
  switch (m.type) {
    case "opened":
      link.opened();
      state.sessionId = m.session_id;
      options = m.options;
      state.options = m.options;
      state.holdDone = false;
      if (m.assessment) onAssessmentOpened(m.assessment);
      if (m.programme) programmes.opened(m.programme);
      break;
    case "pose":
      state.posesReceived++;
      drawPose(m);
      tickClock(m.timestamp_ms);
      break;
    case "summary":
      state.stats = m.stats;
      showSummary(m);
      break;
    default:
      onEngineEvent(m);
  }
}

function onError(m) {
  if (m.code === "busy") setStatus("error_busy");
  else if (m.code === "unknown_exercise") setStatus("error_unknown_exercise");
  else if (m.code === "unknown_assessment") setStatus("error_unknown_assessment");
  else if (m.code === "unknown_programme") setStatus("error_unknown_programme");
  else if (m.code === "unknown_resident") setStatus("error_unknown_resident");
  else if (m.code === "too_many_attempts") setStatus("error_too_many_attempts");
  else if (m.fatal) setStatus("error_generic");
}

function onEngineEvent(m) {
  state.lastEvent = m;
  state.events.push(m);
  if (state.events.length > 200) state.events.shift();
  if (onAssessmentEvent(m) || programmes.onEvent(m)) return;
  switch (m.type) {
    case "placement_changed":
      setPlacement(m.placement, m.message);
      break;
    case "phase_changed":
      state.phase = m.phase;
      break;
    case "rep_completed":
      state.reps = m.count;
      state.scores.push(m.score);
      $("rep-count").textContent = String(m.count);
      $("last-score").textContent = fmtScore(m.score);
      renderScores($("rep-scores"));
      speak(t("say_rep", { n: m.count }));
      planner.onRep(m.count);
      break;
    case "cue_issued": {
      lastCue = m.message;
      $("cue").textContent = localized(m.message);
      const now = performance.now();
      if (now - lastCueSpokenAt >= options.cue_interval_ms) {
        lastCueSpokenAt = now;
        speak(localized(m.message));
      }
      break;
    }
    case "hold_progressed": {
      $("hold").hidden = false;
      const frac = m.target_ms > 0 ? Math.min(1, m.held_ms / m.target_ms) : 0;
      $("hold-fill").style.width = Math.round(frac * 100) + "%";
      $("hold-text").textContent = t("hold_line", {
        held: Math.floor(m.held_ms / 1000),
        target: Math.round(m.target_ms / 1000),
      });
      planner.onHold(m.held_ms);
      break;
    }
    case "hold_completed":
      state.holdDone = true;
      state.scores.push(m.score);
      $("last-score").textContent = fmtScore(m.score);
      $("hold-text").textContent = t("hold_done", { target: Math.round(m.target_ms / 1000) });
      break;
    case "move_completed":
      lastCue = null;
      $("cue").textContent = t("move_line", { name: localized(m.name), score: fmtScore(m.score) });
      break;
    default:
      break; // new event kinds still show up in kioskState.lastEvent
  }
}

// ---------------------------------------------------------------- kiosk token

// What this kiosk is (with the records store); a 401 names the token problem.
async function checkKiosk() {
  let response;
  try {
    response = await api("/api/kiosk/me");
  } catch (e) {
    return null;
  }
  if (response.status === 401) {
    state.kioskProblem = (await errorCode(response)) || "bad_kiosk_token";
    setStatus(state.kioskProblem);
    return null;
  }
  if (!response.ok) return null; // no records on this server: no sign-in
  state.kioskProblem = null;
  return response.json();
}

// ---------------------------------------------------------------- server health

const HEALTH_EVERY_MS = 30000;

// /health says "degraded" when a pose backend failed lately: tell the resident why the
// coach may not see them, until it says "ok" again.
async function checkHealth() {
  try {
    const body = await (await fetch("/health")).json();
    state.inference = body.inference || "ok";
  } catch (e) {
    return; // the socket's own reconnect says when the server is gone
  }
  $("inference-notice").hidden = state.inference !== "degraded";
}

// ---------------------------------------------------------------- start-up

function bindControls() {
  station.bindControls();
  $("finish-btn").addEventListener("click", finish);
  $("back-btn").addEventListener("click", backToPicker);
  $("again-btn").addEventListener("click", () => state.exercise && startExercise(state.exercise));
  $("result-again").addEventListener("click", () => pickedAssessment && startAssessment(pickedAssessment));
  $("result-other").addEventListener("click", backToPicker);
  $("other-btn").addEventListener("click", backToPicker);
  residents.bind();
  planner.bind();
  programmes.bind();
}

async function ready(catalogue) {
  kiosk = catalogue.kiosk;
  exercises = catalogue.exercises;
  if (catalogue.problem) state.kioskProblem = catalogue.problem;
  station.setLang(params.get("lang") || kiosk.default_lang);
  station.setElder(params.has("elder") ? params.get("elder") === "1" : kiosk.default_elder);
  state.state = "picker";
  const me = await checkKiosk();
  state.signInAvailable = !!(me && me.sign_in);
  show("picker");
  if (!state.kioskProblem && kiosk.kiosk_auth && !kioskToken) state.kioskProblem = "kiosk_token_required";
  setStatus(state.kioskProblem || (exercises.length ? null : "no_exercises"));
  link.connect();
  checkHealth();
  setInterval(checkHealth, HEALTH_EVERY_MS);
  await programmes.load();
  const auto = params.get("exercise");
  if (auto) {
    const ex = exercises.find((e) => e.id === auto);
    if (ex) startExercise(ex);
  }
  if (params.get("programme")) programmes.start(params.get("programme"));
}

window.kiosk = {
  startExercise: (id) => startExercise(exercises.find((e) => e.id === id)),
  startAssessment,
  startProgramme: (id) => programmes.start(id),
  control: (action) => link.send({ type: "control", action }),
  finish,
  backToPicker,
  signOut: () => residents.signOut(),
  startPlan: () => planner.start(),
};
bindControls();
station.setLang(params.get("lang") || "en");
station.startUp(loadCatalogue, ready);
