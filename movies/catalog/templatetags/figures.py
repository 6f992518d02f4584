"""How the site prints a movie's numbers, on every page alike."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def figure(value: float) -> str:
    """A score or a popularity with one decimal (``9.0``, ``95.9``): the values are stored
    so, and a fixed decimal keeps ``96`` and ``95.9`` from reading as different kinds."""
    return floatformat(value, 1)
