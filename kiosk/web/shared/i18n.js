// The one translation module of every MoveCoach page: the page's language, its string
// tables, t() with English as the fallback, the server's two-language texts, and the
// few formats the pages show (dates, scores). Pages and shared modules add their own
// tables (each a module `export default { en: {...}, "zh-CN": {...} }`) with addStrings;
// tests/kiosk/test_i18n.py checks that both languages hold the same keys and that every
// key a page's modules name is in a table that page loads.

export const LANGS = ["en", "zh-CN"];

const tables = { en: {}, "zh-CN": {} };
let current = "en";

// Adds a string table ({en, "zh-CN"}) to the page's.
export function addStrings(strings) {
  for (const lang of LANGS) Object.assign(tables[lang], strings[lang]);
}

// The page's language: one of LANGS, English for anything else. Sets <html lang>.
export function setLang(lang) {
  current = LANGS.includes(lang) ? lang : "en";
  document.documentElement.lang = current;
  return current;
}

export function lang() {
  return current;
}

// Whether `key` names a string (to build keys from values: "error_" + code).
export function known(key) {
  return key in tables.en;
}

// t("rep_line", {n: 3, score: 88}) in the page's language, English as a last resort,
// the key itself when no table has it.
export function t(key, params) {
  let text = key in tables[current] ? tables[current][key] : tables.en[key];
  if (text === undefined) return key;
  for (const [name, value] of Object.entries(params || {})) {
    text = text.split("{" + name + "}").join(String(value));
  }
  return text;
}

// t(key, params) when `key` is known, else `fallback`.
export function tOr(key, fallback, params) {
  return known(key) ? t(key, params) : fallback;
}

// A server text ({en, "zh-CN"}) in the page's language, English when it lacks that;
// a plain string as is.
export function localized(text) {
  if (!text || typeof text !== "object") return text || "";
  return text[current] || text.en || "";
}

// Fills the static text of `root`: data-i18n (text), data-i18n-label (aria-label),
// data-i18n-title (title) and data-i18n-placeholder name keys.
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}

// A score (or any measure shown whole): rounded, "–" when there is none.
export function fmtScore(value) {
  return typeof value === "number" && isFinite(value) ? String(Math.round(value)) : "–";
}

// A date (ISO text, ms or Date) in the page's language: "12 Mar" style by default;
// `time` adds hours and minutes.
export function fmtDate(when, { year = false, time = false } = {}) {
  if (when === null || when === undefined || when === "") return "–";
  const d = when instanceof Date ? when : new Date(when);
  const date = d.toLocaleDateString(current, year ? { year: "numeric", month: "short", day: "numeric" } : { month: "short", day: "numeric" });
  return time ? date + " " + fmtTime(d) : date;
}

export function fmtTime(when) {
  const d = when instanceof Date ? when : new Date(when);
  return d.toLocaleTimeString(current, { hour: "2-digit", minute: "2-digit" });
}
