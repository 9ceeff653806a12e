"""The records a management page is about, as the actor may see them: anything outside the
actor's scope is the 404 page (rule 4), decided by the scoped queries."""

from __future__ import annotations

from flask import abort

from portal.accounts import queries
from portal.accounts.models import Membership, Person
from portal.organizations.models import Organization
from portal.pages import acting_person


def organization_or_404(slug: str) -> Organization:
    return queries.organization_for_admin(acting_person(), slug) or abort(404)


def membership_or_404(membership_id: int) -> Membership:
    return queries.membership_for_admin(acting_person(), membership_id) or abort(404)


def person_or_404(person_id: int) -> Person:
    """An account that is not deleted, with its memberships and roles (admins' pages)."""
    person = queries.person_with_memberships(person_id)
    if person is None or person.deleted_at is not None:
        abort(404)
    return person
