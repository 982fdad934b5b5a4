// The group screen's picture: the camera (or demo) scaled to fit its pane with the
// aspect kept, and over exactly that picture everyone's skeleton in their own colour
// (the instructor white and on top, people beyond the tiles grey), their seat number
// above the head and a red box around anyone who fell. A tap on a person picks them.

import { $ } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { clearOverlay, fillJoints, landmarkAt, strokeBones } from "../shared/skeleton.js";

// Bright, distinct colours, readable on the camera image from a distance.
const PALETTE = ["#ff6b6b", "#4dabf7", "#ffd43b", "#69db7c", "#da77f2", "#ff922b", "#3bc9db", "#f783ac", "#a9e34b", "#9775fa"];
const INSTRUCTOR_COLOR = "#ffffff";
const EXTRA_COLOR = "rgba(200, 200, 200, 0.55)";
const NOSE = 0;
const TAP_PAD_PX = 30;

// Over the test hook `state` (drawn, picture, posesDrawn, elder): `video` and its
// overlay `canvas`, inside #picture inside #stage.
export class Overlay {
  constructor(state, video, canvas) {
    this.state = state;
    this.video = video;
    this.canvas = canvas;
    this.mirror = false; // the camera is shown mirrored (like a dance studio's)
    this.bones = []; // [[a, b]] joint pairs, from the server's group_opened
    this.colors = new Map(); // track id -> colour, stable for the session
  }

  // A track's colour: the least used one among the ids seen so far (neighbours differ).
  colorOf(trackId) {
    if (!this.colors.has(trackId)) {
      const used = new Map(PALETTE.map((c) => [c, 0]));
      for (const c of this.colors.values()) used.set(c, used.get(c) + 1);
      let best = PALETTE[0];
      for (const c of PALETTE) if (used.get(c) < used.get(best)) best = c;
      this.colors.set(trackId, best);
    }
    return this.colors.get(trackId);
  }

  personColor(p) {
    if (p.role === "instructor") return INSTRUCTOR_COLOR;
    if (p.role === "extra") return EXTRA_COLOR;
    return this.colorOf(p.track_id);
  }

  // #picture is sized to the video's aspect, as large as the stage allows (no bars,
  // no distortion), so the <video> and the overlay cover exactly the same pixels; a
  // mirrored video flips about the picture's centre, as the overlay's x does.
  fitPicture() {
    const stage = $("stage");
    const sw = stage.clientWidth;
    const sh = stage.clientHeight;
    const vw = this.video.videoWidth;
    const vh = this.video.videoHeight;
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

  pictureState() {
    const r = this.canvas.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height, mirror: this.mirror, video_wh: [this.video.videoWidth, this.video.videoHeight] };
  }

  draw(people) {
    this.fitPicture();
    const g = clearOverlay(this.canvas);
    const r = { x: 0, y: 0, w: this.canvas.clientWidth, h: this.canvas.clientHeight };
    const drawn = [];
    const thick = this.state.elder ? 7 : 5;
    // the instructor last, on top
    const order = [...people].sort((a, b) => (a.role === "instructor") - (b.role === "instructor"));
    for (const p of order) {
      const at = (j) => landmarkAt(p, j, r, this.mirror);
      const color = this.personColor(p);
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
      const nBones = strokeBones(g, this.bones, at);
      g.fillStyle = color;
      fillJoints(g, pts, thick * 0.7);
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
    this.state.drawn = drawn;
    this.state.picture = this.pictureState();
    if (drawn.length) this.state.posesDrawn++;
  }

  // The person drawn under a tap (inside their skeleton's box, nearest centre wins), or null.
  personAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    let best = null;
    let bestD = Infinity;
    for (const d of this.state.drawn) {
      const [x0, y0, x1, y1] = d.box;
      if (x < x0 - TAP_PAD_PX || x > x1 + TAP_PAD_PX || y < y0 - TAP_PAD_PX || y > y1 + TAP_PAD_PX) continue;
      const dist = Math.hypot(x - (x0 + x1) / 2, y - (y0 + y1) / 2);
      if (dist < bestD) {
        bestD = dist;
        best = d;
      }
    }
    return best;
  }
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
    const text = "★ " + t("instructor");
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
