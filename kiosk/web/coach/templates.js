// The templates view (#/templates): the centre's own exercise templates, and the way to
// author a new one (#/templates/new, authoring.js).

import { el } from "../shared/dom.js";
import { localized, t } from "../shared/i18n.js";
import { api, dateTime, failedView, section, setView, state } from "./common.js";

export async function renderTemplates() {
  state.page = "templates";
  let body;
  try {
    body = await api("/api/templates");
  } catch (err) {
    failedView(err);
    return;
  }
  setView(
    section(
      "templates_title",
      el("p", { class: "muted", text: t("templates_explain") }),
      el(
        "table",
        { class: "table", id: "templates-table" },
        el("thead", {}, el("tr", {}, el("th", { text: t("template_id") }), el("th", { text: t("name") }), el("th", { text: t("updated") }))),
        el("tbody", {}, body.templates.map((tp) => el("tr", {}, el("td", { text: tp.id }), el("td", { text: localized(tp.name) || tp.id }), el("td", { text: dateTime(tp.updated_at) })))),
      ),
      body.templates.length ? null : el("p", { class: "muted", text: t("no_templates") }),
      el("p", {}, el("a", { class: "button primary", href: "#/templates/new", id: "new-template", text: t("new_template") })),
    ),
  );
}
