"""Every HTTP route, fuzzed from the app's own OpenAPI schema (schemathesis), with a
staff member's, a kiosk's and no credentials, against a live server seeded with two
centres (`tests/server/fuzz_world.py`).

Each operation gets `EXAMPLES` generated requests per credential, half that fit the
schema and half that do not (schemathesis' negative mode: wrong types, missing
fields, out-of-range values). Each request: no 5xx. After each credential's run: the
server still answers /health and is ready, nothing was logged at ERROR, and centre B's
earlier records (which A's admin may not touch) are byte for byte as before. The
number of requests sent is asserted and printed (`-rP` shows it).

Reproducible: hypothesis runs derandomized, without an example database
(`fuzz_settings`).
"""

from __future__ import annotations

import http.cookiejar
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.server.conftest import ScriptedBackend
from tests.server.fuzz_world import FuzzWorld, fuzz_server, fuzz_settings

pytestmark = pytest.mark.slow

EXAMPLES = 6
"""Generated requests per operation, credential and generation mode (at most: a
small input space runs out sooner)."""
MIN_REQUESTS = 334
"""Per credential: 3 x 334 >= 1,000 generated requests per run."""
TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    tmp: Path = tmp_path_factory.mktemp("fuzz-http")
    with fuzz_server(tmp, backend_factory=ScriptedBackend) as world:
        yield world


def _session() -> requests.Session:
    """No cookie jar: a sign-in's cookie must not lend the next request its
    credentials."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


def _headers(world: FuzzWorld, who: str) -> dict[str, str]:
    if who == "staff":
        return {"Authorization": f"Bearer {world.staff_token()}"}
    if who == "kiosk":
        return {"Authorization": f"Bearer {world.kiosk_token()}"}
    return {}


def _seeded_ids(world: FuzzWorld, operation: Any) -> list[dict[str, int]]:
    """Path parameters naming the seeded records of centre A (the fuzzer's: real
    success paths) and of centre B (another centre's: must stay out of reach)."""
    names = re.findall(r"{(\w+)}", operation.path)
    out = []
    for centre in (world.a, world.b):
        if names and all(name in centre for name in names):
            out.append({name: int(centre[name]) for name in names})
    return out


def _fuzz(
    world: FuzzWorld, operation: Any, who: str, mode: GenerationMode, seen: Counter[str]
) -> None:
    session = _session()
    strategy = st.one_of(
        operation.as_strategy(generation_mode=mode),
        *(
            operation.as_strategy(generation_mode=mode, path_parameters=fixed)
            for fixed in _seeded_ids(world, operation)
        ),
    )

    @fuzz_settings(EXAMPLES)
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(
            base_url=world.url,
            session=session,
            headers=_headers(world, who),
            timeout=TIMEOUT_S,
        )
        seen["requests"] += 1
        seen[f"{response.status_code // 100}xx"] += 1
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} ({who}, {mode.value}) answered "
            f"{response.status_code}: {response.text[:500]}\n"
            f"{case.as_curl_command()}"
        )

    try:
        run()
    except Unsatisfiable:
        # Nothing to get wrong: no parameters and no body (GET /health, ...).
        assert mode is GenerationMode.NEGATIVE, operation.label
        seen["no_negative_inputs"] += 1


@pytest.mark.parametrize("who", ["staff", "kiosk", "none"])
def test_every_route_survives_generated_requests(world: FuzzWorld, who: str) -> None:
    before = world.snapshot(world.b["centre_id"])
    schema = schemathesis.openapi.from_url(f"{world.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, [op.label for op in operations]
    seen: Counter[str] = Counter()
    started = time.perf_counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(world, operation, who, mode, seen)
    elapsed_s = time.perf_counter() - started
    print(
        f"http fuzz ({who}): {seen['requests']} requests over {len(operations)} "
        f"operations in {elapsed_s:.1f} s; by status class "
        f"{dict(sorted((k, v) for k, v in seen.items() if k.endswith('xx')))}, "
        f"{seen['no_negative_inputs']} operations without negative inputs"
    )
    assert seen["requests"] >= MIN_REQUESTS, seen
    health = world.health()
    assert health["ready"], health
    assert world.errors == []
    assert world.changed_rows(before, world.b["centre_id"]) == []
