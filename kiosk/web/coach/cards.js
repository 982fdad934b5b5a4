// Member cards on a resident's view: the cards issued (a hint of each, revoked or
// not), revoking one, and a new card: its QR code drawn here from the modules the
// server sends with the token (shown this once, never stored in the page), ready to
// print on its own (the rest of the page is left out of the print).

import STRINGS from "./plan_strings.js";
import { el } from "../shared/dom.js";
import { addStrings, t } from "../shared/i18n.js";
import { api, dateTime, section, showError, state, table } from "./common.js";

addStrings(STRINGS);

const QUIET_MODULES = 4;

// Draws QR modules (rows of "0"/"1", dark = 1) on `canvas`, `px` pixels a module,
// with the quiet zone the code needs around it.
export function drawQr(canvas, rows, px = 8) {
  const n = rows.length + 2 * QUIET_MODULES;
  canvas.width = canvas.height = n * px;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, n * px, n * px);
  g.fillStyle = "#000";
  rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) if (row[x] === "1") g.fillRect((x + QUIET_MODULES) * px, (y + QUIET_MODULES) * px, px, px);
  });
}

function printable(card) {
  const canvas = el("canvas", { id: "card-qr", class: "card-qr", role: "img", "aria-label": t("card_qr_label") });
  drawQr(canvas, card.qr);
  return el(
    "div",
    { class: "member-card", id: "member-card" },
    el("div", { class: "member-card-brand", text: t("card_brand") }),
    canvas,
    el("div", { class: "member-card-name", text: card.resident.display_name }),
    el("div", { class: "member-card-hint", text: t("card_hint_line", { hint: card.hint }) }),
    el("div", { class: "member-card-use", text: t("card_use") }),
  );
}

// The resident view's card: their member cards and a new one.
export function cardsSection(residentId, cards) {
  const status = el("p", { class: "status", role: "status" });
  const fresh = el("div", { id: "new-card" });
  const rows = cards.map((c) =>
    el(
      "tr",
      { "data-card": c.id },
      el("td", { text: c.hint }),
      el("td", { text: dateTime(c.created_at) }),
      el("td", { text: c.revoked_at ? t("card_revoked_on", { date: dateTime(c.revoked_at) }) : t("card_active") }),
      el(
        "td",
        {},
        c.revoked_at
          ? null
          : el("button", {
              type: "button",
              class: "danger revoke-card",
              text: t("card_revoke"),
              onclick: async (e) => {
                if (!confirm(t("card_revoke_confirm"))) return;
                try {
                  await api("/api/residents/" + residentId + "/member-cards/" + c.id + "/revoke", { method: "POST" });
                  e.target.closest("tr").children[2].textContent = t("card_revoked");
                  e.target.remove();
                } catch (err) {
                  showError(err, status);
                }
              },
            }),
      ),
    ),
  );
  const issue = el("button", {
    type: "button",
    class: "primary",
    id: "issue-card",
    text: t("card_issue"),
    onclick: async () => {
      try {
        const card = await api("/api/residents/" + residentId + "/member-cards", { method: "POST" });
        state.card = { hint: card.hint, modules: card.qr.length };
        fresh.replaceChildren(
          el("p", { class: "muted", text: t("card_shown_once") }),
          printable(card),
          el("p", {}, el("button", { type: "button", id: "print-card", text: t("card_print"), onclick: () => window.print() })),
        );
      } catch (err) {
        showError(err, status);
      }
    },
  });
  return section(
    "cards_title",
    el("p", { class: "muted", text: t("cards_explain") }),
    cards.length ? table("cards-table", ["card_col_hint", "card_col_issued", "card_col_status", ""], rows) : el("p", { class: "muted", text: t("cards_none") }),
    el("p", {}, issue),
    fresh,
    status,
  );
}
