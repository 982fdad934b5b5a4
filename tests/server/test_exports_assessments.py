"""An assessment taken at the kiosk reaches the FHIR export: an Observation coded with
the MoveCoach assessment code system, a UCUM valueQuantity and an interpretation from
the band (HL7 low/normal/high plus the MoveCoach band)."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle

from server import exports
from server.store import DatabaseRecorder, Store
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    pg_database_url,
    seed_centre,
    sqlite_template,
    store,
)
from tests.server.test_ws_assessments import T0_MS, TEST_MS, run_curls, serve


@pytest.mark.parametrize(
    ("band", "code"),
    [("below", "L"), ("normal", "N"), ("above", "H")],
    ids=["below", "normal", "above"],
)
def test_band_interpretation_table(band: str, code: str) -> None:
    assert exports.BAND_INTERPRETATION[band][0] == code


def test_kiosk_assessment_is_a_fhir_observation(
    store: Store,  # noqa: F811
    db_url: str,  # noqa: F811
) -> None:
    ids = seed_centre(store)
    app_store = Store(db_url)
    with (
        serve(recorder=DatabaseRecorder(app_store), store=app_store) as client,
        client.websocket_connect("/ws") as ws,
    ):
        _, seen = run_curls(ws, T0_MS + TEST_MS, resident=ids["member_code"])
    result = next(m for m in seen if m["type"] == "assessment_completed")["result"]
    with store.session() as db:
        bundle = exports.resident_fhir(db, ids["resident_id"])
    Bundle.model_validate(bundle)  # the HL7 R4B models accept every element
    observations = [
        r["resource"]
        for r in bundle["entry"]
        if r["resource"]["resourceType"] == "Observation"
        and r["resource"]["code"]["coding"][0]["system"] == exports.ASSESSMENT_SYSTEM
    ]
    assert len(observations) == 1
    obs = observations[0]
    assert obs["code"]["coding"][0]["code"] == "arm_curl_30s"
    assert obs["valueQuantity"] == {
        "value": result["value"],
        "unit": "curls",
        "system": exports.UCUM,
        "code": "{curls}",
    }
    codings = obs["interpretation"][0]["coding"]
    hl7 = exports.BAND_INTERPRETATION[result["band"]][0]
    assert codings[0] == {
        "system": exports.INTERPRETATION_SYSTEM,
        "code": hl7,
        "display": exports.BAND_INTERPRETATION[result["band"]][1],
    }
    assert codings[1] == {"system": exports.BAND_SYSTEM, "code": result["band"]}
    percentile = obs["component"][0]["valueQuantity"]["value"]
    assert percentile == pytest.approx(result["percentile"], abs=1e-3)
    assert obs["subject"]["reference"].startswith("urn:uuid:")
