// The picture each pose was computed on. The page keeps a copy of every frame it sends
// (its timestamp is the frame's id on the wire) and, when that frame's group_pose comes
// back, draws the copy under the skeletons instead of the live video: when the server
// manages only a few frames a second the picture steps with the poses, and nobody's
// skeleton trails them. Until the first pose (or when its frame was not kept) the live
// video shows.

const KEEP = 12; // frames in flight at most (latest-wins on the server drops the rest)

export class HeldPicture {
  constructor(canvas) {
    this.canvas = canvas;
    this.frames = new Map(); // timestamp_ms -> canvas (a copy of the frame as sent)
    this.spare = [];
    this.mirror = false;
  }

  // Called by the frame sender with the picture as encoded (same size as sent).
  keep(ts, source) {
    const copy = this.spare.pop() || document.createElement("canvas");
    if (copy.width !== source.width || copy.height !== source.height) {
      copy.width = source.width;
      copy.height = source.height;
    }
    copy.getContext("2d").drawImage(source, 0, 0);
    this.frames.set(ts, copy);
    while (this.frames.size > KEEP) this.drop(this.frames.keys().next().value);
  }

  drop(ts) {
    const c = this.frames.get(ts);
    this.frames.delete(ts);
    if (c) this.spare.push(c);
  }

  // Shows the frame with this timestamp; false (live video shown) when it is not kept.
  show(ts) {
    const frame = this.frames.get(ts);
    for (const k of [...this.frames.keys()]) if (k < ts) this.drop(k);
    if (!frame) {
      this.canvas.hidden = true;
      return false;
    }
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.canvas.clientWidth * dpr) || frame.width;
    const h = Math.round(this.canvas.clientHeight * dpr) || frame.height;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.canvas.getContext("2d").drawImage(frame, 0, 0, w, h);
    this.canvas.classList.toggle("mirror", this.mirror);
    this.canvas.hidden = false;
    return true;
  }

  clear() {
    for (const k of [...this.frames.keys()]) this.drop(k);
    this.canvas.hidden = true;
  }
}

// Processed frames per second: group_pose messages over the last few seconds.
export class RateMeter {
  constructor(windowMs = 3000) {
    this.windowMs = windowMs;
    this.times = [];
  }

  tick(now) {
    this.times.push(now);
    while (this.times.length && now - this.times[0] > this.windowMs) this.times.shift();
  }

  // Frames per second, or null before two frames.
  rate(now) {
    while (this.times.length && now - this.times[0] > this.windowMs) this.times.shift();
    if (this.times.length < 2) return null;
    const span = Math.max(now - this.times[0], this.times[this.times.length - 1] - this.times[0]);
    return span > 0 ? ((this.times.length - 1) * 1000) / span : null;
  }
}
