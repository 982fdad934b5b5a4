// What the kiosk page (kiosk.js) and the group screen (group/group.js) do alike around
// their own screens: the kiosk token on API requests, the exercise catalogue, a
// start-up that waits for the server, the header's language / large-text / voice
// buttons, speech, the status lines, a websocket that reconnects and carries one
// session at a time, the camera (or demo) source that sends that session its frames,
// and the notice that tells staff why there is no camera and what to do.

import { $, el, params } from "./dom.js";
import { addStrings, lang, setLang, t } from "./i18n.js";
import * as media from "./media.js";
import STRINGS from "./strings.js";

addStrings(STRINGS);

// This kiosk's token (stored by the set-up page, /setup), or null.
export const kioskToken = media.kioskToken();

// fetch() with this kiosk's token (Authorization: Bearer) when it has one.
export function api(path, init = {}) {
  const headers = Object.assign({}, init.headers || {});
  if (kioskToken) headers.Authorization = "Bearer " + kioskToken;
  return fetch(path, Object.assign({}, init, { headers }));
}

// The `detail.code` of an API error response, or null.
export async function errorCode(response) {
  try {
    const body = await response.json();
    return (body.detail && body.detail.code) || null;
  } catch (e) {
    return null;
  }
}

// What a page starts with: the server's kiosk defaults (GET /api/kiosk) and the
// exercises this kiosk may open: its centre's with a token, else the built-ins.
// `problem` names a refused token ("kiosk_token_required" | "bad_kiosk_token").
export async function loadCatalogue() {
  const kiosk = await (await fetch("/api/kiosk")).json();
  let problem = null;
  try {
    const response = await api("/api/kiosk/exercises");
    if (response.ok) return { kiosk, exercises: await response.json(), problem };
    if (response.status === 401) problem = (await errorCode(response)) || "bad_kiosk_token";
  } catch (e) {
    // the built-ins below
  }
  return { kiosk, exercises: await (await fetch("/api/exercises")).json(), problem };
}

// The page's common controls and lines over its test hook `state` (lang, elder,
// muted, spoken, speechErrors, errors): `o.render()` redraws the page's own text after
// a change, `o.statusIds` are its status lines, `o.speech` {keep, rate()} how it
// speaks.
export class Station {
  constructor(state, o) {
    this.state = state;
    this.o = o;
  }

  // #lang-btn, #elder-btn and #mute-btn switch the language, large text and voice.
  bindControls() {
    $("lang-btn").addEventListener("click", () => this.setLang(this.state.lang === "en" ? "zh-CN" : "en"));
    $("elder-btn").addEventListener("click", () => this.setElder(!this.state.elder));
    $("mute-btn").addEventListener("click", () => this.setMuted(!this.state.muted));
  }

  renderControls() {
    const s = this.state;
    $("lang-btn").textContent = t("lang_switch");
    $("lang-btn").setAttribute("aria-label", t("lang_switch_label"));
    $("elder-btn").textContent = s.elder ? t("elder_on") : t("elder_off");
    $("elder-btn").setAttribute("aria-pressed", String(s.elder));
    $("mute-btn").textContent = s.muted ? t("unmute") : t("mute");
    $("mute-btn").setAttribute("aria-pressed", String(s.muted));
  }

  setLang(code) {
    this.state.lang = setLang(code);
    this.o.render();
  }

  setElder(on) {
    this.state.elder = !!on;
    document.body.classList.toggle("elder", this.state.elder);
    this.o.render();
  }

  setMuted(on) {
    this.state.muted = !!on;
    if (this.state.muted) media.hush();
    this.o.render();
  }

  // Every status line of the page says t(key, params); null clears them.
  setStatus(key, params) {
    const text = key ? t(key, params) : "";
    for (const id of this.o.statusIds) $(id).textContent = text;
    return text;
  }

  // Says `text` in the page's language unless muted (see media.speak); `interrupt`
  // cuts off what is being said.
  speak(text, { interrupt = false } = {}) {
    const s = this.state;
    media.speak(text, {
      spoken: s.spoken,
      keep: this.o.speech.keep,
      muted: s.muted,
      lang: lang(),
      rate: this.o.speech.rate(),
      interrupt,
      failed: (reason) => {
        s.speechErrors = (s.speechErrors || 0) + 1;
        s.lastSpeechError = reason;
      },
    });
  }

  // Runs load() until the server answers, saying "loading" and then, every 2 s while
  // it is still starting, "server_starting"; then ready(what load returned).
  async startUp(load, ready) {
    this.setStatus("loading");
    let loaded;
    try {
      loaded = await load();
    } catch (e) {
      this.state.errors.push({ code: "client", detail: String(e) });
      this.setStatus("server_starting");
      setTimeout(() => this.startUp(load, ready), 2000);
      return;
    }
    ready(loaded);
  }
}

// The page's websocket to `path`, with this kiosk's token: it reconnects with a
// growing delay (0.5 s, doubling up to o.maxDelayMs) and carries one session at a
// time. `state` (the test hook) gets connected, reconnects, sent (the newest 100 text
// messages), stats (the latest) and errors (the newest 50). `o`: onMessage(m) (all but
// stats and errors), onError(m); onConnecting(), onOpen() and
// onClose({everOpened, hadSession}) (after the session was dropped).
export class Link {
  constructor(path, state, o) {
    this.path = path;
    this.state = state;
    this.o = o;
    this.ws = null;
    this.delayMs = 500;
    this.sessionOpen = false; // frames flow while the server's session is open
    this.scanning = false; // ... or while it looks for a member card (kiosk page)
    this.session = 0; // changes whenever a session opens or ends (see media.frameSender)
  }

  connect() {
    const sock = media.openSocket(this.path, kioskToken, (m) => this.receive(m), this.state.errors);
    this.ws = sock;
    if (this.o.onConnecting) this.o.onConnecting();
    sock.onopen = () => {
      this.state.connected = true;
      this.delayMs = 500;
      if (this.scanning) this.send({ type: "scan" }); // a new socket looks again
      this.o.onOpen();
    };
    sock.onclose = () => {
      if (this.ws !== sock) return;
      const everOpened = this.state.connected;
      const hadSession = this.sessionOpen;
      this.state.connected = false;
      this.ended();
      this.o.onClose({ everOpened, hadSession });
      this.state.reconnects = (this.state.reconnects || 0) + 1;
      setTimeout(() => this.connect(), this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, this.o.maxDelayMs);
    };
  }

  receive(m) {
    if (m.type === "stats") {
      this.state.stats = m;
    } else if (m.type === "error") {
      this.state.errors.push(m);
      if (this.state.errors.length > 50) this.state.errors.shift();
      this.o.onError(m);
    } else {
      this.o.onMessage(m);
    }
  }

  get up() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  // Sends a text message (version 1 unless it says otherwise); false when the socket
  // is down.
  send(message) {
    if (!this.up) return false;
    const m = Object.assign({ v: 1 }, message);
    this.ws.send(JSON.stringify(m));
    this.state.sent.push(m);
    if (this.state.sent.length > 100) this.state.sent.shift();
    return true;
  }

  // The server opened a session: frames may flow (and it stopped scanning).
  opened() {
    this.sessionOpen = true;
    this.scanning = false;
    this.session++;
  }

  // Frames flow to the server's member-card scanner (docs/protocol.md, `scan`) until
  // stopScan() or a card checks someone in (the server stops, then scanDone()).
  startScan() {
    this.scanning = true;
    this.session++;
    this.send({ type: "scan" });
  }

  stopScan() {
    if (!this.scanning) return;
    this.scanDone();
    this.send({ type: "scan", on: false });
  }

  scanDone() {
    this.scanning = false;
    this.session++;
  }

  // The session is closing or gone: no more frames for it.
  ended() {
    this.sessionOpen = false;
    this.session++;
  }

  // The socket to send frames on, null while no session is open and no card is
  // looked for.
  frameSocket() {
    return (this.sessionOpen || this.scanning) && this.up ? this.ws : null;
  }
}

// The page's camera (or, without one, demo) source, sending `link`'s open session its
// frames. Returns start(): true once the picture plays; false, with the reason on the
// status lines, when there is neither camera nor demo. `o`: demo(), maxFps,
// sendWidth(), chosen() (see media.videoSource).
export function cameraSource(video, station, link, o) {
  const state = station.state;
  const ensure = media.videoSource(video, state, {
    demo: o.demo,
    wantDemo: wantsDemo(),
    status: (key) => station.setStatus(key),
    chosen: o.chosen,
    maxFps: o.maxFps,
    sendWidth: o.sendWidth,
    onSent: o.onSent,
    socket: () => link.frameSocket(),
    session: () => link.session,
  });
  return async () => {
    try {
      await ensure();
      return true;
    } catch (e) {
      if (state.cameraProblem === "insecure_context") station.setStatus("camera_insecure_context", { origin: location.origin });
      else if (state.cameraProblem === "no_camera_api") station.setStatus("camera_no_api");
      else station.setStatus("camera_error");
      return false;
    }
  };
}

function wantsDemo() {
  return params.get("source") === "demo";
}

// Fills `box` with why this page will get no camera and what staff can do about it
// (in the page's language), or hides it when the camera can be asked for (or the page
// was asked for the demo). Returns the problem (see media.cameraProblem).
export function renderCameraNotice(box, demoAvailable) {
  const problem = wantsDemo() ? null : media.cameraProblem();
  box.hidden = !problem;
  if (!problem) {
    box.replaceChildren();
    return null;
  }
  const insecure = problem === "insecure_context";
  const lines = [
    el("strong", { class: "notice-why", text: insecure ? t("camera_insecure_context", { origin: location.origin }) : t("camera_no_api") }),
    el("span", { class: "notice-fix", text: insecure ? t("camera_insecure_fix") : t("camera_no_api_fix") }),
  ];
  if (demoAvailable) lines.push(el("span", { class: "notice-demo", text: t("camera_demo_instead") }));
  box.replaceChildren(...lines);
  return problem;
}
