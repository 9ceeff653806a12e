"""What a person is shown of a session's browser: "Chrome 126 on Windows 10" (rule 15).

Parsed from the User-Agent with ua-parser (the Browserscope rules); an address is shown only
by its first part, since a place would need a geolocation database the portal does not keep.
"""

from __future__ import annotations

from functools import lru_cache

from portal.language import gettext as _


def _named(family: str | None, major: str | None) -> str | None:
    if not family or family == "Other":
        return None
    return f"{family} {major}" if major else family


@lru_cache(maxsize=512)
def _parts(user_agent: str) -> tuple[str | None, str | None, str | None]:
    # Imported at the first User-Agent read: its rules are a YAML file every process would
    # otherwise load at start, including the many that never list sessions.
    from ua_parser import parse

    result = parse(user_agent)
    browser = (
        _named(*(result.user_agent.family, result.user_agent.major)) if result.user_agent else None
    )
    system = _named(*(result.os.family, result.os.major)) if result.os else None
    device = None
    if result.device and result.device.family not in (None, "Other"):
        device = result.device.family
    return browser, system, device


def describe(user_agent: str) -> str:
    """The browser, system and device of a User-Agent, in the viewer's language."""
    browser, system, device = _parts(user_agent or "")
    browser = browser or _("Unknown browser")
    if system and device and device not in system:
        return _(
            "%(browser)s on %(system)s (%(device)s)", browser=browser, system=system, device=device
        )
    if system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser


def place(network: str) -> str:
    """Where a session was signed in from, as far as the portal knows: the start of its
    address (``203.0.113.…``), no place."""
    if not network:
        return _("unknown")
    separator = ":" if ":" in network else "."
    return _("unknown (address %(network)s)", network=f"{network}{separator}…")
