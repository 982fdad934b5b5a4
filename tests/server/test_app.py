"""HTTP side of the app: health (liveness/readiness, the group screen's worker),
catalogue, demo, the kiosk page, and what the lifespan does at start-up."""

from __future__ import annotations

import dataclasses
import re
import threading
from pathlib import Path
from typing import Any

import cv2
import pytest
from starlette.testclient import TestClient

from exercises.spec import builtin_specs
from server.app import WEB_DIR, create_app
from server.schemas import ASSESSMENT_IDS, encode_frame
from server.settings import Settings
from tests.conftest import shared_data_path
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.test_group_ws import send, two_people, until

NOT_STARTED = {"state": "not_started", "backend": None, "error": None}


def app_with(**settings: object):  # type: ignore[no-untyped-def]
    return create_app(Settings(**settings), backend_factory=ScriptedBackend)  # type: ignore[arg-type]


def test_health_is_ready_only_after_start_up() -> None:
    backends: list[ScriptedBackend] = []

    def factory() -> ScriptedBackend:
        backends.append(ScriptedBackend())
        return backends[-1]

    app = create_app(Settings(), backend_factory=factory)
    before = TestClient(app).get("/health")  # no lifespan ran: nothing loaded
    assert before.status_code == 503
    assert before.json()["ready"] is False and before.json()["live"] is True
    with TestClient(app) as client:
        health = client.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert body["ready"] and body["status"] == "ok"
        assert body["backend"] == "scripted" and body["backend_loaded"]
        assert body["kernels_warm"] and body["worker_running"]
        assert (body["sessions"], body["max_sessions"], body["protocol"]) == (0, 8, 1)
        assert body["group_worker"] == NOT_STARTED  # and ready all the same
        assert len(backends) == 1 and len(backends[0].calls) == 1  # loaded and run once
    assert backends[0].closed  # shut down with the app


def _group_health(client: TestClient) -> dict[str, Any]:
    """The group worker's part of /health, which stays ready (200) throughout."""
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["ready"] is True
    group: dict[str, Any] = response.json()["group_worker"]
    return group


def test_health_follows_the_group_worker_loading_ready_and_stopped() -> None:
    gate = threading.Event()
    backend = ScriptedBackend(two_people, gate=gate)  # its first detect is the load
    app = create_app(
        Settings(),
        backend_factory=ScriptedBackend,
        group_backend_factory=lambda: backend,
    )
    with TestClient(app) as client:
        with client.websocket_connect("/ws/group") as ws:
            assert _group_health(client) == NOT_STARTED
            send(ws, type="open", mode="follow")
            assert backend.entered.wait(5), "the group model never started loading"
            assert _group_health(client) == {**NOT_STARTED, "state": "loading"}
            gate.set()
            until(ws, "group_opened")
            assert _group_health(client) == {
                **NOT_STARTED,
                "state": "ready",
                "backend": "scripted",
            }
        client.app.state.runtime.group.worker.stop()  # type: ignore[attr-defined]
        assert _group_health(client) == {
            "state": "failed",
            "backend": "scripted",
            "error": "the inference thread is not running",
        }


def test_health_reports_a_group_worker_that_failed_and_its_retry() -> None:
    attempts: list[int] = []

    def flaky() -> ScriptedBackend:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise RuntimeError("multi-person model missing")
        return ScriptedBackend(two_people)

    app = create_app(
        Settings(), backend_factory=ScriptedBackend, group_backend_factory=flaky
    )
    with TestClient(app) as client, client.websocket_connect("/ws/group") as ws:
        send(ws, type="open", mode="follow")
        assert until(ws, "error")["code"] == "inference_failed"
        assert _group_health(client) == {
            "state": "failed",
            "backend": None,
            "error": "RuntimeError: multi-person model missing",
        }
        send(ws, type="open", mode="follow")  # the next open tries again
        until(ws, "group_opened")
        assert _group_health(client) == {
            **NOT_STARTED,
            "state": "ready",
            "backend": "scripted",
        }
    assert len(attempts) == 2


def test_start_up_fails_loudly_when_the_backend_cannot_load() -> None:
    def broken() -> ScriptedBackend:
        raise RuntimeError("model file missing")

    app = create_app(Settings(), backend_factory=broken)
    with pytest.raises(RuntimeError, match="model file missing"), TestClient(app):
        pass


_SPANS_SCRIPT = """
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from tests.server.test_app import app_with

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # a process-wide provider, as Ray's may be

plain = FastAPI()
plain.get("/ping")(lambda: "pong")
with TestClient(plain) as client:
    client.get("/ping")
print(len(exporter.get_finished_spans()))
exporter.clear()
with TestClient(app_with()) as client:
    assert client.get("/health").status_code == 200
    assert client.get("/api/exercises").status_code == 200
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello"})
print(len(exporter.get_finished_spans()))
"""


def test_fastapi_telemetry_stays_off_under_a_global_opentelemetry_provider() -> None:
    """Nothing leaves a centre's server: with a process-wide OpenTelemetry tracer
    provider (Ray's processes may set one; an exporter on it would send spans out)
    FastAPI instruments a plain app's requests, and none of ours (`NO_TELEMETRY`)."""
    import subprocess
    import sys

    pytest.importorskip("opentelemetry.sdk.trace")
    done = subprocess.run(
        [sys.executable, "-c", _SPANS_SCRIPT],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    plain_spans, our_spans = (int(n) for n in done.stdout.split())
    assert plain_spans > 0  # the provider records what FastAPI instruments
    assert our_spans == 0


def test_exercise_catalogue_matches_the_engine_templates() -> None:
    specs = builtin_specs()
    with TestClient(app_with()) as client:
        catalogue = client.get("/api/exercises").json()
        assert [e["id"] for e in catalogue] == list(specs)
        for entry in catalogue:
            spec = specs[entry["id"]]
            assert entry["name"] == {"en": spec.name["en"], "zh-CN": spec.name["zh-CN"]}
            assert all(entry["name"].values())
            assert entry["kind"] == spec.kind and entry["view"] == spec.view
            assert entry["required_joints"] == list(spec.required_joints)
            assert set(entry["instructions"]) == {"en", "zh-CN"}
            picture = client.get(entry["picture"])
            assert picture.status_code == 200, entry["picture"]
            assert picture.headers["content-type"].startswith("image/svg+xml")
            assert b"<svg" in picture.content


def test_pictures_fall_back_to_the_kind_for_new_templates() -> None:
    with TestClient(app_with()) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        spec = next(s for s in builtin_specs().values() if s.kind == "hold")
        assert runtime.catalogue.picture_url(spec) == f"/static/pictures/{spec.id}.svg"
        new = dataclasses.replace(spec, id="brand_new_hold")  # no pictogram of its own
        assert runtime.catalogue.picture_url(new) == "/static/pictures/hold.svg"
        assert client.get(runtime.catalogue.picture_url(new)).status_code == 200


def test_kiosk_defaults_come_from_settings() -> None:
    with TestClient(app_with(default_lang="zh-CN", default_elder=True)) as client:
        info = client.get("/api/kiosk").json()
    assert info["languages"] == ["en", "zh-CN"]
    assert (info["default_lang"], info["default_elder"]) == ("zh-CN", True)
    assert info["demo"] == {
        "available": False,
        "name": None,
        "url": None,
        "fps": None,
        "frames": None,
        "width": None,
        "height": None,
    }


def test_the_kiosk_lists_the_assessments_the_server_runs() -> None:
    """The kiosk's assessment cards come from the server (one list, the sessions'
    own), not from a copy in the page."""
    from exercises.assessments import SESSIONS

    with TestClient(app_with()) as client:
        info = client.get("/api/kiosk").json()
    assert info["assessments"] == list(SESSIONS)
    assert set(SESSIONS) == set(ASSESSMENT_IDS)
    page = (WEB_DIR / "kiosk.js").read_text(encoding="utf-8").splitlines()
    copies = [line for line in page if sum(f'"{i}"' in line for i in SESSIONS) > 1]
    assert not copies  # no list of the ids in the page


def test_no_demo_video_without_demo_setting() -> None:
    with TestClient(app_with()) as client:
        assert client.get("/api/demo").json()["available"] is False
        assert client.get("/api/demo/video").status_code == 404


def test_demo_video_is_described_and_served() -> None:
    video = shared_data_path("video", "bicep_curl_side.mp4")
    capture = cv2.VideoCapture(str(video))
    expected = (
        capture.get(cv2.CAP_PROP_FPS),
        int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
    )
    capture.release()
    with TestClient(app_with(demo_video=video)) as client:
        demo = client.get("/api/demo").json()
        assert demo["available"] and demo["name"] == "bicep_curl_side.mp4"
        assert (demo["fps"], demo["frames"]) == expected
        assert (demo["width"], demo["height"]) == (522, 294)
        served = client.get(demo["url"])
        assert served.status_code == 200
        assert served.content == video.read_bytes()


def test_missing_demo_video_fails_start_up(tmp_path: Path) -> None:
    app = app_with(demo_video=tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError, match=r"nope\.mp4"), TestClient(app):
        pass


def test_kiosk_page_and_its_assets_are_served() -> None:
    with TestClient(app_with()) as client:
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        assert {"/static/kiosk.js", "/static/i18n.js", "/static/kiosk.css"} <= set(
            assets
        )
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        assert client.get("/static/../server/settings.py").status_code == 404


def test_finding_1_health_reports_degraded_inference_after_a_backend_fails() -> None:
    """A backend that raised on a frame: /health stays ready (other sessions go on)
    but says "degraded" instead of "ok", with why; the kiosk page shows a notice."""
    from tests.server.test_ws import open_session, until

    app = create_app(
        Settings(), backend_factory=lambda: ScriptedBackend(fail_on=lambda ts: ts > 0)
    )
    with TestClient(app) as client:
        assert client.get("/health").json()["inference"] == "ok"
        with client.websocket_connect("/ws") as ws:
            open_session(ws, "squat")
            ws.send_bytes(encode_frame(5, jpeg_bytes()))
            assert until(ws, "error")["code"] == "inference_failed"
        response = client.get("/health")
        body = response.json()
        assert response.status_code == 200 and body["ready"] is True
        assert (body["status"], body["inference"]) == ("degraded", "degraded")
        assert "RuntimeError: scripted failure" in body["inference_problem"]
        page = client.get("/").text
    assert 'id="inference-notice"' in page and 'data-i18n="inference_degraded"' in page
