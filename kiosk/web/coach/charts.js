// Small canvas charts for the coach pages (no library, no network): line charts with
// shaded bands, bars, a playhead and a legend; a skeleton drawer for the replay.
// Every function draws on a <canvas> sized by CSS (width) and `height` (CSS px), at the
// device pixel ratio, and returns what the caller needs to map clicks back to data.

import { fillJoints, MIN_VISIBILITY, strokeBones } from "../shared/skeleton.js";

export const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const AXIS = "#5b6b78";
const GRID = "#e3e8ec";
const FONT = '12px "Noto Sans", "Noto Sans CJK SC", system-ui, sans-serif';

// Sizes `canvas` to its CSS width and `height` (CSS px) at the device pixel ratio and
// clears it; returns its context (drawing in CSS px), width and height.
export function setup(canvas, height) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, canvas.clientWidth || canvas.parentElement.clientWidth || 600);
  const h = height || canvas.clientHeight || 220;
  canvas.style.height = h + "px";
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = FONT;
  return { g, w, h };
}

// About n round tick values covering [min, max].
export function niceTicks(min, max, n = 5) {
  if (!(isFinite(min) && isFinite(max))) return [];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, n);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

export function extent(values, pad = 0.05) {
  const finite = values.filter((v) => typeof v === "number" && isFinite(v));
  if (!finite.length) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

// opts: {height, x: {min, max, ticks?, format?, label?}, y: {min, max, format?, label?},
//        series: [{points: [[x, y|null]], color, width, dash, label, dots}],
//        bands: [{points: [[x, lo, hi]], color}], bars: [{x, y, width, color, label}],
//        playhead: x | null, empty: text}
export function line(canvas, opts) {
  const { g, w, h } = setup(canvas, opts.height);
  const m = { l: 48, r: 12, t: opts.legendTop === false ? 10 : 24, b: opts.x.label ? 34 : 22 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const xs = (x) => m.l + ((x - opts.x.min) / (opts.x.max - opts.x.min || 1)) * pw;
  const ys = (y) => m.t + ph - ((y - opts.y.min) / (opts.y.max - opts.y.min || 1)) * ph;
  // grid and axes
  g.strokeStyle = GRID;
  g.fillStyle = AXIS;
  g.lineWidth = 1;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const v of niceTicks(opts.y.min, opts.y.max, 4)) {
    const y = ys(v);
    g.beginPath();
    g.moveTo(m.l, y);
    g.lineTo(m.l + pw, y);
    g.stroke();
    g.fillText(opts.y.format ? opts.y.format(v) : String(v), m.l - 6, y);
  }
  g.textAlign = "center";
  g.textBaseline = "top";
  const xticks = opts.x.ticks || niceTicks(opts.x.min, opts.x.max, Math.max(2, Math.floor(pw / 80)));
  for (const v of xticks) {
    const x = xs(v);
    if (x < m.l - 1 || x > m.l + pw + 1) continue;
    g.fillText(opts.x.format ? opts.x.format(v) : String(v), x, m.t + ph + 5);
  }
  g.strokeStyle = AXIS;
  g.beginPath();
  g.moveTo(m.l, m.t);
  g.lineTo(m.l, m.t + ph);
  g.lineTo(m.l + pw, m.t + ph);
  g.stroke();
  if (opts.x.label) g.fillText(opts.x.label, m.l + pw / 2, h - 15);
  if (opts.y.label) {
    g.save();
    g.textAlign = "left";
    g.textBaseline = "top";
    g.fillText(opts.y.label, 4, 4);
    g.restore();
  }
  g.save();
  g.beginPath();
  g.rect(m.l, m.t, pw, ph);
  g.clip();
  // bands
  for (const band of opts.bands || []) {
    const pts = band.points.filter((p) => isFinite(p[1]) && isFinite(p[2]));
    if (pts.length < 2) continue;
    g.fillStyle = band.color || "rgba(44, 160, 44, 0.18)";
    g.beginPath();
    pts.forEach((p, i) => (i ? g.lineTo(xs(p[0]), ys(p[2])) : g.moveTo(xs(p[0]), ys(p[2]))));
    for (let i = pts.length - 1; i >= 0; i--) g.lineTo(xs(pts[i][0]), ys(pts[i][1]));
    g.closePath();
    g.fill();
  }
  // bars
  for (const bar of opts.bars || []) {
    if (!(typeof bar.y === "number" && isFinite(bar.y))) continue;
    const x0 = xs(bar.x - bar.width / 2);
    const x1 = xs(bar.x + bar.width / 2);
    const y0 = ys(Math.max(opts.y.min, 0));
    g.fillStyle = bar.color || COLORS[0];
    g.fillRect(x0, ys(bar.y), x1 - x0, y0 - ys(bar.y));
  }
  // lines
  let drawnSeries = 0;
  for (const s of opts.series || []) {
    g.strokeStyle = s.color || COLORS[0];
    g.fillStyle = s.color || COLORS[0];
    g.lineWidth = s.width || 2;
    g.setLineDash(s.dash || []);
    g.beginPath();
    let pen = false;
    let drawn = 0;
    for (const [x, y] of s.points) {
      if (!(typeof y === "number" && isFinite(y))) {
        pen = false;
        continue;
      }
      if (pen) g.lineTo(xs(x), ys(y));
      else g.moveTo(xs(x), ys(y));
      pen = true;
      drawn++;
    }
    g.stroke();
    g.setLineDash([]);
    if (s.dots) {
      for (const [x, y] of s.points) {
        if (!(typeof y === "number" && isFinite(y))) continue;
        g.beginPath();
        g.arc(xs(x), ys(y), 3.5, 0, 2 * Math.PI);
        g.fill();
      }
    }
    if (drawn) drawnSeries++;
  }
  if (opts.playhead !== null && opts.playhead !== undefined && isFinite(opts.playhead)) {
    g.strokeStyle = "#222";
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(xs(opts.playhead), m.t);
    g.lineTo(xs(opts.playhead), m.t + ph);
    g.stroke();
  }
  g.restore();
  // legend, right-aligned above the plot
  const entries = [...(opts.series || []), ...(opts.legendExtra || [])].filter((s) => s.label);
  g.textAlign = "left";
  g.textBaseline = "middle";
  const widths = entries.map((s) => 26 + g.measureText(s.label).width);
  let lx = m.l + pw - widths.reduce((a, b) => a + b, 0);
  entries.forEach((s, i) => {
    g.fillStyle = s.color || COLORS[0];
    g.fillRect(lx, 8, 14, 4);
    g.fillStyle = AXIS;
    g.fillText(s.label, lx + 18, 10);
    lx += widths[i];
  });
  if (!drawnSeries && !(opts.bars || []).length && opts.empty) {
    g.fillStyle = AXIS;
    g.textAlign = "center";
    g.fillText(opts.empty, m.l + pw / 2, m.t + ph / 2);
  }
  return {
    drawnSeries,
    xFromPx: (px) => opts.x.min + ((px - m.l) / pw) * (opts.x.max - opts.x.min),
  };
}

// The recorded skeleton of one replay frame, fitted into the canvas.
// frame: {xy: [x0, y0, x1, y1, ...] (null = missing), visibility: [...]};
// box: {x0, y0, x1, y1} in normalised image units (the recording's extent).
export function skeleton(canvas, frame, bones, box, opts = {}) {
  const { g, w, h } = setup(canvas, opts.height || 360);
  g.fillStyle = "#101820";
  g.fillRect(0, 0, w, h);
  if (!frame) return 0;
  const aspect = opts.aspect || 16 / 9; // normalised x is in image widths
  const bw = (box.x1 - box.x0) * aspect;
  const bh = box.y1 - box.y0;
  const scale = Math.min((w * 0.9) / bw, (h * 0.9) / bh);
  const ox = (w - bw * scale) / 2;
  const oy = (h - bh * scale) / 2;
  const at = (j) => {
    const x = frame.xy[2 * j];
    const y = frame.xy[2 * j + 1];
    if (x === null || y === null || (frame.visibility[j] ?? 0) < MIN_VISIBILITY) return null;
    return [ox + (x - box.x0) * aspect * scale, oy + (y - box.y0) * scale];
  };
  g.lineCap = "round";
  g.lineWidth = 5;
  g.strokeStyle = "rgba(64, 224, 160, 0.95)";
  const bonesDrawn = strokeBones(g, bones, at);
  g.fillStyle = "#fff";
  const joints = [];
  for (let j = 0; j < frame.xy.length / 2; j++) {
    const p = at(j);
    if (p) joints.push(p);
  }
  fillJoints(g, joints, 3.5);
  if (opts.caption) {
    g.fillStyle = "#9fb3c2";
    g.textAlign = "left";
    g.textBaseline = "top";
    g.fillText(opts.caption, 8, 8);
  }
  return bonesDrawn;
}
