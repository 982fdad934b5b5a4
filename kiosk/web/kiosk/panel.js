// What every programme panel at the kiosk (breathing, posture, routine) shares: the
// page it speaks through, the programme's info (`opened` replaces it when the server
// confirms the programme), and whether it is paused or finished. A subclass draws
// itself in `render`, takes its events in `handle` (false: not its event) and draws
// its result in `renderResult`; `stop` is called when the programme ends.

export class ProgrammePanel {
  constructor(page, info) {
    this.page = page;
    this.info = info;
    this.finished = false;
    this.paused = false;
  }

  opened(info) {
    this.info = info;
    this.render();
  }

  // A server message: true when it was this panel's (then it is drawn again).
  onEvent(m) {
    if (!this.handle(m)) return false;
    this.render();
    return true;
  }

  stop() {}
}
