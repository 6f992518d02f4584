"""How the site marks where a search matched: ``<mark>`` around each range, the rest escaped."""

from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def marked(text: str, ranges: Sequence[Sequence[int]]) -> SafeString:
    """``text``, escaped, with each ``[start, length]`` of ``ranges`` (sorted, apart, as
    catalog.highlighting answers them) in a ``<mark>``."""
    pieces = []
    done = 0
    for start, length in ranges or ():
        pieces.append((text[done:start], text[start : start + length]))
        done = start + length
    return format_html("{}{}", format_html_join("", "{}<mark>{}</mark>", pieces), text[done:])
