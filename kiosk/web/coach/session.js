// One session's view (#/sessions/ID): the recorded skeleton replayed in step with a
// rep/cue timeline and the angle curves drawn against the template's reference band,
// the reps and cues (a rep's row seeks the replay to it), notes and exports; for a
// programme session (a routine, a posture screen, paced breathing) its result
// (coach/programmes.js) in place of the reps and curves.
// ?autoplay=1 starts the replay.

import * as Charts from "./charts.js";
import { el, params } from "../shared/dom.js";
import { fmtScore, localized, t } from "../shared/i18n.js";
import { MIN_VISIBILITY } from "../shared/skeleton.js";
import { programmeSection } from "./programmes.js";
import { api, channelName, dateTime, exerciseName, exportButtons, notesSection, onLeave, scoreClass, scoreColor, section, setView, state, table, viewData } from "./common.js";

function replayBox(lm) {
  let x0 = 1, y0 = 1, x1 = 0, y1 = 0;
  for (let f = 0; f < lm.xy.length; f++) {
    const row = lm.xy[f];
    for (let j = 0; j < row.length; j += 2) {
      const x = row[j];
      const y = row[j + 1];
      if (x === null || y === null || (lm.visibility[f][j / 2] ?? 0) < MIN_VISIBILITY) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  if (x1 <= x0 || y1 <= y0) return { x0: 0, y0: 0, x1: 1, y1: 1 };
  const px = (x1 - x0) * 0.08;
  const py = (y1 - y0) * 0.08;
  return { x0: x0 - px, y0: y0 - py, x1: x1 + px, y1: y1 + py };
}

export async function renderSession(id) {
  state.page = "session";
  state.curvesDrawn = 0;
  state.replay = null;
  state.timelineDrawn = false;
  const body = await viewData("/api/sessions/" + id + "?max_frames=3000");
  if (!body) return;
  const s = body.session;
  const lm = body.landmarks || { frames: 0, timestamp_ms: [], xy: [], visibility: [], bones: [] };
  const curves = body.curves;
  const reps = body.reps;
  const cues = body.cues;
  const times = [...lm.timestamp_ms, ...(curves ? curves.timestamp_ms : []), ...reps.map((r) => r.timestamp_ms), ...cues.map((c) => c.timestamp_ms)];
  const t0 = times.length ? Math.min(...times, ...reps.map((r) => r.timestamp_ms - r.duration_ms)) : 0;
  const t1 = times.length ? Math.max(...times) : 1;
  const sec = (ms) => (ms - t0) / 1000;
  const xRange = { min: 0, max: Math.max(1, sec(t1)), format: (v) => v + " s" };
  const header = el(
    "section",
    { class: "card" },
    el("h2", { id: "session-title", text: exerciseName(s.exercise_id) + " · " + dateTime(s.started_at) }),
    el(
      "p",
      {},
      body.resident ? el("a", { href: "#/residents/" + body.resident.id, text: body.resident.display_name }) : el("span", { class: "muted", text: t("anonymous") }),
      body.programme ? " · " + t("status_" + s.status) : " · " + t("reps") + ": " + reps.length + " · " + t("mean_score") + ": " + fmtScore(s.mean_score) + " · " + t("status_" + s.status),
    ),
    exportButtons("/api/exports/sessions/" + id, !!body.programme),
  );
  // replay
  const replayCanvas = el("canvas", { id: "replay", class: "replay" });
  const playBtn = el("button", { type: "button", id: "play-btn", class: "primary", text: t("play") });
  const scrub = el("input", { type: "range", id: "scrub", min: 0, max: Math.max(0, lm.frames - 1), value: 0, step: 1 });
  const clock = el("span", { id: "replay-time", class: "muted" });
  const timeline = el("canvas", { id: "timeline", class: "timeline" });
  const replayCard = section(
    "replay_title",
    lm.frames ? null : el("p", { class: "muted", text: t("no_recording") }),
    replayCanvas,
    el("div", { class: "replay-controls" }, playBtn, scrub, clock),
    el("h3", { text: t("timeline_title") }),
    timeline,
    el("p", { class: "legend muted" }, el("span", { class: "swatch score-good" }), t("legend_rep"), " ", el("span", { class: "swatch cue" }), t("legend_cue")),
  );
  // curves
  const band = body.reference_band && body.reference_band.reference;
  const channels = curves ? Object.keys(curves.channels).filter((c) => !band || c in band.channels || curves.channels[c].some((v) => v !== null)) : [];
  const shown = band ? channels.filter((c) => c in band.channels) : channels;
  const curveCanvases = {};
  const curvesCard = section(
    "curves_title",
    el("p", { class: "muted", text: band ? t("curves_explain") : t("curves_no_band") }),
    shown.length
      ? shown.map((c) => {
          curveCanvases[c] = el("canvas", { class: "chart curve", "data-channel": c });
          return el("figure", { class: "wide" }, el("figcaption", { text: channelName(c) + (band && band.channels[c] ? " (± " + band.channels[c].tolerance + ")" : "") }), curveCanvases[c]);
        })
      : el("p", { class: "muted", text: t("no_curves") }),
  );
  // reps and cues
  const repsCard = section(
    "reps_title",
    table(
      "reps-table",
      ["rep_number", "rep_time", "score", "rep_duration", "rom", "cues"],
      reps.map((r) =>
        el(
          "tr",
          { class: "rep-row", onclick: () => seekMs(r.timestamp_ms - r.duration_ms) },
          el("td", { text: String(r.count) }),
          el("td", { text: sec(r.timestamp_ms).toFixed(1) + " s" }),
          el("td", { class: scoreClass(r.score), text: fmtScore(r.score) }),
          el("td", { text: (r.duration_ms / 1000).toFixed(1) + " s" }),
          el("td", { text: Object.entries(r.range_of_motion_deg || {}).map(([k, v]) => channelName(k) + " " + Math.round(v) + "°").join(", ") || "–" }),
          el("td", { text: (r.cue_ids || []).join(", ") || "–" }),
        ),
      ),
    ),
    cues.length
      ? el(
          "ul",
          { class: "cue-list" },
          cues.map((c) => el("li", {}, el("span", { class: "muted", text: sec(c.timestamp_ms).toFixed(1) + " s · " }), localized(c.message) || c.cue_id)),
        )
      : el("p", { class: "muted", text: t("no_cues") }),
  );
  const notesCard = notesSection(body.notes, (text) => api("/api/sessions/" + id + "/notes", { method: "POST", json: { text } }));
  const programme = programmeSection(body.programme);
  setView(
    body.resident ? el("p", {}, el("a", { href: "#/residents/" + body.resident.id, text: "← " + body.resident.display_name })) : el("p", {}, el("a", { href: "#/residents", text: "← " + t("nav_residents") })),
    header,
    programme,
    replayCard,
    programme ? null : curvesCard,
    programme ? null : repsCard,
    notesCard,
  );

  // --- drawing, in step with the replay clock
  const box = replayBox(lm);
  const replay = (state.replay = { frame: 0, frames: lm.frames, playing: false, bonesDrawn: 0, advanced: 0 });
  const nowMs = () => (lm.frames ? lm.timestamp_ms[replay.frame] : t0);

  const drawTimeline = (playhead) => {
    const { g, w, h } = Charts.setup(timeline, 64);
    const l = 48, r = 12;
    const xs = (ms) => l + ((ms - t0) / (t1 - t0 || 1)) * (w - l - r);
    g.fillStyle = "#eef2f5";
    g.fillRect(l, 6, w - l - r, 30);
    g.font = '11px "Noto Sans", "Noto Sans CJK SC", sans-serif';
    for (const rep of reps) {
      const a = xs(rep.timestamp_ms - rep.duration_ms);
      const b = xs(rep.timestamp_ms);
      g.fillStyle = scoreColor(rep.score);
      g.fillRect(a, 8, Math.max(2, b - a), 26);
      g.fillStyle = "#fff";
      g.textAlign = "center";
      g.textBaseline = "middle";
      if (b - a > 18) g.fillText(fmtScore(rep.score), (a + b) / 2, 21);
    }
    g.fillStyle = "#c0392b";
    for (const cue of cues) {
      const x = xs(cue.timestamp_ms);
      g.beginPath();
      g.moveTo(x, 38);
      g.lineTo(x - 5, 48);
      g.lineTo(x + 5, 48);
      g.closePath();
      g.fill();
    }
    g.fillStyle = "#5b6b78";
    g.textAlign = "left";
    g.fillText(t("reps"), 2, 21);
    g.fillText(t("cues"), 2, 44);
    if (playhead !== null) {
      g.strokeStyle = "#222";
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(xs(playhead), 2);
      g.lineTo(xs(playhead), h - 4);
      g.stroke();
    }
    state.timelineDrawn = true;
    return (px) => t0 + ((px - l) / (w - l - r)) * (t1 - t0);
  };

  const drawCurves = (playhead) => {
    for (const c of shown) {
      const values = curves.channels[c];
      const points = curves.timestamp_ms.map((ms, i) => [sec(ms), values[i]]);
      const bands = [];
      const means = [];
      const ch = band ? band.channels[c] : null;
      if (ch) {
        // The engine cuts a rep where it crosses the phase thresholds; the reference
        // crosses them at span[0] and span[1] (normalised time), so that part of the
        // reference lies on the rep's recorded time and the rest around it.
        const span = (s.elder_mode ? band.elder_span : band.span) || [0, 1];
        const width = Math.max(1e-3, span[1] - span[0]);
        for (const rep of reps) {
          const start = rep.timestamp_ms - rep.duration_ms;
          const at = (u) => sec(start + ((u - span[0]) / width) * rep.duration_ms);
          bands.push({ points: band.t.map((u, i) => [at(u), ch.lower[i], ch.upper[i]]), color: "rgba(44, 160, 44, 0.20)" });
          means.push({ points: band.t.map((u, i) => [at(u), ch.mean[i]]), color: "#2ca02c", width: 1.5, dash: [5, 4] });
        }
      }
      const all = [...values, ...(ch ? [...ch.lower, ...ch.upper] : [])];
      const [lo, hi] = Charts.extent(all, 0.08);
      const result = Charts.line(curveCanvases[c], {
        height: 190,
        x: xRange,
        y: { min: lo, max: hi, format: (v) => Math.round(v) + "" },
        bands,
        series: [
          ...means.map((m, i) => (i === 0 ? Object.assign({ label: t("legend_reference") }, m) : m)),
          { points, color: Charts.COLORS[0], width: 2, label: t("legend_recorded") },
        ],
        legendExtra: ch ? [{ label: t("legend_band"), color: "rgba(44, 160, 44, 0.45)" }] : [],
        playhead: playhead === null ? null : sec(playhead),
        empty: t("no_data"),
      });
      if (result.drawnSeries) state.curvesDrawn = Math.max(state.curvesDrawn, shown.indexOf(c) + 1);
    }
  };

  let timelineFromPx = null;
  const drawAll = () => {
    const ms = nowMs();
    if (lm.frames) {
      const frame = { xy: lm.xy[replay.frame], visibility: lm.visibility[replay.frame] };
      replay.bonesDrawn = Charts.skeleton(replayCanvas, frame, lm.bones, box, { height: 340, caption: sec(ms).toFixed(1) + " s" });
    } else {
      Charts.skeleton(replayCanvas, null, [], box, { height: 120 });
    }
    scrub.value = String(replay.frame);
    clock.textContent = sec(ms).toFixed(1) + " / " + sec(t1).toFixed(1) + " s";
    timelineFromPx = drawTimeline(lm.frames ? ms : null);
    if (curves) drawCurves(lm.frames ? ms : null);
  };

  function seekMs(ms) {
    if (!lm.frames) return;
    let best = 0;
    for (let i = 0; i < lm.frames; i++) if (lm.timestamp_ms[i] <= ms) best = i;
    replay.frame = best;
    drawAll();
  }

  let raf = null;
  let lastWall = null;
  let clockMs = null;
  const tick = (wall) => {
    if (!replay.playing) return;
    if (lastWall === null) {
      lastWall = wall;
      clockMs = nowMs();
    }
    clockMs += wall - lastWall;
    lastWall = wall;
    let f = replay.frame;
    while (f + 1 < lm.frames && lm.timestamp_ms[f + 1] <= clockMs) f++;
    if (f !== replay.frame) {
      replay.frame = f;
      replay.advanced++;
      drawAll();
    }
    if (f >= lm.frames - 1) {
      setPlaying(false);
      return;
    }
    raf = requestAnimationFrame(tick);
  };
  function setPlaying(on) {
    replay.playing = on && lm.frames > 1;
    playBtn.textContent = replay.playing ? t("pause") : t("play");
    if (replay.playing) {
      if (replay.frame >= lm.frames - 1) replay.frame = 0;
      lastWall = null;
      raf = requestAnimationFrame(tick);
    } else if (raf) {
      cancelAnimationFrame(raf);
      raf = null;
    }
  }
  playBtn.addEventListener("click", () => setPlaying(!replay.playing));
  scrub.addEventListener("input", () => {
    replay.frame = Number(scrub.value);
    lastWall = null;
    drawAll();
  });
  timeline.addEventListener("click", (e) => timelineFromPx && seekMs(timelineFromPx(e.offsetX)));
  const onResize = () => drawAll();
  window.addEventListener("resize", onResize);
  onLeave(() => {
    setPlaying(false);
    window.removeEventListener("resize", onResize);
  });
  window.coach.play = () => setPlaying(true);
  window.coach.seek = (seconds) => seekMs(t0 + seconds * 1000);
  drawAll();
  if (params.get("autoplay") === "1") setPlaying(true);
}
