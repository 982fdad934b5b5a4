// MoveCoach group screen: one camera and a large display in front of a class.
// Plain JS, no build step. Talks only the /ws/group protocol (docs/group.md): the
// server finds everyone, keeps their track ids and seat numbers, counts, scores,
// decides group cues and falls; this page shows it and sends staff actions.
//
// Frames: the camera (getUserMedia) or, without one, the server's demo video, scaled to
// the server's send_width, JPEG-encoded and sent with the 12-byte header
// (docs/protocol.md). Nothing is queued: while the socket is down frames are skipped.
//
// Speech: only `group_cue_issued` messages are spoken (calm, slow, the session's
// language); nobody is singled out by voice.
//
// window.groupState is read by the browser tests (tests/kiosk/test_browser_group.py).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const media = window.MoveCoachMedia; // shared/media.js: camera, frames, overlay, speech
  const params = new URLSearchParams(location.search);
  const MAX_SEND_FPS = Number(params.get("fps")) || 15;
  const MIN_VISIBILITY = media.MIN_VISIBILITY;
  const CAPTION_MS = 7000;
  const WELCOME_MS = 5000;
  const ACK_FALLBACK_MS = 6000; // the server did not confirm: close the alert anyway
  const MAX_TILES = 8;
  const AWAY_AFTER_MS = 1500; // a missed detection or two is not "not in view"
  // Bright, distinct colours, readable on the camera image from a distance.
  const PALETTE = ["#ff6b6b", "#4dabf7", "#ffd43b", "#69db7c", "#da77f2", "#ff922b", "#3bc9db", "#f783ac", "#a9e34b", "#9775fa"];
  const INSTRUCTOR_COLOR = "#ffffff";
  const EXTRA_COLOR = "rgba(200, 200, 200, 0.55)";
  const NOSE = 0;

  const kioskToken = media.kioskToken();

  const state = (window.groupState = {
    state: "loading", // loading | setup | live | closing | summary
    lang: "en",
    elder: true,
    muted: false,
    mode: "follow", // follow | same_exercise
    exercise: null, // catalogue id (same_exercise)
    connected: false,
    reconnects: 0,
    source: null, // camera | demo
    cameraError: null,
    sessionId: null,
    options: null,
    framesSent: 0,
    posesReceived: 0,
    posesDrawn: 0,
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
  let ws = null;
  let reconnectDelayMs = 500;
  let sessionOpen = false;
  let sessionToken = 0;
  let wantSession = false; // staff started a class and did not end it
  let options = { cue_interval_ms: 6000, speech_rate: 0.85, countdown_s: 0, send_width: 640 };
  let bones = [];
  let mirror = false;
  let captionTimer = null;
  let lastCueMessage = null;
  let checkinTrack = null; // track id the keypad dialog is for
  let lastPeople = [];
  const colors = new Map(); // track id -> colour, stable for the session
  const tiles = new Map(); // track id -> tile record
  const welcome = new Map(); // track id -> timer (the "Welcome, name" line)

  const video = $("video");
  const overlay = $("display");

  // ---------------------------------------------------------------- language

  function localized(text) {
    return media.localized(text, state.lang);
  }

  function applyI18n() {
    window.groupLang = state.lang;
    document.documentElement.lang = state.lang;
    document.title = gt("app_title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = gt(el.dataset.i18n);
    $("lang-btn").textContent = gt("lang_switch");
    $("lang-btn").setAttribute("aria-label", gt("lang_switch_label"));
    $("elder-btn").textContent = state.elder ? gt("elder_on") : gt("elder_off");
    $("elder-btn").setAttribute("aria-pressed", String(state.elder));
    $("mute-btn").textContent = state.muted ? gt("unmute") : gt("mute");
    $("mute-btn").setAttribute("aria-pressed", String(state.muted));
    for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
    $("elder-check").checked = state.elder;
    renderExercises();
    renderModeName();
    for (const tile of tiles.values()) renderTile(tile);
    if (lastCueMessage && !$("caption").hidden) $("caption").textContent = localized(lastCueMessage);
    renderAlert();
    if (state.summary) renderSummary(state.summary);
    $("summary-measure").textContent = state.mode === "follow" ? gt("summary_in_step") : gt("summary_score");
  }

  function setLang(lang) {
    state.lang = window.GROUP_LANGS.includes(lang) ? lang : "en";
    applyI18n();
  }

  function setElder(on) {
    state.elder = !!on;
    document.body.classList.toggle("elder", state.elder);
    applyI18n();
    drawPeople(lastPeople); // the cue strip changed height: refit the picture
  }

  function setMuted(on) {
    state.muted = !!on;
    if (state.muted) media.hush();
    applyI18n();
  }

  function setStatus(key, params) {
    const text = key ? gt(key, params) : "";
    $("setup-status").textContent = text;
    $("live-status").textContent = text;
    $("conn").textContent = state.connected ? "" : text;
  }

  // ---------------------------------------------------------------- voice

  // The caption shows every cue; speaking is best effort (some screens have no voice).
  function speak(text) {
    media.speak(text, {
      spoken: state.spoken,
      keep: 50,
      muted: state.muted,
      lang: state.lang,
      // calm and slow: never faster than the server's pace, slower still for elders
      rate: Math.min(options.speech_rate || 1, state.elder ? 0.85 : 0.95),
    });
  }

  // ---------------------------------------------------------------- screens

  function show(screen) {
    for (const id of ["setup", "live", "summary"]) $(id).hidden = id !== screen;
    $("stop-btn").hidden = screen !== "live";
  }

  function renderExercises() {
    const grid = $("exercise-grid");
    grid.textContent = "";
    for (const ex of exercises) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "option exercise";
      b.setAttribute("role", "listitem");
      b.dataset.exercise = ex.id;
      b.setAttribute("aria-pressed", String(ex.id === state.exercise));
      if (ex.picture) {
        const img = document.createElement("img");
        img.src = ex.picture;
        img.alt = "";
        b.append(img);
      }
      const name = document.createElement("span");
      name.className = "option-name";
      name.textContent = localized(ex.name);
      b.append(name);
      b.addEventListener("click", () => {
        state.exercise = ex.id;
        renderExercises();
        setStatus(null);
      });
      grid.append(b);
    }
  }

  function setMode(mode) {
    state.mode = mode === "same_exercise" ? "same_exercise" : "follow";
    for (const b of document.querySelectorAll("[data-mode]")) b.setAttribute("aria-pressed", String(b.dataset.mode === state.mode));
    $("exercise-box").hidden = state.mode !== "same_exercise";
    if (state.mode === "same_exercise" && !state.exercise && exercises.length) state.exercise = exercises[0].id;
    renderExercises();
    renderModeName();
  }

  function renderModeName() {
    let text = state.mode === "follow" ? gt("mode_follow") : gt("mode_same");
    const ex = exercises.find((e) => e.id === state.exercise);
    if (state.mode === "same_exercise" && ex) text = localized(ex.name);
    $("mode-name").textContent = text;
    $("live").classList.toggle("follow", state.mode === "follow");
  }

  // ---------------------------------------------------------------- source

  const ensureSource = media.videoSource(video, state, {
    demo: () => kiosk.demo,
    wantDemo: params.get("source") === "demo",
    status: setStatus,
    chosen: () => {
      // A class expects a mirror (like a dance studio's); the demo is shown as recorded.
      mirror = state.source === "camera" && params.get("mirror") !== "0";
      video.classList.toggle("mirror", mirror);
    },
    maxFps: MAX_SEND_FPS,
    sendWidth: () => options.send_width || 640,
    socket: () => (sessionOpen && ws && ws.readyState === WebSocket.OPEN ? ws : null),
    session: () => sessionToken,
  });

  // ---------------------------------------------------------------- drawing

  function colorOf(trackId) {
    if (!colors.has(trackId)) {
      // the least used colour among the ids seen so far: neighbours differ
      const used = new Map(PALETTE.map((c) => [c, 0]));
      for (const c of colors.values()) used.set(c, used.get(c) + 1);
      let best = PALETTE[0];
      for (const c of PALETTE) if (used.get(c) < used.get(best)) best = c;
      colors.set(trackId, best);
    }
    return colors.get(trackId);
  }

  function personColor(p) {
    if (p.role === "instructor") return INSTRUCTOR_COLOR;
    if (p.role === "extra") return EXTRA_COLOR;
    return colorOf(p.track_id);
  }

  // #picture is sized to the video's aspect, as large as the stage allows (no bars,
  // no distortion), so the <video> and the overlay cover exactly the same pixels; a
  // mirrored video flips about the picture's centre, as the overlay's x does.
  function fitPicture() {
    const stage = $("stage");
    const sw = stage.clientWidth;
    const sh = stage.clientHeight;
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    const pic = $("picture");
    if (!sw || !sh) return;
    if (!vw || !vh) {
      pic.style.width = "";
      pic.style.height = "";
      return;
    }
    const scale = Math.min(sw / vw, sh / vh);
    const w = Math.floor(vw * scale);
    const h = Math.floor(vh * scale);
    if (pic.style.width !== w + "px") pic.style.width = w + "px";
    if (pic.style.height !== h + "px") pic.style.height = h + "px";
  }

  function contentRect() {
    return { x: 0, y: 0, w: overlay.clientWidth, h: overlay.clientHeight };
  }

  function pictureState() {
    const r = overlay.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height, mirror, video_wh: [video.videoWidth, video.videoHeight] };
  }

  function drawPeople(people) {
    fitPicture();
    const g = media.clearOverlay(overlay);
    const r = contentRect();
    const drawn = [];
    const thick = state.elder ? 7 : 5;
    // the instructor last, on top
    const order = [...people].sort((a, b) => (a.role === "instructor") - (b.role === "instructor"));
    for (const p of order) {
      const at = (j) => media.landmarkAt(p, j, r, mirror);
      const color = personColor(p);
      const pts = [];
      for (let j = 0; j < (p.xy || []).length; j++) {
        const q = at(j);
        if (q) pts.push(q);
      }
      if (pts.length < 2) continue;
      g.lineCap = "round";
      g.lineJoin = "round";
      g.strokeStyle = color;
      g.lineWidth = p.role === "instructor" ? thick + 3 : p.role === "extra" ? thick - 2 : thick;
      const nBones = media.strokeBones(g, bones, at);
      g.fillStyle = color;
      media.fillJoints(g, pts, thick * 0.7);
      const xs = pts.map((q) => q[0]);
      const ys = pts.map((q) => q[1]);
      const box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      const head = at(NOSE) || [(box[0] + box[2]) / 2, box[1]];
      drawLabel(g, p, color, head, box);
      if (p.fallen) {
        g.strokeStyle = "#ff3030";
        g.lineWidth = 6;
        g.setLineDash([14, 10]);
        g.strokeRect(box[0] - 16, box[1] - 16, box[2] - box[0] + 32, box[3] - box[1] + 32);
        g.setLineDash([]);
      }
      if (nBones > 0) drawn.push({ track_id: p.track_id, role: p.role, number: p.number, color, box });
    }
    state.drawn = drawn;
    state.picture = pictureState();
    if (drawn.length) state.posesDrawn++;
  }

  // The seat number in a coloured disc above the head; the instructor gets a banner.
  function drawLabel(g, p, color, head, box) {
    const size = Math.max(26, Math.min(36, (box[3] - box[1]) * 0.1));
    const y = Math.max(size * 0.8, Math.min(head[1], box[1]) - size * 1.1);
    const x = head[0];
    g.font = `800 ${Math.round(size)}px ${getComputedStyle(document.body).fontFamily}`;
    g.textAlign = "center";
    g.textBaseline = "middle";
    if (p.role === "instructor") {
      const text = "★ " + gt("instructor");
      const w = g.measureText(text).width + size * 0.8;
      g.fillStyle = "rgba(0, 0, 0, 0.7)";
      roundRect(g, x - w / 2, y - size * 0.7, w, size * 1.4, size * 0.3);
      g.fill();
      g.fillStyle = INSTRUCTOR_COLOR;
      g.fillText(text, x, y);
    } else if (p.number != null) {
      const rad = size * 0.85;
      g.fillStyle = color;
      g.beginPath();
      g.arc(x, y, rad, 0, 2 * Math.PI);
      g.fill();
      g.lineWidth = 3;
      g.strokeStyle = "rgba(0, 0, 0, 0.75)";
      g.stroke();
      g.fillStyle = "#101820";
      g.fillText(String(p.number), x, y + 1);
    }
  }

  function roundRect(g, x, y, w, h, rad) {
    g.beginPath();
    g.moveTo(x + rad, y);
    g.arcTo(x + w, y, x + w, y + h, rad);
    g.arcTo(x + w, y + h, x, y + h, rad);
    g.arcTo(x, y + h, x, y, rad);
    g.arcTo(x, y, x + w, y, rad);
    g.closePath();
  }

  // A tap on a person (inside their skeleton's box, nearest centre wins) makes them
  // the instructor.
  function onViewTap(event) {
    const rect = overlay.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    let best = null;
    let bestD = Infinity;
    for (const d of state.drawn) {
      const pad = 30;
      const [x0, y0, x1, y1] = d.box;
      if (x < x0 - pad || x > x1 + pad || y < y0 - pad || y > y1 + pad) continue;
      const dist = Math.hypot(x - (x0 + x1) / 2, y - (y0 + y1) / 2);
      if (dist < bestD) {
        bestD = dist;
        best = d;
      }
    }
    if (best && best.role !== "instructor") setInstructor(best.track_id);
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
    const li = document.createElement("li");
    li.className = "tile";
    li.dataset.trackId = String(trackId);
    li.innerHTML = `
      <div class="tile-head">
        <span class="seat"></span><span class="who"></span>
        <span class="tile-actions">
          <button type="button" class="checkin-btn"></button>
          <button type="button" class="instructor-btn"></button>
        </span>
      </div>
      <div class="tile-body">
        <span class="stat-num reps">0</span><span class="stat-label l-reps"></span>
        <span class="score-stat"><span class="stat-label l-score"></span><span class="stat-num score">–</span></span>
        <span class="step-stat"><span class="stat-label l-step"></span><span class="meter"><span class="meter-fill"></span></span><span class="step-num"></span></span>
        <span class="away-note"></span>
      </div>`;
    li.querySelector(".checkin-btn").addEventListener("click", (e) => {
      e.stopPropagation();
      const tile = tiles.get(trackId);
      if (!tile) return;
      if (tile.name) send({ type: "check_out", track_id: trackId });
      else openCheckin(trackId);
    });
    li.querySelector(".instructor-btn").addEventListener("click", (e) => {
      e.stopPropagation();
      setInstructor(trackId);
    });
    return li;
  }

  function placeTile(tile) {
    const list = $("tiles");
    const sorted = [...tiles.values()].sort((a, b) => (a.number ?? 99) - (b.number ?? 99));
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

  function fmt(x) {
    return typeof x === "number" && isFinite(x) ? String(Math.round(x)) : "–";
  }

  function renderTile(tile) {
    const el = tile.el;
    const color = colorOf(tile.track_id);
    el.style.setProperty("--person", color);
    el.classList.toggle("away", !tile.in_view);
    el.classList.toggle("fallen", !!tile.fallen);
    el.classList.toggle("named", !!tile.name);
    el.querySelector(".seat").textContent = tile.number != null ? String(tile.number) : "?";
    const greeting = welcome.has(tile.track_id) && tile.name ? gt("checked_in_as", { name: tile.name }) : null;
    el.classList.toggle("welcome", !!greeting); // the greeting gets the whole line for a moment
    el.querySelector(".who").textContent = greeting || tile.name || gt("seat", { n: tile.number ?? "?" });
    el.querySelector(".reps").textContent = String(tile.reps || 0);
    el.querySelector(".l-reps").textContent = gt("reps");
    el.querySelector(".score").textContent = fmt(tile.last_score);
    el.querySelector(".l-score").textContent = gt("score");
    const step = typeof tile.in_step === "number" ? Math.max(0, Math.min(100, tile.in_step)) : null;
    const fill = el.querySelector(".meter-fill");
    fill.style.width = (step ?? 0) + "%";
    fill.className = "meter-fill " + (step == null ? "" : step >= 70 ? "good" : step >= 40 ? "fair" : "low");
    el.querySelector(".l-step").textContent = gt("in_step");
    el.querySelector(".step-num").textContent = step == null ? "–" : String(Math.round(step));
    // out of view: a gentle note where the live measure was
    el.querySelector(".score-stat").hidden = state.mode === "follow" || !tile.in_view;
    el.querySelector(".step-stat").hidden = state.mode !== "follow" || !tile.in_view;
    el.querySelector(".away-note").hidden = tile.in_view;
    el.querySelector(".away-note").textContent = gt("not_in_view");
    el.querySelector(".checkin-btn").textContent = tile.name ? gt("check_out") : gt("check_in");
    const lead = el.querySelector(".instructor-btn");
    lead.textContent = "★";
    lead.title = gt("make_instructor_label");
    lead.setAttribute("aria-label", gt("make_instructor_label"));
  }

  function syncTileState() {
    state.tiles = [...tiles.values()]
      .sort((a, b) => (a.number ?? 99) - (b.number ?? 99))
      .map(({ el, ...rest }) => rest);
    $("waiting").hidden = tiles.size > 0 || lastPeople.length > 0;
    $("tiles-empty").hidden = tiles.size > 0;
    // tiles keep one size from 1 to 5 people, then share the column (up to 8)
    $("tiles").style.setProperty("--rows", String(Math.max(5, Math.min(MAX_TILES, tiles.size))));
  }

  function onPose(m) {
    state.posesReceived++;
    const people = Array.isArray(m.people) ? m.people : [];
    lastPeople = people;
    drawPeople(people);
    for (const p of people) {
      if (p.role === "instructor") state.instructorTrackId = p.track_id;
      if (p.role !== "participant" || p.number == null) {
        if (tiles.has(p.track_id)) removeTile(p.track_id); // now the instructor
        continue;
      }
      if (!tiles.has(p.track_id) && tiles.size >= MAX_TILES) continue;
      const tile = tileFor(p.track_id, p.number);
      const visible = (p.visibility || []).some((v) => v >= MIN_VISIBILITY);
      tile.name = p.name || null;
      tile.reps = p.reps || 0;
      tile.in_step = p.in_step;
      tile.last_score = p.last_score;
      tile.fallen = !!p.fallen;
      if (visible) tile.seen_at = performance.now();
    }
    const now = performance.now();
    for (const tile of tiles.values()) tile.in_view = now - (tile.seen_at ?? -Infinity) < AWAY_AFTER_MS;
    for (const tile of tiles.values()) renderTile(tile);
    $("people-count").textContent = gt("people_in_view", { n: people.filter((p) => (p.visibility || []).some((v) => v >= MIN_VISIBILITY)).length });
    syncTileState();
  }

  // ---------------------------------------------------------------- check-in

  function openCheckin(trackId) {
    const tile = tiles.get(trackId);
    if (!tile) return;
    checkinTrack = trackId;
    $("checkin-title").textContent = gt("checkin_title", { n: tile.number ?? "?" });
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

  function buildKeypad() {
    const pad = $("keypad");
    pad.textContent = "";
    for (const key of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "-", "0", "⌫"]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = key;
      b.dataset.key = key;
      b.addEventListener("click", () => {
        const input = $("member-code");
        input.value = key === "⌫" ? input.value.slice(0, -1) : input.value + key;
      });
      pad.append(b);
    }
  }

  function submitCheckin(event) {
    event.preventDefault();
    const code = $("member-code").value.trim();
    if (!code || checkinTrack == null) return;
    if (!send({ type: "check_in", track_id: checkinTrack, resident: code })) {
      $("checkin-status").textContent = gt("connection_lost");
      return;
    }
    $("checkin-status").className = "status";
    $("checkin-status").textContent = gt("checking_in");
  }

  function onCheckedIn(m) {
    const tile = tiles.get(m.track_id) || tileFor(m.track_id, m.number);
    tile.name = m.name;
    if (welcome.has(m.track_id)) clearTimeout(welcome.get(m.track_id));
    welcome.set(
      m.track_id,
      setTimeout(() => {
        welcome.delete(m.track_id);
        const t = tiles.get(m.track_id);
        if (t) renderTile(t);
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

  // ---------------------------------------------------------------- fall alerts

  function openAlertFor(trackId) {
    return state.alerts.find((a) => a.track_id === trackId && !a.acknowledged);
  }

  function raiseAlert(fields) {
    let alert = openAlertFor(fields.track_id);
    if (!alert) {
      alert = { key: state.alerts.length + 1, alert_id: null, track_id: fields.track_id, number: null, name: null, cleared: false, acknowledged: false, ack_sent: false };
      state.alerts.push(alert);
    }
    if (fields.alert_id != null) alert.alert_id = fields.alert_id;
    if (fields.number != null) alert.number = fields.number;
    if (fields.name) alert.name = fields.name;
    const tile = tiles.get(fields.track_id);
    if (tile) {
      if (alert.number == null) alert.number = tile.number;
      if (!alert.name) alert.name = tile.name;
    }
    renderAlert();
  }

  function renderAlert() {
    const open = state.alerts.filter((a) => !a.acknowledged);
    const alert = open[0] || null;
    state.alertShown = alert ? alert.key : null;
    $("alert").hidden = !alert;
    document.body.classList.toggle("alerting", !!alert);
    if (!alert) return;
    let who;
    if (alert.name && alert.number != null) who = gt("alert_person", { name: alert.name, n: alert.number });
    else if (alert.number != null) who = gt("alert_seat", { n: alert.number });
    else if (alert.track_id === state.instructorTrackId) who = gt("alert_instructor");
    else who = gt("alert_someone");
    $("alert-who").textContent = who;
    $("alert-help").textContent = alert.cleared ? gt("alert_got_up") : gt("alert_help");
    $("alert").classList.toggle("cleared", alert.cleared);
    $("alert-more").textContent = open.length > 1 ? open.slice(1).map((a) => (a.number != null ? gt("alert_seat", { n: a.number }) : gt("alert_someone"))).join(" · ") : "";
    $("alert-ack").disabled = alert.ack_sent;
  }

  function acknowledgeShown() {
    const alert = state.alerts.find((a) => a.key === state.alertShown);
    if (!alert) return;
    if (alert.alert_id == null) {
      // no records store on this server: nothing to tell it, the screen is the record
      alert.acknowledged = true;
      renderAlert();
      return;
    }
    if (!send({ type: "acknowledge_alert", alert_id: alert.alert_id })) return;
    alert.ack_sent = true;
    renderAlert();
    setTimeout(() => {
      if (!alert.acknowledged) {
        alert.acknowledged = true;
        alert.ack_unconfirmed = true;
        renderAlert();
      }
    }, ACK_FALLBACK_MS);
  }

  function onAlertAcknowledged(m) {
    for (const a of state.alerts) if (a.alert_id === m.alert_id) a.acknowledged = true;
    renderAlert();
  }

  function onFallCleared(m) {
    for (const a of state.alerts) if (a.track_id === m.track_id && !a.acknowledged) a.cleared = true;
    renderAlert();
  }

  // ---------------------------------------------------------------- summary

  function renderSummary(m) {
    const rows = $("summary-rows");
    rows.textContent = "";
    const people = [...(m.participants || [])].sort((a, b) => (a.number ?? 99) - (b.number ?? 99));
    const follow = m.mode === "follow";
    $("summary-measure").textContent = follow ? gt("summary_in_step") : gt("summary_score");
    $("summary-mode").textContent =
      m.exercise && m.exercise.name ? localized(m.exercise.name) : follow ? gt("mode_follow") : gt("mode_same");
    for (const p of people) {
      const tr = document.createElement("tr");
      const measure = follow ? p.in_step_mean : p.session && p.session.mean_score;
      const cells = [
        [String(p.number ?? "–"), "num seat-cell"],
        [p.name || gt("anonymous"), "name"],
        [String(p.reps ?? 0), "num"],
        [fmt(measure), "num"],
      ];
      for (const [text, cls] of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        td.className = cls;
        tr.append(td);
      }
      tr.firstChild.style.setProperty("--person", colorOf(p.track_id));
      rows.append(tr);
    }
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
    colors.clear();
    lastPeople = [];
    state.drawn = [];
    state.tiles = [];
    $("tiles-empty").hidden = false;
    state.instructorTrackId = null;
    $("people-count").textContent = "";
    $("caption").hidden = true;
    $("view-hint").hidden = false;
    drawPeople([]);
    syncTileState();
  }

  function openMessage() {
    const m = { type: "open", v: 1, mode: state.mode, lang: state.lang, elder: state.elder, max_participants: MAX_TILES };
    if (state.mode === "same_exercise") m.exercise = state.exercise;
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
    try {
      await ensureSource();
    } catch (e) {
      return;
    }
    drawPeople(lastPeople); // size the picture to the camera
    wantSession = true;
    sendOpen();
  }

  function sendOpen() {
    if (!wantSession || sessionOpen || !ws || ws.readyState !== WebSocket.OPEN) return;
    send(openMessage());
  }

  function stop() {
    wantSession = false;
    closeCheckin();
    if (sessionOpen && send({ type: "close" })) {
      state.state = "closing";
      sessionOpen = false; // no more frames
      sessionToken++;
      return;
    }
    sessionOpen = false;
    state.state = "setup";
    show("setup");
  }

  function send(message) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    const m = Object.assign({ v: 1 }, message);
    ws.send(JSON.stringify(m));
    state.sent.push(m);
    if (state.sent.length > 100) state.sent.shift();
    return true;
  }

  // ---------------------------------------------------------------- server messages

  function onMessage(m) {
    switch (m.type) {
      case "group_opened":
        sessionOpen = true;
        sessionToken++;
        state.sessionId = m.session_id;
        state.options = m.options;
        if (m.options) options = m.options;
        bones = m.bones || [];
        state.mode = m.mode || state.mode;
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
        raiseAlert(m);
        break;
      case "alert_acknowledged":
        onAlertAcknowledged(m);
        break;
      case "stats":
        state.stats = m;
        break;
      case "group_summary":
        showSummary(m);
        break;
      case "error":
        onError(m);
        break;
      default:
        onEvent(m);
    }
    if (!["group_pose", "stats"].includes(m.type)) {
      state.events.push(m);
      if (state.events.length > 300) state.events.shift();
    }
  }

  function onEvent(m) {
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
        raiseAlert({ track_id: m.track_id });
        break;
      case "fall_cleared":
        onFallCleared(m);
        break;
      default:
        break; // in_step_scored, follow_rep_counted, participant_event: the poses carry the numbers
    }
  }

  function onError(m) {
    state.errors.push(m);
    if (state.errors.length > 50) state.errors.shift();
    const key = "error_" + m.code;
    const text = gt(key) === key ? gt("error_generic") : gt(key);
    if (checkinTrack != null && ["unknown_resident", "unknown_participant", "no_records", "bad_message"].includes(m.code)) {
      $("checkin-status").className = "status error";
      $("checkin-status").textContent = text;
      return;
    }
    if (m.fatal || ["busy", "unknown_exercise"].includes(m.code)) setStatus(gt(key) === key ? "error_generic" : key);
  }

  // ---------------------------------------------------------------- websocket

  function connect() {
    const sock = media.openSocket("/ws/group", kioskToken, onMessage, state.errors);
    ws = sock;
    sock.onopen = () => {
      state.connected = true;
      reconnectDelayMs = 500;
      setStatus(null);
      sendOpen(); // a class that was running goes on in a new server session
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      const everOpened = state.connected;
      state.connected = false;
      sessionOpen = false;
      sessionToken++;
      if (state.state === "closing") {
        state.state = "setup";
        show("setup");
      }
      if (!everOpened && kiosk.kiosk_auth && !kioskToken) state.kioskProblem = "kiosk_token_required";
      setStatus(state.kioskProblem || "connection_lost");
      // the server's session (its track ids) ended with the connection
      if (state.state === "live") resetLive();
      state.reconnects++;
      setTimeout(connect, reconnectDelayMs);
      reconnectDelayMs = Math.min(reconnectDelayMs * 2, 10000);
    };
  }

  // ---------------------------------------------------------------- start-up

  function api(path) {
    const headers = kioskToken ? { Authorization: "Bearer " + kioskToken } : {};
    return fetch(path, { headers });
  }

  async function loadExercises() {
    try {
      const response = await api("/api/kiosk/exercises");
      if (response.ok) return response.json();
    } catch (e) {
      // the built-ins below
    }
    return (await fetch("/api/exercises")).json();
  }

  function bindControls() {
    $("lang-btn").addEventListener("click", () => setLang(state.lang === "en" ? "zh-CN" : "en"));
    $("elder-btn").addEventListener("click", () => setElder(!state.elder));
    $("mute-btn").addEventListener("click", () => setMuted(!state.muted));
    $("elder-check").addEventListener("change", (e) => setElder(e.target.checked));
    for (const b of document.querySelectorAll("[data-mode]")) b.addEventListener("click", () => setMode(b.dataset.mode));
    for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLang(b.dataset.lang));
    $("start-btn").addEventListener("click", start);
    $("stop-btn").addEventListener("click", stop);
    $("again-btn").addEventListener("click", () => {
      state.state = "setup";
      show("setup");
    });
    overlay.addEventListener("click", onViewTap);
    $("checkin-form").addEventListener("submit", submitCheckin);
    $("checkin-cancel").addEventListener("click", closeCheckin);
    $("alert-ack").addEventListener("click", acknowledgeShown);
    window.addEventListener("resize", () => drawPeople(lastPeople));
    video.addEventListener("loadedmetadata", () => drawPeople(lastPeople));
    video.addEventListener("resize", () => drawPeople(lastPeople)); // the camera changed size
    buildKeypad();
  }

  async function init() {
    setLang(params.get("lang") || "en");
    setElder(params.get("elder") !== "0");
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
    setLang(params.get("lang") || kiosk.default_lang || "en");
    setMode(params.get("mode") || "follow");
    if (params.get("exercise")) state.exercise = params.get("exercise");
    renderExercises();
    state.state = "setup";
    show("setup");
    setStatus(null);
    connect();
  }

  bindControls();
  init();
})();
