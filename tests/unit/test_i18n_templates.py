"""Templates are filled by `str.format_map` with each value wrapped to be escaped
(bot/i18n.py). The wrapper formats the value itself; a conversion (`{name!r}`) or a field
reached through the value (`{ticket.number}`, `{rows[0]}`) would get the wrapper instead, so
the catalogs use plain named fields only."""

from __future__ import annotations

import string

import pytest

from bot.i18n import LOCALES, Raw, catalog, translate


@pytest.mark.parametrize("locale", LOCALES)
def test_templates_use_plain_named_fields(locale: str) -> None:
    odd = []
    for key, template in catalog(locale).items():
        for _, field, _, conversion in string.Formatter().parse(template):
            if field is None:
                continue
            if conversion or not field.isidentifier():
                odd.append(f"{key}: {{{field}{'!' + conversion if conversion else ''}}}")
    assert odd == []


def test_values_are_escaped_and_fragments_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    templates = {"t.name": "<b>{name}</b> {{literal}} {count:02d} {fragment}"}
    monkeypatch.setitem(catalog("en"), "t.name", templates["t.name"])
    text = translate("en", "t.name", name="<b>Tom & Jerry</b>", count=7, fragment=Raw("<i>x</i>"))
    assert text == "<b>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</b> {literal} 07 <i>x</i>"
    with pytest.raises(KeyError):
        translate("en", "t.name", name="n", count=1)  # a field left without a value
