// Kiosk set-up: check a kiosk token against the server (GET /api/kiosk/me) and keep it
// in this browser's localStorage, where the kiosk page (kiosk.js) reads it. The token
// never goes into a URL the page shows or a log line; the server keeps only its hash.

import STRINGS from "./i18n.js";
import { $, params } from "./shared/dom.js";
import { addStrings, lang, setLang, t, translate } from "./shared/i18n.js";
import { kioskToken, storeKioskToken } from "./shared/media.js";
import SHARED from "./shared/strings.js";

addStrings(SHARED);
addStrings(STRINGS);

const setupState = (window.setupState = { saved: false, result: null });

function render() {
  document.title = t("setup_title");
  translate();
  $("lang-btn").textContent = t("lang_switch");
  $("setup-current").textContent = kioskToken() ? t("setup_current") : t("setup_none");
}

function status(key, params) {
  $("setup-status").textContent = key ? t(key, params) : "";
}

async function save(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  status("setup_checking");
  let response;
  try {
    response = await fetch("/api/kiosk/me", { headers: token ? { Authorization: "Bearer " + token } : {} });
  } catch (e) {
    status("setup_bad");
    return;
  }
  if (!response.ok) {
    setupState.result = response.status;
    status("setup_bad");
    return;
  }
  const me = await response.json();
  setupState.result = me;
  if (!token) {
    status(me.kiosk_auth ? "setup_bad" : "setup_ok_no_token");
    return;
  }
  storeKioskToken(token);
  setupState.saved = true;
  $("token").value = "";
  render();
  status("setup_ok", { kiosk: me.kiosk ? me.kiosk.name : "?", centre: me.centre ? me.centre.name : "?" });
}

function forget() {
  storeKioskToken(null);
  setupState.saved = false;
  render();
  status("setup_forgotten");
}

$("setup-form").addEventListener("submit", save);
$("forget-btn").addEventListener("click", forget);
$("lang-btn").addEventListener("click", () => {
  setLang(lang() === "en" ? "zh-CN" : "en");
  render();
});
setLang(params.get("lang") === "zh-CN" ? "zh-CN" : "en");
render();
