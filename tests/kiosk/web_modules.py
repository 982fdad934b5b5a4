"""The pages under kiosk/web/ read as files: their ES module graphs (no build step, so a
wrong import only fails in a browser) and their string tables. Shared by
test_web_modules.py and test_i18n.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from server.app import WEB_DIR

__all__ = [
    "COMMENT",
    "IMPORT",
    "PAGES",
    "Module",
    "exports",
    "imports",
    "module",
    "page_entry",
    "page_graph",
    "page_keys",
    "page_tables",
    "strings_table",
    "used_keys",
]

# Every page the server serves, as its file under WEB_DIR.
PAGES = ("index.html", "setup.html", "group/index.html", "coach/index.html")

IMPORT = re.compile(r'^import\s+(.+?)\s+from\s+"([^"]+)";', re.M | re.S)
EXPORT = re.compile(
    r"^export\s+(?:async\s+function|function|const|let|class)\s+([\w$]+)", re.M
)
ENTRY = re.compile(r'^\s+(\w+): "(.*)",$', re.M)
MODULE_SCRIPT = re.compile(r'<script type="module" src="/static/([^"]+)"></script>')
# Keys named where they are used: t("key"), status lines, sections, data-i18n*.
KEY_CALL = re.compile(
    r'\b(?:t|tOr|known|status|setStatus|section)\(\s*"(\w+)"(?=\s*[,)])'
)  # not t("prefix_" + value)
COMMENT = re.compile(r"(?<!:)//.*$", re.M)  # to the end of the line; not in ws://
# Lists of keys: ["a", "b"].map((k) => ... t(k)), and a table's head (coach/common.js).
KEY_LIST = re.compile(r"\[((?:\"\w+\",\s*)+\"\w+\")\]\.map\(\(k\)")
TABLE_KEYS = re.compile(r'\btable\(\s*"[\w-]+",\s*\[((?:"\w+",\s*)*"\w+")\]')
KEY_ATTR = re.compile(r'data-i18n(?:-label|-title|-placeholder)?="(\w+)"')


@dataclass(frozen=True)
class Module:
    """One module of a page: its path under WEB_DIR and its source."""

    path: str
    source: str


@cache
def module(path: str) -> Module:
    return Module(path, (WEB_DIR / path).read_text(encoding="utf-8"))


def resolve(importer: str, specifier: str) -> str:
    """The path under WEB_DIR that `specifier` (relative, or /static/...) names."""
    if specifier.startswith("/static/"):
        return specifier.removeprefix("/static/")
    assert specifier.startswith("."), f"{importer}: bare import {specifier!r}"
    target = (WEB_DIR / Path(importer).parent / specifier).resolve()
    return target.relative_to(WEB_DIR.resolve()).as_posix()


def imports(m: Module) -> list[tuple[str, str]]:
    """(clause, path) for each import of `m`: `{ a, b as c }`, `* as M` or a name."""
    return [
        (clause, resolve(m.path, spec)) for clause, spec in IMPORT.findall(m.source)
    ]


def exports(m: Module) -> set[str]:
    names = set(EXPORT.findall(m.source))
    if re.search(r"^export default\b", m.source, re.M):
        names.add("default")
    return names


def page_entry(page: str) -> str:
    html = (WEB_DIR / page).read_text(encoding="utf-8")
    entries: list[str] = MODULE_SCRIPT.findall(html)
    assert len(entries) == 1, f"{page}: one module script, got {entries}"
    return entries[0]


def page_graph(page: str) -> list[Module]:
    """The modules `page` loads: its entry and all it imports, in a stable order."""
    seen: dict[str, Module] = {}
    todo = [page_entry(page)]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = module(path)
        todo += [target for _, target in imports(seen[path])]
    return [seen[p] for p in sorted(seen)]


def strings_table(m: Module) -> dict[str, dict[str, str]] | None:
    """The string table a module exports (`export default { en: {...}, "zh-CN":
    {...} }`), or None when it is code."""
    if not re.search(r"^export default \{\n  en: \{\n", m.source, re.M):
        return None
    zh_start = m.source.index('  "zh-CN": {')
    return {
        "en": dict(ENTRY.findall(m.source[m.source.index("  en: {") : zh_start])),
        "zh-CN": dict(ENTRY.findall(m.source[zh_start:])),
    }


def page_tables(page: str) -> dict[str, dict[str, dict[str, str]]]:
    """Every string table `page` loads, by module path."""
    tables = {m.path: strings_table(m) for m in page_graph(page)}
    return {path: table for path, table in tables.items() if table is not None}


def page_keys(page: str, lang: str = "en") -> dict[str, str]:
    """All of `page`'s strings in `lang` (its tables merged)."""
    merged: dict[str, str] = {}
    for table in page_tables(page).values():
        merged |= table[lang]
    return merged


def used_keys(page: str) -> set[str]:
    """The keys `page` names in its HTML and its modules (keys built from a prefix and
    a value are the tests' to list)."""
    keys = set(KEY_ATTR.findall((WEB_DIR / page).read_text(encoding="utf-8")))
    for m in page_graph(page):
        code = COMMENT.sub("", m.source)
        keys |= set(KEY_CALL.findall(code))
        for names in KEY_LIST.findall(code) + TABLE_KEYS.findall(code):
            keys |= set(re.findall(r'"(\w+)"', names))
    return keys
