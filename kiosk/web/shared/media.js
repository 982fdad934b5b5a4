// MoveCoach pages' shared camera side: what the kiosk page (kiosk.js) and the group
// screen (group/group.js) do alike. Plain JS, no build step: loaded before the page's
// own script (/static/shared/media.js) and read as window.MoveCoachMedia.
//
// - the picture source: the camera (getUserMedia) or, without one, the server's demo
//   video played in the same <video>;
// - frames: scaled to the server's send_width, JPEG-encoded and sent on the websocket
//   with the 12-byte header (docs/protocol.md), paced and never queued;
// - the overlay: a canvas at the device's pixel ratio, landmarks (normalized to the
//   picture) placed on the displayed picture, mirrored or not;
// - skeleton strokes (bones, joints), also used by the coach pages' replay (charts.js);
// - speech: a voice for the language, utterances that never block;
// - the kiosk token (set-up page, localStorage), the websocket URL, localized texts.
"use strict";

(() => {
  const TOKEN_KEY = "movecoach.kioskToken";
  const MAX_BUFFERED_BYTES = 512 * 1024; // skip frames while the socket is backed up
  const MIN_VISIBILITY = 0.5;

  // ---------------------------------------------------------------- language

  // A server text ({en, "zh-CN"}) in `lang`, English when it lacks that; a plain string as is.
  function localized(text, lang) {
    if (!text || typeof text !== "object") return text || "";
    return text[lang] || text.en || "";
  }

  // ---------------------------------------------------------------- kiosk token, websocket

  function kioskToken() {
    try {
      return localStorage.getItem(TOKEN_KEY) || null;
    } catch (e) {
      return null;
    }
  }

  // A websocket to `path` on this server (?token= when the kiosk has one), binary frames
  // as ArrayBuffer; each JSON text message goes to onMessage, a bad one into `errors`.
  function openSocket(path, token, onMessage, errors) {
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

  // The page's picture source, its frames sent on the websocket once it plays (see
  // frameSender). Returns ensureSource(): the first call opens the source, later ones
  // get the same promise (a failed one is tried again). `state` (the page's test hook)
  // gets source ("camera" | "demo"), cameraError and framesSent. `o`: demo() (the
  // server's {available, url}), wantDemo (skip the camera), status(key | null) (the
  // page's status line), chosen() (before playback: mirror, badges), and frameSender's.
  function videoSource(video, state, o) {
    const frames = frameSender(video, state, o);
    let ready = null;

    async function open() {
      o.status("camera_starting");
      if (!o.wantDemo && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
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
        o.status("camera_error");
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

  // Sends the video's frames, at most o.maxFps, from start() on. `o`: socket() (the open
  // websocket while a session is open, else null), session() (a number that changes
  // whenever a session opens or ends: a frame encoded for one is not sent in the next),
  // sendWidth() (px). One frame is encoded at a time; while the socket is backed up
  // frames are skipped. Counts state.framesSent.
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
      if (now - lastSentAt < 1000 / o.maxFps - 3) return;
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

  // ---------------------------------------------------------------- overlay

  // Sizes the canvas to its CSS box at the device's pixel ratio and clears it; the
  // context it returns draws in CSS px.
  function clearOverlay(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    if (canvas.width !== Math.round(cw * dpr) || canvas.height !== Math.round(ch * dpr)) {
      canvas.width = Math.round(cw * dpr);
      canvas.height = Math.round(ch * dpr);
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cw, ch);
    return g;
  }

  // Where the picture is in a canvas that covers a <video> shown with object-fit: contain.
  function containRect(canvas, video) {
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    const vw = video.videoWidth || cw;
    const vh = video.videoHeight || ch;
    const scale = Math.min(cw / vw, ch / vh);
    const w = vw * scale;
    const h = vh * scale;
    return { x: (cw - w) / 2, y: (ch - h) / 2, w, h };
  }

  // Landmark j of a pose ({xy, visibility}, normalized to the picture) in canvas px on
  // the picture at `rect` ({x, y, w, h}), flipped left-right when `mirror`; null when
  // it is missing or not seen well enough.
  function landmarkAt(pose, j, rect, mirror) {
    const q = pose.xy && pose.xy[j];
    if (!q || !(pose.visibility[j] >= MIN_VISIBILITY)) return null;
    const x = mirror ? 1 - q[0] : q[0];
    return [rect.x + x * rect.w, rect.y + q[1] * rect.h];
  }

  // Strokes each bone [a, b] whose two ends at(j) places; returns how many it drew.
  function strokeBones(g, bones, at) {
    let drawn = 0;
    for (const [a, b] of bones) {
      const pa = at(a);
      const pb = at(b);
      if (!pa || !pb) continue;
      g.beginPath();
      g.moveTo(pa[0], pa[1]);
      g.lineTo(pb[0], pb[1]);
      g.stroke();
      drawn++;
    }
    return drawn;
  }

  function fillJoints(g, points, radius) {
    for (const p of points) {
      g.beginPath();
      g.arc(p[0], p[1], radius, 0, 2 * Math.PI);
      g.fill();
    }
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
  function speak(text, o) {
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

  function hush() {
    if ("speechSynthesis" in window) speechSynthesis.cancel();
  }

  window.MoveCoachMedia = {
    MIN_VISIBILITY,
    localized,
    kioskToken,
    openSocket,
    videoSource,
    clearOverlay,
    containRect,
    landmarkAt,
    strokeBones,
    fillJoints,
    speak,
    hush,
  };
})();
