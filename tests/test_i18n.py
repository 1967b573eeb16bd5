"""The Chinese catalogue is complete: every message translated, none fuzzy, placeholders kept.

`make messages` refreshes the catalogue from the code; this test then fails until the new
strings are translated, so an English label cannot slip into the Chinese interface."""

from __future__ import annotations

import re
from pathlib import Path

import innocommons

PO = Path(innocommons.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sd]|%[sd]|\{\{\s*[^}]+\}\}")


def _unquote(lines: list[str]) -> str:
    return "".join(
        line.split(" ", 1)[1][1:-1] if " " in line and not line.startswith('"') else line[1:-1]
        for line in lines
    )


def _entries() -> list[dict[str, object]]:
    """msgid / msgstr / flags of each entry; a tiny .po reader (no new dependency)."""
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln and not ln.startswith("#~")]
        flags = " ".join(ln for ln in lines if ln.startswith("#,"))
        fields: dict[str, list[str]] = {}
        key = None
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                if key:
                    fields[key].append(line)
                continue
            key = line.split(" ", 1)[0]
            fields[key] = [line]
        if "msgid" not in fields:
            continue
        msgid = _unquote(fields["msgid"])
        if not msgid:
            continue  # the header
        strs = [_unquote(v) for k, v in fields.items() if k.startswith("msgstr")]
        plural = _unquote(fields["msgid_plural"]) if "msgid_plural" in fields else ""
        entries.append(
            {"msgid": msgid, "plural": plural, "msgstrs": strs, "fuzzy": "fuzzy" in flags}
        )
    return entries


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    entries = _entries()
    assert len(entries) > 500
    missing = [e["msgid"] for e in entries if not all(e["msgstrs"])]
    fuzzy = [e["msgid"] for e in entries if e["fuzzy"]]
    assert not missing, f"{len(missing)} untranslated, e.g. {missing[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


def test_translations_keep_their_placeholders() -> None:
    wrong = []
    for e in _entries():
        singular = set(PLACEHOLDER.findall(str(e["msgid"])))
        plural = set(PLACEHOLDER.findall(str(e["plural"])))
        # Chinese has one plural form: it may use the placeholders of either English form.
        allowed = [singular, plural, singular | plural] if e["plural"] else [singular]
        for msgstr in e["msgstrs"]:  # type: ignore[attr-defined]
            if msgstr and set(PLACEHOLDER.findall(msgstr)) not in allowed:
                wrong.append(e["msgid"])
    assert not wrong, wrong[:5]
