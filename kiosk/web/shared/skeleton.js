// Skeletons on a canvas, for every page that draws one: the kiosk page and the group
// screen over their camera picture (a canvas at the device's pixel ratio, landmarks
// normalized to the picture placed on the displayed picture, mirrored or not), the
// coach pages' replay (coach/charts.js) on its own.

// Landmarks seen less well than this are not drawn.
export const MIN_VISIBILITY = 0.5;

// Sizes the canvas to its CSS box at the device's pixel ratio and clears it; the
// context it returns draws in CSS px.
export function clearOverlay(canvas) {
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
export function containRect(canvas, video) {
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
export function landmarkAt(pose, j, rect, mirror) {
  const q = pose.xy && pose.xy[j];
  if (!q || !(pose.visibility[j] >= MIN_VISIBILITY)) return null;
  const x = mirror ? 1 - q[0] : q[0];
  return [rect.x + x * rect.w, rect.y + q[1] * rect.h];
}

// Strokes each bone [a, b] whose two ends at(j) places; returns how many it drew.
export function strokeBones(g, bones, at) {
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

export function fillJoints(g, points, radius) {
  for (const p of points) {
    g.beginPath();
    g.arc(p[0], p[1], radius, 0, 2 * Math.PI);
    g.fill();
  }
}
