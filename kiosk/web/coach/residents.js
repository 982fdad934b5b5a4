// The residents view (#/residents): search by name or member code (?q= starts it),
// open a resident, add one (an administrator without a centre picks the centre).

import { el, params } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { api, section, setView, showError, state, table } from "./common.js";

const SEARCH_DELAY_MS = 250;

export async function renderResidents() {
  state.page = "residents";
  const list = el("tbody");
  const search = el("input", { id: "search", type: "search", placeholder: t("search_placeholder"), value: params.get("q") || "" });
  const load = async () => {
    try {
      const q = search.value.trim();
      const body = await api("/api/residents" + (q ? "?q=" + encodeURIComponent(q) : ""));
      list.replaceChildren(
        ...body.residents.map((r) =>
          el(
            "tr",
            {},
            el("td", {}, el("a", { href: "#/residents/" + r.id, class: "resident-link", text: r.display_name })),
            el("td", { text: r.member_code }),
            el("td", { text: r.birth_year ? String(r.birth_year) : "–" }),
          ),
        ),
      );
      if (!body.residents.length) list.append(el("tr", {}, el("td", { colspan: 3, text: t("no_residents") })));
      state.residentsShown = body.residents.length;
    } catch (err) {
      showError(err);
    }
  };
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, SEARCH_DELAY_MS);
  });
  setView(
    section("residents_title", el("div", { class: "toolbar" }, search), table("residents-table", ["name", "member_code", "birth_year"], list)),
    newResidentForm(load),
  );
  await load();
}

function newResidentForm(onCreated) {
  const status = el("p", { class: "status", role: "status" });
  const code = el("input", { name: "member_code", required: true, maxlength: 64 });
  const name = el("input", { name: "display_name", required: true, maxlength: 200 });
  const year = el("input", { name: "birth_year", type: "number", min: 1900, max: 2100 });
  const centre = el("select", { name: "centre_id" });
  const needsCentre = state.me && state.me.role === "admin" && state.me.centre_id === null;
  if (needsCentre) {
    api("/api/admin/centres")
      .then((b) => b.centres.forEach((c) => centre.append(el("option", { value: c.id, text: c.name }))))
      .catch(() => {});
  }
  const submit = async (e) => {
    e.preventDefault();
    const body = { member_code: code.value.trim(), display_name: name.value.trim() };
    if (year.value) body.birth_year = Number(year.value);
    if (needsCentre && centre.value) body.centre_id = Number(centre.value);
    try {
      await api("/api/residents", { method: "POST", json: body });
      status.textContent = t("resident_created");
      form.reset();
      onCreated();
    } catch (err) {
      showError(err, status);
    }
  };
  const form = el(
    "form",
    { class: "inline-form", onsubmit: submit },
    el("label", {}, t("member_code"), code),
    el("label", {}, t("name"), name),
    el("label", {}, t("birth_year"), year),
    needsCentre ? el("label", {}, t("centre"), centre) : null,
    el("button", { type: "submit", text: t("add_resident") }),
    status,
  );
  return section("new_resident", form);
}
