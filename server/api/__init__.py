"""JSON API of the records: sign-in, fall alerts, residents, sessions, exports, custom
templates and administration (staff, kiosks), for the coach pages.

    include_routers(app, store)          # every router under /api, store on app.state

Routes (all JSON unless noted; every one but login and the error catalogue needs a
signed-in staff member, see `server.auth` for roles, scoping and error codes):

    POST   /api/auth/login                      {username, password} -> token (+ cookie)
    POST   /api/auth/logout
    GET    /api/auth/me
    GET    /api/auth/errors                     error codes in en and zh-CN
    GET    /api/residents?q=&centre_id=         search by name or member code
    POST   /api/residents
    GET    /api/residents/{id}
    PATCH  /api/residents/{id}                  profile and consent
    DELETE /api/residents/{id}?export=json      admin: erase them (export first)
    GET    /api/residents/{id}/sessions
    GET    /api/residents/{id}/progress?exercise=&tz=   weekly reps, score, ROM
    GET    /api/residents/{id}/notes · POST /api/residents/{id}/notes
    GET    /api/residents/{id}/assessments · POST /api/residents/{id}/assessments
    GET    /api/alerts?open=true                fall alerts of the centre, newest first
    POST   /api/alerts/{id}/acknowledge         (idempotent; 404 for another centre's)
    GET    /api/sessions?resident_id=           recent sessions of the centre
    GET    /api/sessions/{id}                   reps, cues, notes, replay, band
    GET    /api/sessions/{id}/landmarks         skeleton replay JSON
    POST   /api/sessions/{id}/notes
    GET    /api/exports/sessions/{id}?format=csv|json|fhir
    GET    /api/exports/residents/{id}?format=csv|json|fhir
    GET    /api/templates · POST /api/templates · GET|PUT|DELETE /api/templates/{id}
    POST   /api/authoring/drafts                 template proposed from a session
    POST   /api/authoring/drafts/video           ... from an uploaded video (body)
    GET    /api/kiosk/me · GET /api/kiosk/exercises     (kiosk token, not staff)
    POST   /api/kiosk/sign-in                    {member_code} -> own recent sessions
    GET    /api/admin/centres · POST /api/admin/centres           (admin)
    GET    /api/admin/staff · POST /api/admin/staff · PATCH /api/admin/staff/{id}
    GET    /api/admin/kiosks · POST /api/admin/kiosks (token shown once)
    DELETE /api/admin/kiosks/{id}               revoke
    GET    /api/plan-templates                  exercise plan templates
    POST   /api/residents/{id}/plan-suggestion  a plan at the suggested levels
    GET    /api/residents/{id}/prescriptions · POST /api/residents/{id}/prescriptions
    GET|PUT|DELETE /api/prescriptions/{id}
    GET    /api/prescriptions/{id}/today · GET /api/prescriptions/{id}/adherence
    GET    /api/adherence?as_of=&centre_id=     the centre's adherence per week
    GET    /api/residents/{id}/member-cards · POST (token + QR shown once)
    POST   /api/residents/{id}/member-cards/{card}/revoke
    GET    /api/fitness-tables · POST /api/fitness-tables (admin; TOML body)
    POST   /api/residents/{id}/national-battery  scored with the centre's table
    POST   /api/kiosk/plan · POST /api/kiosk/plan/sets   (kiosk token)
    GET    /api/exports/prescriptions/{id}?format=csv|json|fhir
    GET    /api/exports/adherence?format=csv|json
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session

from server.auth import STORE_STATE_KEY
from server.store import Store

__all__ = ["REFERENCE_BAND_STATE_KEY", "include_routers"]

REFERENCE_BAND_STATE_KEY = "movecoach_reference_band"


def include_routers(
    app: FastAPI,
    store: Store,
    *,
    prefix: str = "/api",
    reference_band: Callable[[Session, str, int | None], dict[str, Any] | None]
    | None = None,
    kiosk_auth: bool = False,
    time_zone: str = "UTC",
) -> None:
    """Mount the records API on `app` and keep `store` on `app.state` for its routes.

    Args:
        app: The application (`server.app.create_app`).
        store: The records database, migrated (`server.store.open_store`).
        prefix: Path prefix of every route.
        reference_band: `(db, exercise_id, centre_id) -> band JSON or None` for session
            detail pages; default `server.api.sessions.reference_band` (built-in
            templates, then the centre's custom templates).
        kiosk_auth: Kiosk routes require a kiosk token (when the app has no live
            runtime to ask; `create_app` passes `Settings.kiosk_auth`).
        time_zone: The centres' local time zone for plans (likewise; the live app's
            `Settings.time_zone` wins).
    """
    from server.api import (
        admin,
        alerts,
        auth,
        authoring,
        exports,
        fitness,
        kiosk,
        kiosk_plans,
        members,
        prescriptions,
        residents,
        sessions,
        templates,
    )
    from server.plans import TIME_ZONE_STATE_KEY

    setattr(app.state, STORE_STATE_KEY, store)
    setattr(app.state, kiosk.KIOSK_AUTH_STATE_KEY, kiosk_auth)
    setattr(app.state, TIME_ZONE_STATE_KEY, time_zone)
    setattr(
        app.state, REFERENCE_BAND_STATE_KEY, reference_band or sessions.reference_band
    )
    for module in (
        auth,
        alerts,
        residents,
        sessions,
        exports,
        templates,
        admin,
        authoring,
        kiosk,
        kiosk_plans,
        prescriptions,
        members,
        fitness,
    ):
        app.include_router(module.router, prefix=prefix)
