"""API keys: created for one organization by the people who decide for it, shown once, kept
as a hash, revoked by them (rule 18)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.memberships import can_decide_memberships
from portal.accounts.models import Person
from portal.api.models import ApiKey, Scope
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import Organization

#: Every secret starts so, which lets secret scanners (and people) recognise one.
SECRET_PREFIX = "lkj_"  # noqa: S105 - a marker, not a secret
#: How often a key's last use is written: a busy integration should not write on every call.
LAST_USED_RESOLUTION_SECONDS = 60


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    #: The secret itself: shown once, never stored.
    secret: str


def may_hold_keys(actor: Person | None, organization: Organization) -> bool:
    """Keys act for an organization as its deciders do: its partner admins, staff for LINK-J."""
    return can_decide_memberships(actor, organization)


def _require_holder(actor: Person, organization: Organization) -> None:
    if not may_hold_keys(actor, organization):
        raise NotFound(_("Not found."))


def create_key(
    organization: Organization, *, actor: Person, name: str, scopes: Iterable[str]
) -> CreatedKey:
    """A new key for the organization, acting with the actor's rights within ``scopes``."""
    _require_holder(actor, organization)
    name = name.strip()
    if not name:
        raise InvalidInput(_("Name the key after the system that will use it."), field="name")
    if len(name) > ApiKey.__table__.c.name.type.length:
        raise InvalidInput(_("The name is too long."), field="name")
    chosen = sorted(set(scopes))
    known = {scope.value for scope in Scope}
    if not chosen or not set(chosen) <= known:
        raise InvalidInput(_("Choose at least one permission."), field="scopes")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        organization_id=organization.id,
        created_by_id=actor.id,
        name=name,
        prefix=secret[:12],
        secret_hash=secret_hash(secret),
        scopes=chosen,
    )
    db.session.add(key)
    db.session.flush()
    record(
        "api_key.create",
        actor=actor,
        subject_type="api_key",
        subject_id=key.id,
        organization_id=organization.id,
        scopes=chosen,
    )
    db.session.commit()
    return CreatedKey(key, secret)


def revoke_key(key: ApiKey, *, actor: Person) -> None:
    """The key stops working at once; it stays listed, marked revoked."""
    _require_holder(actor, key.organization)
    if key.revoked_at is not None:
        raise InvalidTransition(_("This key is already revoked."))
    key.revoked_at = utcnow()
    key.revoked_by_id = actor.id
    record(
        "api_key.revoke",
        actor=actor,
        subject_type="api_key",
        subject_id=key.id,
        organization_id=key.organization_id,
    )
    db.session.commit()


def keys_of(organization: Organization) -> list[ApiKey]:
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.organization_id == organization.id)
            .options(joinedload(ApiKey.created_by))
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def key_for_holder(actor: Person, key_id: int) -> ApiKey | None:
    key = db.session.scalar(
        select(ApiKey).where(ApiKey.id == key_id).options(joinedload(ApiKey.organization))
    )
    if key is None or not may_hold_keys(actor, key.organization):
        return None
    return key


def key_for_secret(secret: str) -> ApiKey | None:
    """The live key with this secret, if the person who created it still decides for its
    organization (a partner admin who lost the role takes their keys' rights along)."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    key = db.session.scalar(
        select(ApiKey)
        .where(ApiKey.secret_hash == secret_hash(secret), ApiKey.revoked_at.is_(None))
        .options(
            joinedload(ApiKey.organization),
            joinedload(ApiKey.created_by).selectinload(Person.role_grants),
        )
    )
    if key is None or not key.created_by.is_active:
        return None
    if not may_hold_keys(key.created_by, key.organization):
        return None
    return key


def note_use(key: ApiKey, *, method: str, path: str, status: int) -> None:
    """Audit one call (rule 7, rule 18) and, at most once a minute, the key's last use.

    One INSERT per call and no reads: the cheapest record that still says who did what when.
    Commits, after the call's own work has been committed or rolled back.
    """
    now = utcnow()
    if (
        key.last_used_at is None
        or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        key.last_used_at = now
    record(
        "api.call",
        actor=key.created_by,
        subject_type="api_key",
        subject_id=key.id,
        organization_id=key.organization_id,
        method=method,
        path=path[:200],
        status=status,
    )
    db.session.commit()
