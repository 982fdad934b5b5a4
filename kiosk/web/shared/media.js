// MoveCoach pages' shared camera side: what the kiosk page (kiosk.js) and the group
// screen (group/group.js) do alike (the skeleton they draw is in skeleton.js).
//
// - the picture source: the camera (getUserMedia) or, without one, the server's demo
//   video played in the same <video>; cameraProblem() says why a page gets no camera
//   (browsers offer it only to secure contexts: HTTPS, or localhost);
// - frames: scaled to the server's send_width, JPEG-encoded and sent on the websocket
//   with the 12-byte header (docs/protocol.md), paced and never queued;
// - speech: a voice for the language, utterances that never block;
// - the kiosk token (set-up page, localStorage) and the websocket URL.

const TOKEN_KEY = "movecoach.kioskToken";
const MAX_BUFFERED_BYTES = 512 * 1024; // skip frames while the socket is backed up

// ---------------------------------------------------------------- kiosk token, websocket

export function kioskToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || null;
  } catch (e) {
    return null;
  }
}

// Keeps `token` in this browser for the kiosk pages (the set-up page); null forgets it.
export function storeKioskToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

// A websocket to `path` on this server (?token= when the kiosk has one), binary frames
// as ArrayBuffer; each JSON text message goes to onMessage, a bad one into `errors`.
export function openSocket(path, token, onMessage, errors) {
  let url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  if (token) url += "?token=" + encodeURIComponent(token);
  const sock = new WebSocket(url);
  sock.binaryType = "arraybuffer";
  sock.onmessage = (e) => {
    if (typeof e.data !== "string") return;
    try {
      onMessage(JSON.parse(e.data));
    } catch (err) {
      errors.push({ code: "client", detail: String(err) });
    }
  };
  return sock;
}

// ---------------------------------------------------------------- source (camera or demo)

// Why a page gets no camera, known before asking for one: "insecure_context" (served
// over plain HTTP under a name other than localhost: browsers offer cameras only to
// secure contexts, HTTPS or this computer's own pages), "no_camera_api" (a secure
// page in a browser without navigator.mediaDevices), or null.
export function cameraProblem() {
  if (!window.isSecureContext) return "insecure_context";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "no_camera_api";
  return null;
}

// The page's picture source, its frames sent on the websocket once it plays (see
// frameSender). Returns ensureSource(): the first call opens the source, later ones
// get the same promise (a failed one rejects and is tried again on the next call).
// `state` (the page's test hook) gets source ("camera" | "demo"), cameraProblem (see
// above), cameraError and framesSent. `o`: demo() (the server's {available, url}),
// wantDemo (skip the camera), status(key | null) (the page's status line), chosen()
// (before playback: mirror, badges), and frameSender's.
export function videoSource(video, state, o) {
  const frames = frameSender(video, state, o);
  let ready = null;

  async function open() {
    o.status("camera_starting");
    state.cameraProblem = o.wantDemo ? null : cameraProblem();
    if (state.cameraProblem) state.cameraError = state.cameraProblem;
    else if (!o.wantDemo) {
      try {
        video.srcObject = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 1280 }, height: { ideal: 720 } },
          audio: false,
        });
        state.source = "camera";
      } catch (e) {
        state.cameraError = String(e);
      }
    }
    const demo = o.demo();
    if (!state.source && demo && demo.available) {
      video.srcObject = null;
      video.src = demo.url;
      video.loop = true;
      state.source = "demo";
    }
    if (!state.source) {
      ready = null;
      throw new Error(state.cameraError || "no camera and no demo video");
    }
  o.chosen();
    await video.play().catch(() => {});
    if (!video.videoWidth) await new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
    o.status(null);
    frames.start();
  }

  return () => {
    if (!ready) ready = open();
    return ready;
  };
}

// ---------------------------------------------------------------- frames

// 12-byte header (docs/protocol.md): "MC", version 1, flags 0, uint64 LE timestamp_ms.
function frameMessage(ts, jpeg) {
  const msg = new Uint8Array(12 + jpeg.byteLength);
  msg.set([0x4d, 0x43, 1, 0]);
  new DataView(msg.buffer).setBigUint64(4, BigInt(ts), true);
  msg.set(jpeg, 12);
  return msg;
}

// Sends the video's frames, at most o.maxFps (a number, or a function giving the rate
// now), from start() on. `o`: socket() (the open
// websocket while a session is open, else null), session() (a number that changes
// whenever a session opens or ends: a frame encoded for one is not sent in the next),
// sendWidth() (px), optionally onSent(ts, canvas) (called with the picture as sent, its
// timestamp, before the next frame is drawn: the group screen keeps it to draw the pose
// on the picture it was computed from). One frame is encoded at a time; while the
// socket is backed up frames are skipped. Counts state.framesSent.
function frameSender(video, state, o) {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  let encoding = false;
  let lastTs = 0;
  let lastSentAt = -Infinity;

  function schedule() {
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onVideoFrame);
    else requestAnimationFrame(onVideoFrame);
  }

  function onVideoFrame() {
    maybeSend();
    schedule();
  }

  function maybeSend() {
    const sock = o.socket();
    if (!sock || encoding) return;
    if (sock.bufferedAmount > MAX_BUFFERED_BYTES || !video.videoWidth) return;
    const now = performance.now();
    const fps = typeof o.maxFps === "function" ? o.maxFps() : o.maxFps;
    if (now - lastSentAt < 1000 / fps - 3) return;
    lastSentAt = now;
    // Capture time on the page's monotonic clock; strictly increasing as the server requires.
    const ts = Math.max(lastTs + 1, Math.round(now));
    lastTs = ts;
    const w = Math.min(o.sendWidth(), video.videoWidth);
    const h = Math.round((video.videoHeight * w) / video.videoWidth);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.drawImage(video, 0, 0, w, h);
    if (o.onSent) o.onSent(ts, canvas);
    encoding = true;
    const session = o.session();
    const live = () => session === o.session() && o.socket() === sock;
    canvas.toBlob(
      async (blob) => {
        try {
          if (!blob || !live()) return;
          const jpeg = new Uint8Array(await blob.arrayBuffer());
          if (!live()) return;
          sock.send(frameMessage(ts, jpeg));
          state.framesSent++;
        } finally {
          encoding = false;
        }
      },
      "image/jpeg",
      0.8,
    );
  }

  return { start: schedule };
}

// ---------------------------------------------------------------- voice

function pickVoice(lang) {
  if (!("speechSynthesis" in window)) return null;
  const voices = speechSynthesis.getVoices() || [];
  const base = lang.split("-")[0];
  return voices.find((v) => v.lang === lang) || voices.find((v) => v.lang && v.lang.startsWith(base)) || null;
}

// Notes `text` in `o.spoken` (the newest o.keep), then says it in o.lang at o.rate
// unless o.muted; o.interrupt cuts off what is being said. Headless browsers and some
// screens have no voices: speaking then fails with onerror (never onend), so nothing
// waits for the end of an utterance; failures go to o.failed(reason) when given.
export function speak(text, o) {
  if (!text) return;
  o.spoken.push(text);
  if (o.spoken.length > o.keep) o.spoken.shift();
  if (o.muted || !("speechSynthesis" in window)) return;
  const failed = o.failed || (() => {});
  try {
    const u = new SpeechSynthesisUtterance(text);
    u.lang = o.lang;
    u.rate = o.rate;
    const voice = pickVoice(o.lang);
    if (voice) u.voice = voice;
    u.onerror = (e) => failed(e.error || "error");
    if (o.interrupt) speechSynthesis.cancel();
    speechSynthesis.speak(u);
  } catch (e) {
    failed(String(e));
  }
}

export function hush() {
  if ("speechSynthesis" in window) speechSynthesis.cancel();
}

