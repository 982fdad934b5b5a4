"""Every string the kiosk page shows or says exists in English and Chinese."""

from __future__ import annotations

import re

from server.app import WEB_DIR

ENTRY = re.compile(r'^\s+(\w+): "(.*)",$', re.M)


def tables() -> dict[str, dict[str, str]]:
    source = (WEB_DIR / "i18n.js").read_text(encoding="utf-8")
    zh_start = source.index('"zh-CN": {')
    return {
        "en": dict(ENTRY.findall(source[source.index("en: {") : zh_start])),
        "zh-CN": dict(ENTRY.findall(source[zh_start:])),
    }


def used_keys() -> set[str]:
    page = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    script = (WEB_DIR / "kiosk.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'data-i18n="(\w+)"', page))
    keys |= set(re.findall(r'\bt\("(\w+)"\s*[,)]', script))  # not t("prefix_" + x)
    keys |= set(re.findall(r'setStatus\("(\w+)"', script))
    return keys


def test_both_languages_have_the_same_non_empty_strings() -> None:
    en, zh = tables()["en"], tables()["zh-CN"]
    assert len(en) > 40
    assert en.keys() == zh.keys()
    assert all(en.values()) and all(zh.values())
    # Translated, not copied (numbers-only lines like the spoken rep count excepted).
    same = {k for k in en if en[k] == zh[k] and re.search("[A-Za-z]{3}", en[k])}
    assert not same, same


def test_every_key_the_page_uses_is_translated() -> None:
    en = tables()["en"]
    missing = used_keys() - en.keys()
    assert not missing, missing


def test_placement_guidance_covers_every_engine_placement() -> None:
    from exercises.events import Placement

    en = tables()["en"]
    assert {f"placement_{p.name}" for p in Placement} <= en.keys()


def test_error_codes_the_page_names_are_translated() -> None:
    script = (WEB_DIR / "kiosk.js").read_text(encoding="utf-8")
    named = set(re.findall(r'm\.code === "(\w+)"', script))
    assert named and {f"error_{code}" for code in named} <= tables()["en"].keys()


# --- the kiosk set-up page and the coach pages ----------------------------------------

COACH_DIR = WEB_DIR / "coach"


def coach_tables() -> dict[str, dict[str, str]]:
    source = (COACH_DIR / "i18n.js").read_text(encoding="utf-8")
    zh_start = source.index('"zh-CN": {')
    return {
        "en": dict(ENTRY.findall(source[source.index("en: {") : zh_start])),
        "zh-CN": dict(ENTRY.findall(source[zh_start:])),
    }


def test_setup_page_and_kiosk_sign_in_strings_are_translated() -> None:
    en = tables()["en"]
    page = (WEB_DIR / "setup.html").read_text(encoding="utf-8")
    script = (WEB_DIR / "setup.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'data-i18n="(\w+)"', page))
    keys |= set(re.findall(r'\b(?:t|status)\("(\w+)"', script))
    # The kiosk names token problems and sign-in errors by the server's error codes.
    keys |= {"kiosk_token_required", "bad_kiosk_token"}
    keys |= {"error_member_code_unknown", "error_too_many_attempts"}
    assert keys and not keys - en.keys(), keys - en.keys()


def test_coach_pages_have_the_same_non_empty_strings_in_both_languages() -> None:
    en, zh = coach_tables()["en"], coach_tables()["zh-CN"]
    assert len(en) > 150
    assert en.keys() == zh.keys()
    assert all(en.values()) and all(zh.values())
    same = {k for k in en if en[k] == zh[k] and re.search("[A-Za-z]{3}", en[k])}
    assert not same, same


def test_every_key_the_coach_pages_use_is_translated() -> None:
    from exercises.authoring import ANGLE_CATALOGUE
    from exercises.metrics import METRICS, VIEWS
    from exercises.spec import POSTURES, builtin_specs
    from server.store.models import Role, SessionStatus

    en = coach_tables()["en"]
    script = (COACH_DIR / "coach.js").read_text(encoding="utf-8")
    page = (COACH_DIR / "index.html").read_text(encoding="utf-8")
    keys = set(re.findall(r'\bt\("(\w+)"\s*[,)]', script))
    keys |= set(re.findall(r'section\(\s*"(\w+)"', script))
    for names in re.findall(r"\[((?:\"\w+\",\s*)+\"\w+\")\]\.map\(\(k\)", script):
        keys |= set(re.findall(r'"(\w+)"', names))
    keys |= set(re.findall(r'data-i18n="(\w+)"', page))
    # Keys built from a prefix and a value: every value the pages can meet.
    keys |= {f"role_{r.value}" for r in Role}
    keys |= {f"status_{s.value}" for s in SessionStatus}
    keys |= {f"view_{v}" for v in VIEWS} | {f"posture_{p}" for p in POSTURES}
    keys |= {"phase_rest", "phase_peak", "bound_min_deg", "bound_max_deg"}
    keys |= {"unit_repetitions", "unit_steps", "unit_s", "unit_cm"}
    # Exercise ids that are no template (group sessions' follow mode): exercise_<id>.
    keys |= {"exercise_group_follow"}
    angles = {a.name for s in builtin_specs().values() for a in s.angles}
    keys |= {f"channel_{c}" for c in angles | set(ANGLE_CATALOGUE) | set(METRICS)}
    missing = keys - en.keys()
    assert not missing, missing


def test_assessment_names_are_translated() -> None:
    from exercises.assessments.norms import NORMS

    en = coach_tables()["en"]
    assert {f"assessment_{test_id}" for test_id in NORMS} <= en.keys()
    from exercises.assessments.norms import Band

    assert {f"band_{b.value}" for b in Band} <= en.keys()
    units = {str(table.unit).strip("{}") for table in NORMS.values()}
    assert units and {f"unit_{u}" for u in units} <= en.keys()


def test_api_error_codes_have_both_languages() -> None:
    from server.api._errors import PAGE_ERROR_MESSAGES
    from server.auth import ERROR_MESSAGES

    for code, text in {**ERROR_MESSAGES, **PAGE_ERROR_MESSAGES}.items():
        assert set(text) == {"en", "zh-CN"} and all(text.values()), code
