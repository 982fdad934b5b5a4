// Kiosk set-up: check a kiosk token against the server (GET /api/kiosk/me) and keep it
// in this browser's localStorage, where the kiosk page (kiosk.js) reads it. The token
// never goes into a URL the page shows or a log line; the server keeps only its hash.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "movecoach.kioskToken";
  const params = new URLSearchParams(location.search);
  const setupState = (window.setupState = { saved: false, result: null });
  let lang = params.get("lang") === "zh-CN" ? "zh-CN" : "en";

  function stored() {
    try {
      return localStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  function applyI18n() {
    window.currentLang = lang;
    document.documentElement.lang = lang;
    document.title = t("setup_title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("lang-btn").textContent = t("lang_switch");
    $("setup-current").textContent = stored() ? t("setup_current") : t("setup_none");
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
    localStorage.setItem(TOKEN_KEY, token);
    setupState.saved = true;
    $("token").value = "";
    applyI18n();
    status("setup_ok", { kiosk: me.kiosk ? me.kiosk.name : "?", centre: me.centre ? me.centre.name : "?" });
  }

  function forget() {
    localStorage.removeItem(TOKEN_KEY);
    setupState.saved = false;
    applyI18n();
    status("setup_forgotten");
  }

  $("setup-form").addEventListener("submit", save);
  $("forget-btn").addEventListener("click", forget);
  $("lang-btn").addEventListener("click", () => {
    lang = lang === "en" ? "zh-CN" : "en";
    applyI18n();
  });
  applyI18n();
})();
