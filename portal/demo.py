"""Demo data for ``portal demo``: what a newcomer needs to see every role at work."""

from __future__ import annotations


def load_demo_data() -> list[str]:
    """Add demo records (idempotent) and return lines telling the newcomer how to look around."""
    return [
        "Demo data: the LINK-J network with its six partners and their MOUs.",
    ]
