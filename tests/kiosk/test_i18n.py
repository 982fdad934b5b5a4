"""Every string the pages show or say exists in English and Chinese: each string table
(kiosk/web/*/i18n.js, shared/strings.js) holds the same keys in both, and every key a
page's HTML or modules name is in a table that page loads (tests/kiosk/web_modules.py
follows the imports)."""

from __future__ import annotations

import re

import pytest

from tests.kiosk.web_modules import (
    PAGES,
    module,
    page_graph,
    page_keys,
    page_tables,
    strings_table,
    used_keys,
)

KIOSK = "index.html"
SETUP = "setup.html"
GROUP = "group/index.html"
COACH = "coach/index.html"

# A language's own name is written in that language on both sides (language buttons).
ENDONYMS = {"lang_en", "lang_zh"}

TABLES = sorted({path for page in PAGES for path in page_tables(page)})


def test_every_page_loads_the_shared_translation_and_its_own_strings() -> None:
    for page in PAGES:
        paths = {m.path for m in page_graph(page)}
        assert "shared/i18n.js" in paths, page
        assert page_tables(page), page
    assert {"i18n.js", "shared/strings.js", "group/i18n.js", "coach/i18n.js"} <= set(
        TABLES
    )


@pytest.mark.parametrize("path", TABLES)
def test_both_languages_have_the_same_non_empty_strings(path: str) -> None:
    table = strings_table(module(path))
    assert table is not None
    en, zh = table["en"], table["zh-CN"]
    assert en.keys() == zh.keys()
    assert all(en.values()) and all(zh.values())
    # Translated, not copied (numbers-only lines like the spoken rep count excepted).
    same = {k for k in en if en[k] == zh[k] and re.search("[A-Za-z]{3}", en[k])}
    assert not same - ENDONYMS, same


@pytest.mark.parametrize("page", PAGES)
def test_no_key_is_defined_twice_in_a_page(page: str) -> None:
    """The tables a page adds merge into one: a key in two would silently shadow."""
    seen: dict[str, str] = {}
    for path, table in page_tables(page).items():
        for key in table["en"]:
            assert key not in seen, f"{key} in {seen.get(key)} and {path}"
            seen[key] = path


@pytest.mark.parametrize("page", PAGES)
def test_every_key_the_page_uses_is_translated(page: str) -> None:
    used = used_keys(page)
    assert used
    missing = used - page_keys(page).keys()
    assert not missing, missing


def test_the_kiosk_page_has_its_strings() -> None:
    assert len(page_keys(KIOSK)) > 40
    assert {"camera_insecure_context", "camera_insecure_fix"} <= page_keys(KIOSK).keys()


def test_placement_guidance_covers_every_engine_placement() -> None:
    from exercises.events import Placement

    en = page_keys(KIOSK)
    assert {f"placement_{p.name}" for p in Placement} <= en.keys()


def test_error_codes_the_pages_name_are_translated() -> None:
    for page in (KIOSK, GROUP):
        named = {
            code
            for m in page_graph(page)
            for code in re.findall(r'm\.code === "(\w+)"', m.source)
        }
        named |= {
            code
            for m in page_graph(page)
            for codes in re.findall(r"\[([^\]]+)\]\.includes\(m\.code\)", m.source)
            for code in re.findall(r'"(\w+)"', codes)
        } - {"bad_message"}  # a malformed check-in says the generic error
        assert named and {f"error_{code}" for code in named} <= page_keys(page).keys()


def test_setup_page_and_kiosk_sign_in_strings_are_translated() -> None:
    keys = used_keys(SETUP)
    assert keys and not keys - page_keys(SETUP).keys(), keys - page_keys(SETUP).keys()
    # The kiosk names token problems and sign-in errors by the server's error codes.
    keys = {"kiosk_token_required", "bad_kiosk_token"}
    keys |= {"error_member_code_unknown", "error_too_many_attempts"}
    assert keys <= page_keys(KIOSK).keys()
    assert {"kiosk_token_required", "bad_kiosk_token"} <= page_keys(GROUP).keys()


def test_camera_notice_is_in_both_pages_that_use_a_camera() -> None:
    for page in (KIOSK, GROUP):
        for lang in ("en", "zh-CN"):
            keys = page_keys(page, lang)
            assert "HTTPS" in keys["camera_insecure_context"], (page, lang)
            assert "docs/kiosk-setup.md" in keys["camera_insecure_fix"], (page, lang)
            assert "{origin}" in keys["camera_insecure_context"], (page, lang)


# Chinese strings with no Chinese in them: a language's own name, bare numbers.
NOT_CHINESE = {
    KIOSK: {"lang_switch", "say_rep"},
    SETUP: {"lang_switch", "say_rep"},
    GROUP: {"lang_switch", "lang_en"},
    COACH: {"lang_switch", "signed_in_as"},
}


@pytest.mark.parametrize("page", PAGES)
def test_chinese_strings_are_in_chinese(page: str) -> None:
    zh = page_keys(page, "zh-CN")
    untranslated = {k for k in zh if not re.search("[\u4e00-\u9fff]", zh[k])}
    assert untranslated == NOT_CHINESE[page], untranslated


def test_the_group_screen_has_its_strings() -> None:
    en, zh = page_keys(GROUP), page_keys(GROUP, "zh-CN")
    assert len(en) > 60
    same = {k for k in en if en[k] == zh[k] and re.search("[A-Za-z]{3}", en[k])}
    assert same == {"lang_en"}, same
    # Errors are shown by code ("error_" + code): the group codes and the common ones.
    keys = {f"error_{c}" for c in ("unknown_resident", "unknown_participant")}
    keys |= {"error_no_records", "error_busy", "error_unknown_exercise"}
    keys |= {"kiosk_token_required", "bad_kiosk_token"}
    assert len(used_keys(GROUP) | keys) > 50
    assert not keys - en.keys(), keys - en.keys()


def test_coach_pages_have_their_strings() -> None:
    assert len(page_keys(COACH)) > 150


def test_every_key_the_coach_pages_build_is_translated() -> None:
    from exercises.authoring import ANGLE_CATALOGUE
    from exercises.metrics import METRICS, VIEWS
    from exercises.spec import POSTURES, builtin_specs
    from server.store.models import Role, SessionStatus

    en = page_keys(COACH)
    # Keys built from a prefix and a value: every value the pages can meet.
    keys = {f"role_{r.value}" for r in Role}
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
    from exercises.assessments.norms import NORMS, Band

    en = page_keys(COACH)
    assert {f"assessment_{test_id}" for test_id in NORMS} <= en.keys()
    assert {f"band_{b.value}" for b in Band} <= en.keys()
    units = {str(table.unit).strip("{}") for table in NORMS.values()}
    assert units and {f"unit_{u}" for u in units} <= en.keys()
    kiosk = page_keys(KIOSK)
    assert {f"band_{b.value}" for b in Band} <= kiosk.keys()


def test_api_error_codes_have_both_languages() -> None:
    from server.api._errors import PAGE_ERROR_MESSAGES
    from server.auth import ERROR_MESSAGES

    for code, text in {**ERROR_MESSAGES, **PAGE_ERROR_MESSAGES}.items():
        assert set(text) == {"en", "zh-CN"} and all(text.values()), code


def test_every_key_the_programme_views_build_is_translated() -> None:
    """kiosk/programmes.js and its views build keys from the server's values: the
    programme kinds, a routine section's status, the posture screen's steps and
    levels."""
    from exercises.posture import Level, ScreenStep
    from server.programmes import SECTION_STATUSES, builtin_programmes

    en = page_keys(KIOSK)
    kinds = {p.kind for p in builtin_programmes().values()}
    keys = {f"kind_{k}" for k in kinds} | {f"{k}_result_title" for k in kinds}
    keys |= {f"section_status_{s}" for s in SECTION_STATUSES}
    keys |= {f"posture_view_{s.key}" for s in ScreenStep}
    keys |= {f"level_{v.value}" for v in Level}
    missing = keys - en.keys()
    assert not missing, missing
    # the coach pages' programme views: statuses, levels, figures
    from exercises.posture import FIGURES

    coach = {f"section_status_{s}" for s in SECTION_STATUSES}
    coach |= {f"level_{v.value}" for v in Level} | {f"figure_{f}" for f in FIGURES}
    missing = coach - page_keys(COACH).keys()
    assert not missing, missing
