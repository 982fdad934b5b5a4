// The coach sign-in view (#/login): username and password; the session is an HttpOnly
// cookie the page never sees.

import { el } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { api, setView, showError, state } from "./common.js";

// `signedIn()` runs once the server accepted the sign-in (state.me is set).
export function renderLogin(signedIn) {
  state.page = "login";
  const status = el("p", { class: "status", role: "status" });
  const user = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = async (e) => {
    e.preventDefault();
    status.textContent = t("signing_in");
    try {
      await api("/api/auth/login", { method: "POST", json: { username: user.value, password: pass.value } });
      state.me = await api("/api/auth/me");
      signedIn();
      location.hash = "#/residents";
    } catch (err) {
      showError(err, status);
    }
  };
  setView(
    el(
      "form",
      { class: "card login", onsubmit: submit },
      el("h2", { text: t("login_title") }),
      el("label", { for: "username", text: t("username") }),
      user,
      el("label", { for: "password", text: t("password") }),
      pass,
      el("button", { type: "submit", class: "primary", id: "login-submit", text: t("sign_in") }),
      status,
    ),
  );
}
