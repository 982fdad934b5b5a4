"""The Serve configuration: `build_app` arguments, the shipped serve_config.yaml (valid
for Ray Serve, naming our deployments and arguments), and what the builder does to the
records database before replicas start. No cluster needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings
from server.store import Store, repository, upgrade_database
from server.store.models import SessionStatus

serve = pytest.importorskip("ray.serve", reason="the distributed extra is absent")
yaml = pytest.importorskip("yaml")

from server.distributed.deployment import (  # noqa: E402
    INFERENCE,
    INGRESS,
    AppArgs,
    build_app,
)
from server.distributed.local import app_args  # noqa: E402

CONFIG = (
    Path(__file__).resolve().parents[3] / "server" / "distributed" / "serve_config.yaml"
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param({}, {"provider": "cpu", "inference_replicas": 1}, id="defaults"),
        pytest.param(
            {"provider": "cuda", "max_batch_size": "16", "records": "false"},
            {"provider": "cuda", "max_batch_size": 16, "records": False},
            id="strings-from-serve-run",
        ),
        pytest.param(
            {"db_url": "sqlite:///x.db", "kiosk_auth": "true", "max_sessions": "40"},
            {
                "settings": {
                    "db_url": "sqlite:///x.db",
                    "kiosk_auth": True,
                    "max_sessions": 40,
                }
            },
            id="settings-at-top-level",
        ),
        pytest.param(
            {"settings": {"max_sessions": 3}, "batch_wait_timeout_s": 0.01},
            {"settings": {"max_sessions": 3}, "batch_wait_timeout_s": 0.01},
            id="nested-settings",
        ),
        pytest.param({"colocate": "yes"}, {"colocate": True}, id="colocated"),
    ],
)
def test_app_args_parse(args: dict[str, Any], expected: dict[str, Any]) -> None:
    parsed = AppArgs.parse(args)
    for key, value in expected.items():
        got = getattr(parsed, key)
        assert (dict(got) if key == "settings" else got) == value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            {"replicas": 3}, "unknown movecoach app argument 'replicas'", id="unknown"
        ),
        pytest.param(
            {"provider": "tpu"}, "provider must be cpu or cuda", id="provider"
        ),
        pytest.param({"max_batch_size": "many"}, "must be a int", id="not-a-number"),
        pytest.param({"records": "maybe"}, "must be a bool", id="not-a-bool"),
        pytest.param({"metrics": "statsd"}, "metrics must be", id="metrics"),
        pytest.param(
            {"colocate": "true", "provider": "cuda"},
            "expected provider cpu with it, got 'cuda'",
            id="colocated-cuda",
        ),
    ],
)
def test_bad_app_args_are_errors_that_say_what_is_valid(
    args: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        AppArgs.parse(args)


@pytest.mark.parametrize(
    ("args", "replicas", "autoscaling", "gpus"),
    [
        pytest.param({}, 1, None, None, id="cpu-fixed"),
        pytest.param(
            {"inference_replicas": 0, "max_inference_replicas": 6},
            None,
            6,
            None,
            id="auto",
        ),
        pytest.param(
            {"provider": "cuda", "gpus_per_replica": 0.5}, 1, None, 0.5, id="cuda"
        ),
    ],
)
def test_inference_options(
    args: dict[str, Any],
    replicas: int | None,
    autoscaling: int | None,
    gpus: float | None,
) -> None:
    options = AppArgs.parse(args).inference_options()
    assert options.get("num_replicas") == replicas
    auto = options.get("autoscaling_config")
    assert (auto or {}).get("max_replicas") == autoscaling
    assert options["ray_actor_options"].get("num_gpus") == gpus
    batch = options["user_config"]["max_batch_size"]
    assert options["max_ongoing_requests"] >= batch  # else Serve can never fill a batch


def test_the_shipped_serve_config_is_valid_and_names_our_pieces() -> None:
    from ray.serve.schema import ServeDeploySchema

    document = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    schema = ServeDeploySchema.model_validate(document)
    (application,) = schema.applications
    assert application.import_path == "server.distributed.deployment:build_app"
    AppArgs.parse(application.args)  # every argument is one build_app knows
    assert {d.name for d in application.deployments} == {INFERENCE, INGRESS}
    inference = next(d for d in application.deployments if d.name == INFERENCE)
    assert inference.user_config["max_batch_size"] <= inference.max_ongoing_requests


def test_app_args_carry_every_setting_but_the_address() -> None:
    settings = Settings(port=9000, max_sessions=12, demo_video=Path("/v.mp4"))
    args = app_args(settings, provider="cuda", max_batch_size=None)
    assert args["provider"] == "cuda" and "max_batch_size" not in args
    assert args["settings"]["max_sessions"] == 12
    assert args["settings"]["demo_video"] == "/v.mp4"
    assert "port" not in args["settings"] and "host" not in args["settings"]
    assert AppArgs.parse(args).settings["max_sessions"] == 12


def test_the_builder_migrates_once_and_interrupts_only_abandoned_sessions(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    now = datetime.now(UTC)
    try:
        with store.begin() as db:
            old = repository.start_session(
                db,
                exercise_id="squat",
                language="en",
                started_at=now - timedelta(hours=7),
            ).id
            live = repository.start_session(
                db,
                exercise_id="squat",
                language="en",
                started_at=now - timedelta(minutes=5),
            ).id
        app = build_app({"db_url": url})
        assert type(app).__name__ == "Application"
        with store.session() as db:
            assert repository.get_session(db, old).status == SessionStatus.INTERRUPTED
            # A session another replica may be serving right now is left alone.
            assert repository.get_session(db, live).status == SessionStatus.ACTIVE
    finally:
        store.dispose()


def test_the_builder_creates_the_schema_of_a_new_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    build_app({"db_url": url})
    from server.store import current_revision, head_revision

    assert current_revision(url) == head_revision()


def test_a_colocated_app_has_no_inference_deployment(tmp_path: Path) -> None:
    """colocate: the ingress replicas run inference themselves (no handle)."""
    url = f"sqlite:///{tmp_path / 'colocated.db'}"
    separate = build_app({"db_url": url})
    colocated = build_app({"db_url": url, "colocate": True})
    assert separate._bound_deployment.init_args[0] is not None
    assert colocated._bound_deployment.init_args[0] is None
    assert colocated._bound_deployment.name == "MoveCoachIngress"
