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
