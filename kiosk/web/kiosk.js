// MoveCoach kiosk page: pick an exercise, get placed in frame, exercise with live
// feedback, see a summary. Plain JS, no build step. Talks only the /ws protocol
// (docs/protocol.md): the engine on the server decides reps, scores, cues and placement.
//
// Frames come from the camera (getUserMedia) or, without one, from the server's demo
// video played in the same <video> element; either way they are scaled, JPEG-encoded
// and sent with their capture time, so the demo goes through exactly the camera path.
//
// Kiosk token: when the server authenticates kiosks, the set-up page (/setup) stores
// this kiosk's token in localStorage; the page sends it on the websocket (?token=) and
// on /api/kiosk/* requests (Authorization: Bearer).
//
// Residents may sign in with their member code (sessions are then recorded to them,
// and "My history" shows their own recent sessions). Anonymous is the default; the code
// is kept in memory only and forgotten on "Sign out" or after IDLE_SIGN_OUT_MS
// without a touch while no exercise runs.
//
// Fitness assessments (the picker's second row): the server runs the protocol and sends
// its phases, countdown, counts and result as events; the page speaks their `say`
// texts, shows the count (per arm for the curl, seconds for the stance) and the result
// screen. `?assessment_timing=fast` shortens the phases before the measured time
// (demonstrations, the browser tests); the test's own 30 s / 2 min never change.
//
// window.kioskState is read by the browser tests.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const media = window.MoveCoachMedia; // shared/media.js: camera, frames, overlay, speech
  const params = new URLSearchParams(location.search);
  const MAX_SEND_FPS = Number(params.get("fps")) || 30;
  const IDLE_SIGN_OUT_MS = Number(params.get("idle_ms")) || 120000;
  const ASSESSMENTS = ["chair_stand_30s", "arm_curl_30s", "step_test_2min", "single_leg_stance"];
  const FAST_TIMING = { instructions_ms: 1500, ready_hold_ms: 300, countdown_ms: 3000 };
  const kioskToken = media.kioskToken();

  const state = (window.kioskState = {
    state: "loading", // loading | picker | placing | countdown | exercising | finishing | summary
    lang: "en",
    elder: false,
    muted: false,
    connected: false,
    source: null, // "camera" | "demo"
    cameraError: null,
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
    mode: "exercise", // "exercise" | "assessment"
    assessment: null, // the `opened` message's assessment info
    assessPhase: null,
    counts: {}, // side ("left"/"right") or "total" -> count
    clock: null,
    result: null,
  });

  let kiosk = { languages: window.LANGS, default_lang: "en", default_elder: false, demo: { available: false } };
  let exercises = [];
  let ws = null;
  let reconnectDelayMs = 500;
  let sessionOpen = false;
  let sessionToken = 0;
  let options = { cue_interval_ms: 4000, speech_rate: 1.0, countdown_s: 3, send_width: 640 };
  let countdownDone = false;
  let countdownTimer = null;
  let lastPlacementMessage = null;
  let lastCue = null;
  let lastCueSpokenAt = -Infinity;
  let lastPlacementSpokenAt = -Infinity;
  let pendingOpen = null;
  let resident = null; // {member_code, display_name} while signed in
  let idleTimer = null;
  let pickedAssessment = null; // the test id while an assessment runs or is shown
  let timerStart = null; // {started_at_ms, limit_ms} of the running assessment

  const video = $("video");
  const overlay = $("display");

  // ---------------------------------------------------------------- language, modes

  function localized(text) {
    return media.localized(text, state.lang);
  }

  function applyI18n() {
    window.currentLang = state.lang;
    document.documentElement.lang = state.lang;
    document.title = t("app_title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("lang-btn").textContent = t("lang_switch");
    $("lang-btn").setAttribute("aria-label", t("lang_switch_label"));
    $("elder-btn").textContent = state.elder ? t("elder_on") : t("elder_off");
    $("elder-btn").setAttribute("aria-pressed", String(state.elder));
    $("mute-btn").textContent = state.muted ? t("unmute") : t("mute");
    $("mute-btn").setAttribute("aria-pressed", String(state.muted));
    renderPicker();
    renderAssessments();
    renderResident();
    if (state.exercise) $("exercise-name").textContent = localized(state.exercise.name);
    if (lastPlacementMessage) $("guide-text").textContent = lastPlacementMessage();
    if (lastCue) $("cue").textContent = localized(lastCue);
    renderScores($("rep-scores"));
    const badge = $("source-badge");
    badge.textContent = state.source === "demo" ? t("using_demo") : t("using_camera");
  }

  function setLang(lang) {
    state.lang = window.LANGS.includes(lang) ? lang : "en";
    applyI18n();
  }

  function setElder(on) {
    state.elder = !!on;
    document.body.classList.toggle("elder", state.elder);
    applyI18n();
  }

  function setMuted(on) {
    state.muted = !!on;
    if (state.muted) media.hush();
    applyI18n();
  }

  // ---------------------------------------------------------------- voice

  function speak(text, { interrupt = false } = {}) {
    media.speak(text, {
      spoken: state.spoken,
      keep: 100,
      muted: state.muted,
      lang: state.lang,
      rate: options.speech_rate,
      interrupt,
      failed: (reason) => {
        state.speechErrors++;
        state.lastSpeechError = reason;
      },
    });
  }

  // ---------------------------------------------------------------- screens

  let currentScreen = "picker";

  function show(screen) {
    currentScreen = screen;
    for (const id of ["picker", "signin", "history", "stage", "summary", "result"]) $(id).hidden = id !== screen;
    renderResident();
  }

  function setStatus(key, params) {
    const text = key ? t(key, params) : "";
    $("picker-status").textContent = text;
    $("stage-status").textContent = text;
  }

  function viewLabel(view) {
    const key = "view_" + String(view || "any").toLowerCase();
    return t(key) === key ? t("view_any") : t(key);
  }

  function renderPicker() {
    const grid = $("exercise-grid");
    grid.textContent = "";
    for (const ex of exercises) {
      const card = document.createElement("button");
      card.type = "button";
      card.className = "card";
      card.setAttribute("role", "listitem");
      card.dataset.exercise = ex.id;
      const img = document.createElement("img");
      img.src = ex.picture;
      img.alt = "";
      const name = document.createElement("span");
      name.className = "card-name";
      name.textContent = localized(ex.name);
      const view = document.createElement("span");
      view.className = "card-view";
      view.textContent = viewLabel(ex.view);
      card.append(img, name, view);
      card.addEventListener("click", () => startExercise(ex));
      grid.append(card);
    }
  }

  function renderAssessments() {
    const grid = $("assessment-grid");
    grid.textContent = "";
    for (const id of ASSESSMENTS) {
      const card = document.createElement("button");
      card.type = "button";
      card.className = "card";
      card.setAttribute("role", "listitem");
      card.dataset.assessment = id;
      const img = document.createElement("img");
      img.src = "/static/pictures/exercise.svg";
      img.alt = "";
      const name = document.createElement("span");
      name.className = "card-name";
      name.textContent = t("assess_" + id);
      card.append(img, name);
      card.addEventListener("click", () => startAssessment(id));
      grid.append(card);
    }
  }

  function renderScores(list) {
    list.textContent = "";
    state.scores.forEach((score, i) => {
      const li = document.createElement("li");
      li.textContent = t("rep_line", { n: i + 1, score: fmtScore(score) });
      list.append(li);
    });
    list.scrollTop = list.scrollHeight;
  }

  function fmtScore(score) {
    return typeof score === "number" && isFinite(score) ? Math.round(score) : "–";
  }

  // ---------------------------------------------------------------- source (camera or demo)

  const ensureSource = media.videoSource(video, state, {
    demo: () => kiosk.demo,
    wantDemo: params.get("source") === "demo",
    status: setStatus,
    chosen: () => {
      // A mirror is what people expect of a camera; the demo is shown as recorded.
      $("stage").classList.toggle("mirror", state.source === "camera" && params.get("mirror") !== "0");
      $("source-badge").hidden = false;
      applyI18n();
    },
    maxFps: MAX_SEND_FPS,
    sendWidth: () => options.send_width,
    socket: () => (sessionOpen && ws && ws.readyState === WebSocket.OPEN ? ws : null),
    session: () => sessionToken,
  });

  // ---------------------------------------------------------------- overlay

  // The <video> is shown with object-fit: contain; the overlay covers the same box and
  // is mirrored with it (the "mirror" class), so landmarks are placed as sent.
  function drawPose(pose) {
    const g = media.clearOverlay(overlay);
    if (!pose || !pose.present) return;
    const r = media.containRect(overlay, video);
    const at = (j) => media.landmarkAt(pose, j, r, false);
    const thick = state.elder ? 7 : 5;
    g.lineCap = "round";
    g.lineWidth = thick;
    g.strokeStyle = "rgba(64, 224, 160, 0.9)";
    const bones = media.strokeBones(g, pose.bones, at);
    g.fillStyle = "#ffffff";
    media.fillJoints(g, pose.xy.map((_, j) => at(j)).filter(Boolean), thick * 0.8);
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
    lastPlacementMessage = () => localized(message) || t("placement_" + placement) || t("step_into_frame");
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

  async function startExercise(ex) {
    pickedAssessment = null;
    state.exercise = ex;
    $("exercise-name").textContent = localized(ex.name);
    resetSessionView();
    show("stage");
    state.state = "placing";
    try {
      await ensureSource();
    } catch (e) {
      return;
    }
    pendingOpen = { type: "open", v: 1, exercise: ex.id, lang: state.lang, elder: state.elder };
    if (resident) pendingOpen.resident = resident.member_code;
    if (video.videoWidth) pendingOpen.resolution_wh = [video.videoWidth, video.videoHeight];
    sendOpen();
  }

  async function startAssessment(id) {
    pickedAssessment = id;
    state.exercise = null;
    $("exercise-name").textContent = t("assess_" + id);
    resetSessionView();
    $("guide").hidden = true; // the protocol says how to get into position
    show("stage");
    state.state = "assessing";
    try {
      await ensureSource();
    } catch (e) {
      return;
    }
    pendingOpen = { type: "open", v: 1, assessment: id, lang: state.lang, elder: state.elder };
    if (resident) pendingOpen.resident = resident.member_code;
    const age = parseInt($("assess-age").value, 10);
    if (age > 0) pendingOpen.age_years = age;
    if ($("assess-sex").value) pendingOpen.sex = $("assess-sex").value;
    if (video.videoWidth) pendingOpen.resolution_wh = [video.videoWidth, video.videoHeight];
    if (params.get("assessment_timing") === "fast") pendingOpen.timing = FAST_TIMING;
    sendOpen();
  }

  function unitLabel() {
    return state.assessment ? localized(state.assessment.unit_label) : "";
  }

  function renderCounts() {
    const box = $("assess-counts");
    box.textContent = "";
    const sides = state.assessment && state.assessment.sides.length ? state.assessment.sides : ["total"];
    for (const side of sides) {
      const row = document.createElement("div");
      row.className = "counter";
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = side === "total" ? t("assess_count") : t("assess_" + side);
      const value = document.createElement("span");
      value.className = "big";
      value.id = "assess-count-" + side;
      value.textContent = String(state.counts[side] || 0);
      row.append(label, value);
      box.append(row);
    }
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
    $("result-sides").textContent = "left" in sides && "right" in sides && state.assessment && state.assessment.sides.length
      ? t("assess_per_side", { left: sides.left, right: sides.right }) : "";
    $("result-percentile").textContent = typeof result.percentile === "number"
      ? t("assess_percentile", { p: Math.round(result.percentile) }) : t("assess_no_percentile");
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
        const el = $("assess-count-" + side);
        if (el) el.textContent = String(m.count);
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

  function sendOpen() {
    if (!pendingOpen || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(pendingOpen));
    pendingOpen = null;
  }

  function closeSession() {
    if (!sessionOpen) return;
    sessionOpen = false;
    sessionToken++;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "close", v: 1 }));
  }

  function finish() {
    if (!sessionOpen) return;
    state.state = "finishing";
    stopCountdown();
    closeSession();
  }

  function backToPicker() {
    pickedAssessment = null;
    closeSession();
    stopCountdown();
    state.state = "picker";
    state.exercise = null;
    show("picker");
  }

  function showSummary(message) {
    state.summary = message;
    if (pickedAssessment) {
      // an assessment ends on its result screen; stopped before the start: no result
      if (state.state === "finishing") {
        backToPicker();
        setStatus("assess_cancelled");
      }
      return;
    }
    if (state.state !== "finishing") return; // "Back" was pressed: no summary screen
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

  // ---------------------------------------------------------------- server messages

  function onMessage(m) {
    switch (m.type) {
      case "opened":
        sessionOpen = true;
        sessionToken++;
        state.sessionId = m.session_id;
        options = m.options;
        state.options = m.options;
        state.holdDone = false;
        if (m.assessment) onAssessmentOpened(m.assessment);
        break;
      case "pose":
        state.posesReceived++;
        drawPose(m);
        tickClock(m.timestamp_ms);
        break;
      case "stats":
        state.stats = m;
        break;
      case "summary":
        state.stats = m.stats;
        showSummary(m);
        break;
      case "error":
        onError(m);
        break;
      default:
        onEngineEvent(m);
    }
  }

  function onError(m) {
    state.errors.push(m);
    if (state.errors.length > 50) state.errors.shift();
    if (m.code === "busy") setStatus("error_busy");
    else if (m.code === "unknown_exercise") setStatus("error_unknown_exercise");
    else if (m.code === "unknown_assessment") setStatus("error_unknown_assessment");
    else if (m.fatal) setStatus("error_generic");
  }

  function onEngineEvent(m) {
    state.lastEvent = m;
    state.events.push(m);
    if (state.events.length > 200) state.events.shift();
    if (onAssessmentEvent(m)) return;
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

  // ---------------------------------------------------------------- kiosk token, residents

  function api(path, init = {}) {
    const headers = Object.assign({}, init.headers || {});
    if (kioskToken) headers.Authorization = "Bearer " + kioskToken;
    return fetch(path, Object.assign({}, init, { headers }));
  }

  async function errorCode(response) {
    try {
      const body = await response.json();
      return (body.detail && body.detail.code) || null;
    } catch (e) {
      return null;
    }
  }

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

  async function loadExercises() {
    const response = await api("/api/kiosk/exercises");
    if (response.ok) return response.json();
    if (response.status === 401) state.kioskProblem = (await errorCode(response)) || "bad_kiosk_token";
    return (await fetch("/api/exercises")).json(); // built-ins (no records, or no token)
  }

  function renderResident() {
    const on = !!resident;
    const idle = currentScreen !== "stage";
    $("resident-badge").hidden = !on;
    $("resident-badge").textContent = on ? t("signed_in_as", { name: resident.display_name }) : "";
    $("signin-btn").hidden = on || !state.signInAvailable || !idle;
    $("signout-btn").hidden = !on || !idle;
    $("history-btn").hidden = !on || !idle;
  }

  function resetIdle() {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    if (!resident) return;
    idleTimer = setTimeout(() => {
      if (["exercising", "countdown", "placing", "finishing"].includes(state.state)) return resetIdle();
      signOut();
    }, IDLE_SIGN_OUT_MS);
  }

  function openSignIn() {
    state.state = "signin";
    $("member-code").value = "";
    $("signin-status").textContent = "";
    show("signin");
    $("member-code").focus();
  }

  function buildKeypad() {
    const pad = $("keypad");
    pad.textContent = "";
    for (const key of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "-", "0", "⌫"]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = key;
      b.addEventListener("click", () => {
        const input = $("member-code");
        input.value = key === "⌫" ? input.value.slice(0, -1) : input.value + key;
        input.focus();
      });
      pad.append(b);
    }
  }

  async function submitSignIn(event) {
    event.preventDefault();
    const code = $("member-code").value.trim();
    if (!code) return;
    $("signin-status").textContent = t("signing_in");
    let response;
    try {
      response = await api("/api/kiosk/sign-in", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ member_code: code }),
      });
    } catch (e) {
      $("signin-status").textContent = t("error_sign_in_failed");
      return;
    }
    if (!response.ok) {
      const code = await errorCode(response);
      const key = "error_" + code;
      $("signin-status").textContent = t(key) === key ? t("error_sign_in_failed") : t(key);
      return;
    }
    const body = await response.json();
    resident = { member_code: body.resident.member_code, display_name: body.resident.display_name };
    state.resident = resident.display_name;
    state.history = body.sessions;
    $("member-code").value = "";
    resetIdle();
    showHistory(body.sessions);
  }

  // Records that are not templates (a group class stores `group_follow`) are named in
  // i18n.js as exercise_<id>; anything else unknown shows its id.
  function exerciseName(id) {
    const ex = exercises.find((e) => e.id === id);
    if (ex) return localized(ex.name);
    return "exercise_" + id in window.I18N.en ? t("exercise_" + id) : id;
  }

  function showHistory(sessions) {
    state.state = "history";
    $("history-title").textContent = t("history_title", { name: resident ? resident.display_name : "" });
    const rows = $("history-rows");
    rows.textContent = "";
    for (const s of sessions || []) {
      const tr = document.createElement("tr");
      const when = new Date(s.started_at);
      const cells = [
        when.toLocaleDateString(state.lang, { month: "short", day: "numeric" }) + " " +
          when.toLocaleTimeString(state.lang, { hour: "2-digit", minute: "2-digit" }),
        exerciseName(s.exercise_id),
        String(s.rep_count),
        fmtScore(s.mean_score),
      ];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      rows.append(tr);
    }
    $("history-empty").hidden = !!(sessions && sessions.length);
    show("history");
  }

  async function openHistory() {
    if (!resident) return;
    resetIdle();
    try {
      const response = await api("/api/kiosk/sign-in", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ member_code: resident.member_code }),
      });
      if (response.ok) state.history = (await response.json()).sessions;
    } catch (e) {
      // show what we have
    }
    showHistory(state.history);
  }

  function signOut() {
    resident = null;
    state.resident = null;
    state.history = null;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    $("history-rows").textContent = "";
    if (["history", "signin"].includes(state.state)) {
      state.state = "picker";
      show("picker");
    }
    renderResident();
  }

  // ---------------------------------------------------------------- websocket

  function connect() {
    ws = media.openSocket("/ws", kioskToken, onMessage, state.errors);
    if (!state.connected) setStatus(state.state === "loading" ? "connecting" : "connection_lost");
    ws.onopen = () => {
      state.connected = true;
      reconnectDelayMs = 500;
      setStatus(null);
      sendOpen();
    };
    ws.onclose = () => {
      const wasOpen = sessionOpen || state.state === "finishing";
      const everOpened = state.connected;
      state.connected = false;
      sessionOpen = false;
      sessionToken++;
      setStatus(state.kioskProblem || "connection_lost");
      if (!everOpened && !state.kioskProblem) checkKiosk(); // refused: a token problem?
      if (wasOpen) backToPicker(); // the server's session ended with the connection
      setTimeout(connect, reconnectDelayMs);
      reconnectDelayMs = Math.min(reconnectDelayMs * 2, 8000);
    };
  }

  // ---------------------------------------------------------------- start-up

  function bindControls() {
    $("lang-btn").addEventListener("click", () => setLang(state.lang === "en" ? "zh-CN" : "en"));
    $("elder-btn").addEventListener("click", () => setElder(!state.elder));
    $("mute-btn").addEventListener("click", () => setMuted(!state.muted));
    $("finish-btn").addEventListener("click", finish);
    $("back-btn").addEventListener("click", backToPicker);
    $("again-btn").addEventListener("click", () => state.exercise && startExercise(state.exercise));
    $("result-again").addEventListener("click", () => pickedAssessment && startAssessment(pickedAssessment));
    $("result-other").addEventListener("click", backToPicker);
    $("other-btn").addEventListener("click", backToPicker);
    $("signin-btn").addEventListener("click", openSignIn);
    $("signout-btn").addEventListener("click", signOut);
    $("history-btn").addEventListener("click", openHistory);
    $("history-back").addEventListener("click", backToPicker);
    $("signin-cancel").addEventListener("click", backToPicker);
    $("signin-form").addEventListener("submit", submitSignIn);
    for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, resetIdle, { passive: true });
    buildKeypad();
  }

  async function init() {
    setLang(params.get("lang") || "en");
    setStatus("loading");
    try {
      kiosk = await (await fetch("/api/kiosk")).json();
      exercises = await loadExercises();
    } catch (e) {
      state.errors.push({ code: "client", detail: String(e) });
      setStatus("server_starting");
      setTimeout(init, 2000);
      return;
    }
    setLang(params.get("lang") || kiosk.default_lang);
    setElder(params.has("elder") ? params.get("elder") === "1" : kiosk.default_elder);
    state.state = "picker";
    const me = await checkKiosk();
    state.signInAvailable = !!(me && me.sign_in);
    show("picker");
    if (!state.kioskProblem && kiosk.kiosk_auth && !kioskToken) state.kioskProblem = "kiosk_token_required";
    setStatus(state.kioskProblem || (exercises.length ? null : "no_exercises"));
    connect();
    const auto = params.get("exercise");
    if (auto) {
      const ex = exercises.find((e) => e.id === auto);
      if (ex) startExercise(ex);
    }
  }

  window.kiosk = {
    startExercise: (id) => startExercise(exercises.find((e) => e.id === id)),
    startAssessment,
    finish,
    backToPicker,
    signOut,
  };
  bindControls();
  init();
})();
