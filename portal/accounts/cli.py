"""``portal users …`` and ``portal memberships …``: the same services the pages call."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts import memberships, services
from portal.accounts.factors import removal
from portal.accounts.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.organizations.models import Organization

users = AppGroup("users", help="Accounts and roles.")
memberships_group = AppGroup("memberships", help="Membership upkeep.")


def _person_or_exit(email: str):  # noqa: ANN202 - click callback helper
    person = services.find_person_by_email(email)
    if person is None:
        raise click.ClickException(f"no account with the address {email}")
    return person


@users.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--family-name", default="Admin", show_default=True)
@click.option("--given-name", default="Portal", show_default=True)
def create_admin(email: str, password: str, family_name: str, given_name: str) -> None:
    """Create a confirmed account with the admin role (or give an existing one the role)."""
    try:
        person = services.find_person_by_email(email) or services.create_person_directly(
            email, password, family_name=family_name, given_name=given_name
        )
        if not person.is_admin:
            services.grant_role(person, Role.ADMIN, actor=None, reason="portal users create-admin")
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{person.email} is an admin.")


@users.command("grant")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.argument("email")
@click.option("--org", "org_slug", help="For partner_admin: the organization's slug.")
def grant(role: str, email: str, org_slug: str | None) -> None:
    """Give ROLE to the account EMAIL."""
    person = _person_or_exit(email)
    organization = None
    if org_slug:
        organization = db.session.scalar(select(Organization).where(Organization.slug == org_slug))
        if organization is None:
            raise click.ClickException(f"no organization with the slug {org_slug}")
    try:
        services.grant_role(
            person, role, actor=None, organization=organization, reason="command line"
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{person.email} is now {role}" + (f" of {org_slug}" if org_slug else "") + ".")


@users.command("revoke")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.argument("email")
def revoke(role: str, email: str) -> None:
    """Remove ROLE from the account EMAIL; their sessions end."""
    person = _person_or_exit(email)
    try:
        services.revoke_role(person, role, actor=None, reason="command line")
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{person.email} is no longer {role}.")


@users.command("remove-factors")
@click.argument("email")
@click.option("--reason", required=True, help="Who asked, and how you confirmed it was them.")
def remove_factors(email: str, reason: str) -> None:
    """Remove every second factor of EMAIL (lost device and recovery codes); audited."""
    person = _person_or_exit(email)
    count = removal.remove_every_factor(person, reason=reason)
    click.echo(f"{person.email}: {count} factors and every recovery code removed; sessions ended.")


@memberships_group.command("expire")
def expire() -> None:
    """Mark verified memberships past their validity end as expired (run daily)."""
    count = memberships.expire_memberships()
    click.echo(f"{count} memberships expired.")
