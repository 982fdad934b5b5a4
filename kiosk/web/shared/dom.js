// Small DOM helpers every MoveCoach page uses. Text from the server (names, notes,
// cues) is only ever set as textContent, never as HTML.

export const $ = (id) => document.getElementById(id);

// The page's query parameters (?lang=, ?source=demo, ...).
export const params = new URLSearchParams(location.search);

// el("a", {href, class: "x", text: "label", onclick: fn}, ...children): an element with
// attributes (null, undefined and false left out; true as an empty attribute), `class`,
// `text` (textContent), `on<event>` listeners, then children (nodes or text).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

// Shows the element with id `shown` among `ids` and hides the others.
export function showOnly(ids, shown) {
  for (const id of ids) $(id).hidden = id !== shown;
}

// Fills `pad` with a large member-code keypad (digits, "-", backspace) that types into
// `input` (and gives it the focus back when `focus`).
export function buildKeypad(pad, input, { focus = false } = {}) {
  pad.textContent = "";
  for (const key of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "-", "0", "⌫"]) {
    const b = el("button", { type: "button", "data-key": key, text: key });
    b.addEventListener("click", () => {
      input.value = key === "⌫" ? input.value.slice(0, -1) : input.value + key;
      if (focus) input.focus();
    });
    pad.append(b);
  }
}
