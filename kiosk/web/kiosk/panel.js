// What every programme panel at the kiosk (breathing, posture, routine) shares: the
// page it speaks through, the programme's info (`opened` replaces it when the server
// confirms the programme), and whether it is paused or finished. A subclass draws
// itself in `render`, handles its events in `onEvent` and its result in
// `renderResult`; `stop` is called when the programme ends.

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

  stop() {}
}
