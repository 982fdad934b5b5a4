// Check-in with a member card: on the sign-in screen the kiosk shows what its camera
// sees and streams the frames to the server, which looks for a member card's QR code
// (docs/protocol.md, `scan`) and answers `member_checked_in` or `check_in_refused`
// (the problem, in both languages: revoked, another centre's, not ours, unreadable,
// too many tries). The keypad beside it stays the fallback.

import { $ } from "../shared/dom.js";
import { localized } from "../shared/i18n.js";

// The check-in over the page's test hook `state` (scanning, checkInRefusals) and its
// `link`. `page`: startSource() (the camera), video, speak(text), checkedIn(resident).
export class CheckIn {
  constructor(state, link, page) {
    this.state = state;
    this.link = link;
    this.page = page;
    this.preview = null; // the animation frame drawing the camera on #scan-preview
    this.refusal = null; // the last refusal shown ({en, zh-CN}), redrawn on a language change
  }

  async start() {
    this.refusal = null;
    $("scan-status").textContent = "";
    this.state.scanning = true;
    if (!(await this.page.startSource()) || !this.state.scanning) return;
    this.link.startScan();
    this.draw();
  }

  stop() {
    this.state.scanning = false;
    this.link.stopScan();
    if (this.preview) cancelAnimationFrame(this.preview);
    this.preview = null;
  }

  render() {
    if (this.refusal) $("scan-status").textContent = localized(this.refusal);
  }

  // Paints the camera (mirrored, as people expect) on the preview while scanning.
  draw() {
    const canvas = $("scan-preview");
    const video = this.page.video;
    const frame = () => {
      if (!this.state.scanning) return;
      if (video.videoWidth) {
        const w = canvas.clientWidth || 320;
        const h = Math.round((w * video.videoHeight) / video.videoWidth);
        if (canvas.width !== w || canvas.height !== h) {
          canvas.width = w;
          canvas.height = h;
        }
        const g = canvas.getContext("2d");
        g.save();
        g.translate(w, 0);
        g.scale(-1, 1);
        g.drawImage(video, 0, 0, w, h);
        g.restore();
        this.state.previewFrames = (this.state.previewFrames || 0) + 1;
      }
      this.preview = requestAnimationFrame(frame);
    };
    this.preview = requestAnimationFrame(frame);
  }

  // A server message; true when it was about the check-in.
  onMessage(m) {
    if (m.type === "member_checked_in") {
      this.link.scanDone(); // the server stopped looking
      this.stop();
      this.page.checkedIn(m.resident);
      return true;
    }
    if (m.type === "check_in_refused") {
      this.refusal = m.message;
      this.state.checkInRefusals = (this.state.checkInRefusals || []).concat([m.problem]);
      this.render();
      this.page.speak(localized(m.message));
      return true;
    }
    return false;
  }
}
