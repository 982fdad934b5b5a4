"""The pages are ES modules with no build step: each page's HTML loads one module
script, every import names a file that exports what is imported, the HTML preloads
exactly the modules the page imports, and nothing runs inline (a strict Content
Security Policy, `script-src 'self'`, must not break a page)."""

from __future__ import annotations

import re

import pytest

from server.app import WEB_DIR
from tests.kiosk.web_modules import (
    COMMENT,
    IMPORT,
    PAGES,
    exports,
    imports,
    module,
    page_entry,
    page_graph,
)

ALL_MODULES = sorted(
    {m.path for page in PAGES for m in page_graph(page)}
    | {p.relative_to(WEB_DIR).as_posix() for p in WEB_DIR.rglob("*.js")}
)


def test_every_script_file_is_a_module_of_some_page() -> None:
    loaded = {m.path for page in PAGES for m in page_graph(page)}
    on_disk = {p.relative_to(WEB_DIR).as_posix() for p in WEB_DIR.rglob("*.js")}
    assert on_disk == loaded, on_disk ^ loaded


@pytest.mark.parametrize("path", ALL_MODULES)
def test_imports_name_files_that_export_them(path: str) -> None:
    m = module(path)
    assert '"use strict"' not in m.source  # modules are strict; no leftover scripts
    assert not re.search(
        r"\bwindow\.(?:t|gt|I18N|GROUP_I18N|LANGS|MoveCoachMedia)\b", m.source
    )
    for clause, target in imports(m):
        assert (WEB_DIR / target).is_file(), f"{path} imports {target}"
        names = exports(module(target))
        if clause.startswith("* as "):
            alias = clause.removeprefix("* as ").strip()
            code = IMPORT.sub("", COMMENT.sub("", m.source))
            used = set(re.findall(rf"\b{alias}\.(\w+)", code))
            assert used and used <= names, f"{path}: {alias}.{used - names}"
        elif clause.startswith("{"):
            for item in clause.strip("{} \n").split(","):
                name = item.split(" as ")[0].strip()
                assert name in names, f"{path} imports {name} from {target}"
        else:
            assert "default" in names, f"{path} imports a default from {target}"


@pytest.mark.parametrize("path", ALL_MODULES)
def test_every_imported_name_is_used(path: str) -> None:
    m = module(path)
    code = IMPORT.sub("", COMMENT.sub("", m.source))
    for clause, _ in imports(m):
        if clause.startswith("{"):
            names = [
                i.split(" as ")[-1].strip() for i in clause.strip("{} \n").split(",")
            ]
        else:
            names = [clause.removeprefix("* as ").strip()]
        for name in names:
            assert re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", code), (
                f"{path}: {name} is imported but not used"
            )


@pytest.mark.parametrize("path", ALL_MODULES)
def test_no_module_writes_html_or_evaluates_strings(path: str) -> None:
    """Text goes in as textContent; no code is built from strings (Trusted Types and
    `script-src 'self'` stay possible)."""
    code = COMMENT.sub("", module(path).source)
    assert not re.search(r"\.(?:innerHTML|outerHTML)\b|insertAdjacentHTML", code)
    assert not re.search(r"\beval\(|\bnew Function\(|setAttribute\(\s*\"style\"", code)


@pytest.mark.parametrize("page", PAGES)
def test_page_preloads_exactly_the_modules_it_imports(page: str) -> None:
    html = (WEB_DIR / page).read_text(encoding="utf-8")
    preloaded = set(
        re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', html)
    )
    imported = {m.path for m in page_graph(page)} - {page_entry(page)}
    assert preloaded == imported, preloaded ^ imported


@pytest.mark.parametrize("page", PAGES)
def test_nothing_runs_inline(page: str) -> None:
    html = (WEB_DIR / page).read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(
        'type="module"' in attrs and 'src="/static/' in attrs and not body.strip()
        for attrs, body in scripts
    ), scripts
    assert not re.search(r"\son[a-z]+\s*=", html)  # onclick= and the like
    assert not re.search(r"\sstyle\s*=", html)  # inline styles (CSP style-src)
    assert "javascript:" not in html


def test_the_server_serves_every_module_as_javascript() -> None:
    """Browsers run a module only when its MIME type is JavaScript."""
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings
    from tests.server.conftest import ScriptedBackend

    app = create_app(
        Settings(host="127.0.0.1", port=0), backend_factory=ScriptedBackend
    )
    client = TestClient(app)  # no lifespan: static files need no backend
    for path in ALL_MODULES:
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        assert "javascript" in response.headers["content-type"], path
