"""The English catalog: complete, in step with the source, and used by the pages.

Refresh it with `make messages`, translate the new entries in
translations/en/LC_MESSAGES/messages.po, then `make translations` (or just run these tests).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from registry.extensions import babel

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = EN_PO.with_suffix(".mo")
# The same extraction as `make messages` (babel.cfg plus the lazy keywords).
EXTRACT_KEYWORDS = ("_l", "lazy_gettext", "lazy_pgettext:1c,2")
PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")


def read_catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def key(message) -> tuple[str | None, str]:
    """A message's identity: its context and (first, for plurals) msgid."""
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    return message.context, msgid


def texts(value) -> list[str]:
    """msgid or msgstr as a list (plural entries hold several)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def english():
    return read_catalog(EN_PO)


def test_every_message_has_an_english_translation(english):
    assert not english.fuzzy, f"{EN_PO}: the header is marked fuzzy (pybabel compile would skip it)"
    problems = []
    for message in english:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(s.strip() for s in texts(message.string)):
            problems.append(f"untranslated: {message.id!r}")
            continue
        wanted = set().union(*(placeholders(t) for t in texts(message.id)))
        for translation in texts(message.string):
            if placeholders(translation) != wanted:
                problems.append(
                    f"placeholders differ: {message.id!r} {sorted(wanted)} → "
                    f"{translation!r} {sorted(placeholders(translation))}"
                )
    for message, errors in english.check():
        problems.extend(f"{error}: {message.id!r}" for error in errors)
    assert not problems, f"{EN_PO}:\n" + "\n".join(problems)


def test_every_source_string_is_in_the_english_catalog(tmp_path, monkeypatch, english):
    pot = tmp_path / "messages.pot"
    arguments = ["pybabel", "-q", "extract", "-F", "babel.cfg", "-o", str(pot)]
    for keyword in EXTRACT_KEYWORDS:
        arguments += ["-k", keyword]
    monkeypatch.chdir(ROOT)  # locations relative to the project, as in messages.pot
    CommandLineInterface().run([*arguments, "."])
    extracted = read_catalog(pot)
    known = {key(m) for m in english if m.id}
    missing = [
        f"{m.id!r} ({', '.join(f'{path}:{line}' for path, line in m.locations)})"
        for m in extracted
        if m.id and key(m) not in known
    ]
    assert len([m for m in extracted if m.id]) > 100, "extraction found almost nothing: check babel.cfg"
    assert not missing, (
        "strings not in the English catalog; run `make messages` and translate them in "
        f"{EN_PO.relative_to(ROOT)}:\n" + "\n".join(missing)
    )


@pytest.fixture()
def compiled_english(app):
    """translations/en/…/messages.mo, compiled when missing or older than the .po."""
    if not EN_MO.exists() or EN_MO.stat().st_mtime < EN_PO.stat().st_mtime:
        partial = EN_MO.with_name(f".messages.{os.getpid()}.mo")
        with partial.open("wb") as f:
            write_mo(f, read_catalog(EN_PO))
        os.replace(partial, EN_MO)
    # Flask-Babel caches loaded catalogs; drop one read before the .mo existed.
    with app.app_context():
        babel.domain_instance.cache.clear()


@pytest.fixture()
def boss(make, auth):
    make.user("admin", username="boss")
    auth.login("boss")


ENGLISH_PAGES = {
    "/homes": ("Elder-care institution", "Register elder-care institution", "Clear filters"),
    "/medical": ("Medical institution", "Register medical institution", "Institution code"),
    "/agreements": ("Care agreements", "Record care agreement", "Agreement number"),
    "/admin/users": ("User management", "New account", "System administrator"),
    "/": ("Registry overview", "Active care agreements", "District"),
}


def test_pages_speak_english_after_the_switch(client, boss, compiled_english):
    response = client.get("/lang/en?next=/homes")
    assert response.status_code == 302 and response.headers["Location"].endswith("/homes")
    for path, phrases in ENGLISH_PAGES.items():
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.text
        assert 'lang="en"' in page, path
        assert "Maoming Integrated Medical and Elder Care Registry" in page, path
        assert "Log out" in page, path
        for phrase in phrases:
            assert phrase in page, f"{path}: {phrase!r} missing"
        assert "茂名市医养结合登记系统" not in page, path


def test_switching_back_to_chinese(client, boss, compiled_english):
    client.get("/lang/en")
    assert "Elder-care institution" in client.get("/homes").text
    response = client.get("/lang/zh_Hans_CN?next=/homes")
    assert response.status_code == 302
    page = client.get("/homes").text
    assert 'lang="zh-CN"' in page
    assert "养老机构" in page and "茂名市医养结合登记系统" in page
    assert "Elder-care institution" not in page
