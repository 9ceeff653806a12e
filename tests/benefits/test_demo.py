"""The demo's benefits: every claimable service tells a granted member how to use it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.demo import DEMO_SERVICES, load_demo_data
from portal.extensions import db
from portal.organizations.models import ReciprocalService


@pytest.mark.usefixtures("network")
def test_the_demo_gives_every_claimable_service_instructions_in_both_languages() -> None:
    load_demo_data()

    claimable = db.session.scalars(
        select(ReciprocalService).where(ReciprocalService.claimable.is_(True))
    ).all()
    assert len(claimable) == 20 + len(DEMO_SERVICES)
    for service in claimable:
        assert service.redemption_instructions_en.strip(), service.title_en
        assert service.redemption_instructions_ja.strip(), service.title_en
