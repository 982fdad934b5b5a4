// The group screen's fall alerts: a full-width alert at the top of the screen (the
// fallen person stays boxed in red below it) that stays until staff acknowledge it;
// "They got up" once the server sees the person up again. With a records store the
// server records the alert and who acknowledged it; without one the screen is the
// record.

import { $ } from "../shared/dom.js";
import { t } from "../shared/i18n.js";

const ACK_FALLBACK_MS = 6000; // the server did not confirm: close the alert anyway

// Alerts over the test hook `state` (alerts, alertShown, instructorTrackId). `o`:
// tile(trackId) (the participant's tile record, for the seat and name), send(message).
export class Alerts {
  constructor(state, o) {
    this.state = state;
    this.o = o;
  }

  bind() {
    $("alert-ack").addEventListener("click", () => this.acknowledgeShown());
  }

  openFor(trackId) {
    return this.state.alerts.find((a) => a.track_id === trackId && !a.acknowledged);
  }

  // A fall (`fall_detected`) or the server's record of it (`alert_raised`).
  raise(fields) {
    let alert = this.openFor(fields.track_id);
    if (!alert) {
      alert = { key: this.state.alerts.length + 1, alert_id: null, track_id: fields.track_id, number: null, name: null, cleared: false, acknowledged: false, ack_sent: false };
      this.state.alerts.push(alert);
    }
    if (fields.alert_id != null) alert.alert_id = fields.alert_id;
    if (fields.number != null) alert.number = fields.number;
    if (fields.name) alert.name = fields.name;
    const tile = this.o.tile(fields.track_id);
    if (tile) {
      if (alert.number == null) alert.number = tile.number;
      if (!alert.name) alert.name = tile.name;
    }
    this.render();
  }

  render() {
    const open = this.state.alerts.filter((a) => !a.acknowledged);
    const alert = open[0] || null;
    this.state.alertShown = alert ? alert.key : null;
    $("alert").hidden = !alert;
    document.body.classList.toggle("alerting", !!alert);
    if (!alert) return;
    let who;
    if (alert.name && alert.number != null) who = t("alert_person", { name: alert.name, n: alert.number });
    else if (alert.number != null) who = t("alert_seat", { n: alert.number });
    else if (alert.track_id === this.state.instructorTrackId) who = t("alert_instructor");
    else who = t("alert_someone");
    $("alert-who").textContent = who;
    $("alert-help").textContent = alert.cleared ? t("alert_got_up") : t("alert_help");
    $("alert").classList.toggle("cleared", alert.cleared);
    $("alert-more").textContent =
      open.length > 1 ? open.slice(1).map((a) => (a.number != null ? t("alert_seat", { n: a.number }) : t("alert_someone"))).join(" · ") : "";
    $("alert-ack").disabled = alert.ack_sent;
  }

  acknowledgeShown() {
    const alert = this.state.alerts.find((a) => a.key === this.state.alertShown);
    if (!alert) return;
    if (alert.alert_id == null) {
      // no records store on this server: nothing to tell it, the screen is the record
      alert.acknowledged = true;
      this.render();
      return;
    }
    if (!this.o.send({ type: "acknowledge_alert", alert_id: alert.alert_id })) return;
    alert.ack_sent = true;
    this.render();
    setTimeout(() => {
      if (!alert.acknowledged) {
        alert.acknowledged = true;
        alert.ack_unconfirmed = true;
        this.render();
      }
    }, ACK_FALLBACK_MS);
  }

  acknowledged(m) {
    for (const a of this.state.alerts) if (a.alert_id === m.alert_id) a.acknowledged = true;
    this.render();
  }

  cleared(m) {
    for (const a of this.state.alerts) if (a.track_id === m.track_id && !a.acknowledged) a.cleared = true;
    this.render();
  }
}
