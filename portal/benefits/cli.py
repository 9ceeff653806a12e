"""``portal benefits …``: the same eligibility and report the pages use, for staff scripts."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.memberships import today
from portal.accounts.services import find_person_by_email
from portal.benefits import queries, report
from portal.extensions import db
from portal.i18n import localized
from portal.organizations.models import Agreement
from portal.organizations.queries import get_hub

benefits = AppGroup("benefits", help="Reciprocal benefits: eligibility and the report.")


@benefits.command("eligibility")
@click.argument("email")
@click.option("--lang", default="en", type=click.Choice(["en", "ja"]), show_default=True)
def eligibility_command(email: str, lang: str) -> None:
    """What the account EMAIL may claim now, and why not (as its catalogue shows it)."""
    person = find_person_by_email(email)
    if person is None:
        raise click.ClickException(f"no account with the address {email}")
    with force_locale(lang):
        for section in queries.catalogue(person):
            for direction in section.directions:
                for offer in direction.offers:
                    verdict = offer.eligibility
                    state = "eligible" if verdict.eligible else verdict.reason.value
                    line = f"{offer.service.id:>5}  {direction.provider.short_name:<12} "
                    line += f"{localized(offer.service, 'title')}  [{state}]"
                    if not verdict.eligible:
                        line += f" {verdict.message}"
                    click.echo(line)


@benefits.command("report")
@click.option("--period", type=click.Choice(report.PERIOD_KINDS), default="quarter")
@click.option("--year", type=int, default=None, help="Default: this year in Japan.")
@click.option("--mou", "slug", default=None, help="One MOU's slug; default: every MOU.")
@click.option("--lang", default="en", type=click.Choice(["en", "ja"]), show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default="-")
def report_command(period: str, year: int | None, slug: str | None, lang: str, output: str) -> None:
    """The reciprocity report as CSV (UTF-8 with BOM, for Excel)."""
    hub = get_hub()
    query = select(Agreement).options(joinedload(Agreement.hub), joinedload(Agreement.partner))
    if slug:
        query = query.where(Agreement.slug == slug)
    agreements = list(db.session.scalars(query.order_by(Agreement.signed_on, Agreement.id)))
    if slug and not agreements:
        raise click.ClickException(f"no MOU with the slug {slug}")
    with force_locale(lang):
        text = report.to_csv(
            report.reciprocity_report(
                agreements,
                kind=period,  # type: ignore[arg-type]
                year=year or today(hub).year,
                timezone=hub.timezone if hub else "Asia/Tokyo",
            )
        )
    with click.open_file(output, "wb") as out:
        out.write(text.encode("utf-8"))
