"""server/static.py: static files are revalidated (`no-cache`), so kiosks pick up an
upgrade, and an unchanged file costs a 304."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from server.static import RevalidatedStaticFiles


def test_static_files_say_no_cache_and_revalidate(tmp_path: Path) -> None:
    (tmp_path / "kiosk.js").write_text("console.log('v1');\n")
    static = RevalidatedStaticFiles(directory=tmp_path)
    app = Starlette(routes=[Mount("/static", static)])
    with TestClient(app) as client:
        first = client.get("/static/kiosk.js")
        again = client.get(
            "/static/kiosk.js", headers={"If-None-Match": first.headers["etag"]}
        )
        (tmp_path / "kiosk.js").write_text("console.log('v2, a longer file');\n")
        upgraded = client.get(
            "/static/kiosk.js", headers={"If-None-Match": first.headers["etag"]}
        )
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304 and again.headers["cache-control"] == "no-cache"
    assert upgraded.status_code == 200 and "v2" in upgraded.text
