// The templates view (#/templates): the centre's own exercise templates, and the way to
// author a new one (#/templates/new, authoring.js).

import { el } from "../shared/dom.js";
import { localized, t } from "../shared/i18n.js";
import { dateTime, section, setView, state, table, viewData } from "./common.js";

export async function renderTemplates() {
  state.page = "templates";
  const body = await viewData("/api/templates");
  if (!body) return;
  setView(
    section(
      "templates_title",
      el("p", { class: "muted", text: t("templates_explain") }),
      table(
        "templates-table",
        ["template_id", "name", "updated"],
        body.templates.map((tp) => el("tr", {}, el("td", { text: tp.id }), el("td", { text: localized(tp.name) || tp.id }), el("td", { text: dateTime(tp.updated_at) }))),
      ),
      body.templates.length ? null : el("p", { class: "muted", text: t("no_templates") }),
      el("p", {}, el("a", { class: "button primary", href: "#/templates/new", id: "new-template", text: t("new_template") })),
    ),
  );
}
