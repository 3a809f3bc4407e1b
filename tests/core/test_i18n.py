"""The English catalogue covers every string marked for translation, and keeps its placeholders.

When this fails after UI strings changed, refresh the template and the catalogue, then translate:

    .venv/bin/pybabel extract -F babel.cfg -k _ -k N_ -k gettext -k ngettext:1,2 --no-location \
        --sort-output -o backend/locale/messages.pot .
    .venv/bin/pybabel update -i backend/locale/messages.pot -d backend/locale --no-fuzzy-matching
"""

import re
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from backend import i18n

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "backend" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
# The same keywords as the pybabel command above (its -k options add to Babel's defaults).
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)")
HOW_TO_FIX = (
    "Run `.venv/bin/pybabel extract -F babel.cfg -k _ -k N_ -k gettext -k ngettext:1,2 --no-location "
    "--sort-output -o backend/locale/messages.pot .` and then `.venv/bin/pybabel update -i "
    "backend/locale/messages.pot -d backend/locale --no-fuzzy-matching`, and translate the new entries "
    "in backend/locale/en/LC_MESSAGES/messages.po (no fuzzy flags)."
)


def _forms(value) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),) if value else ()


@cache
def _extracted() -> Catalog:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename="babel.cfg")
    catalogue = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalogue


@cache
def _english() -> Catalog:
    with CATALOGUE.open("rb") as fh:
        return read_po(fh, locale="en")


def test_extraction_finds_the_ui_strings():
    ids = {message.id for message in _extracted() if message.id}
    assert "登录" in ids and "督查督办人员" in ids, "extraction found none of the known strings; check babel.cfg"


def test_every_source_string_has_an_english_translation():
    english = _english()
    missing = []
    for message in _extracted():
        if not message.id:
            continue
        found = english.get(message.id, context=message.context)
        strings = _forms(found.string) if found is not None else ()
        if found is None or found.fuzzy or not strings or not all(strings):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            missing.append(f"  {' | '.join(_forms(message.id))}  ({where})")
    assert not missing, (
        f"{len(missing)} message(s) missing from or untranslated in backend/locale/en/LC_MESSAGES/messages.po:\n"
        + "\n".join(sorted(missing))
        + "\n"
        + HOW_TO_FIX
    )


def test_translations_keep_their_placeholders():
    wrong = []
    for message in _english():
        if not message.id or not message.string:
            continue
        expected = {name for form in _forms(message.id) for name in PLACEHOLDER.findall(form)}
        for translation in _forms(message.string):
            got = set(PLACEHOLDER.findall(translation))
            if translation and got != expected:
                wrong.append(
                    f"  {_forms(message.id)[0]} -> {translation}: expected {sorted(expected)}, got {sorted(got)}"
                )
    assert not wrong, "translations whose %(name)s placeholders differ from the source:\n" + "\n".join(wrong)


def test_catalogue_has_no_fuzzy_entries():
    fuzzy = [str(message.id) for message in _english() if message.id and message.fuzzy]
    assert not fuzzy, "fuzzy entries are ignored at run time; review and clear the flag:\n" + "\n".join(fuzzy)


def test_switching_locale_translates_and_switches_back():
    try:
        assert i18n.set_locale("en") == "en"
        assert i18n.gettext("登录") == "Log in"
        assert i18n.gettext("密码至少需要 %(n)s 位。", n=10) == "The password must be at least 10 characters."
        assert i18n.set_locale("zh_Hans") == "zh_Hans"
        assert i18n.gettext("登录") == "登录"
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)
    assert i18n.get_locale() == i18n.DEFAULT_LOCALE


def test_a_placeholder_named_message_is_filled_in():
    # pg_dump's and pg_restore's failures quote the tool's own words as %(message)s; they once raised TypeError.
    failed = i18n.gettext("pg_dump 失败（退出码 %(code)s）：%(message)s", code=1, message="connection refused")
    assert failed == "pg_dump 失败（退出码 1）：connection refused"
