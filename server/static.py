"""Static files that browsers revalidate: after an upgrade, a kiosk that never reloads
by hand still gets the new scripts and styles on its next page load."""

from __future__ import annotations

from typing import Any

from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

__all__ = ["RevalidatedStaticFiles"]


class RevalidatedStaticFiles(StaticFiles):
    """`StaticFiles` whose answers say `Cache-Control: no-cache`: the browser keeps its
    copy but asks each time (ETag / Last-Modified), so an unchanged file costs a 304
    and a changed one arrives at once."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response
