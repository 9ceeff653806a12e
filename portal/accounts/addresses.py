"""Email addresses and domains: how accounts are told apart, and which domains may vouch
for membership (domain rules and corporate members' domains)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from portal.accounts.models import Person
from portal.errors import InvalidInput
from portal.extensions import db
from portal.language import gettext as _


def normalize_email(email: str) -> str:
    """The form of an address used to tell accounts apart: trimmed, lower-cased."""
    return email.strip().lower()


def clean_email(email: str) -> str:
    """A syntactically valid address as typed, or InvalidInput (no DNS look-up)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidInput(_("Enter a valid email address.")) from None


def find_person_by_email(email: str) -> Person | None:
    return db.session.scalar(
        select(Person).where(
            Person.email_normalized == normalize_email(email), Person.deleted_at.is_(None)
        )
    )


def email_domain(email_normalized: str) -> str:
    return email_normalized.rpartition("@")[2]


def domain_matches(domain: str, rule_domain: str) -> bool:
    """The domain is ``rule_domain`` or one of its subdomains."""
    return domain == rule_domain or domain.endswith("." + rule_domain)


#: Addresses anyone can get prove nothing about membership.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "ymail.com",
        "outlook.com",
        "outlook.jp",
        "hotmail.com",
        "hotmail.co.jp",
        "live.com",
        "live.jp",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "mail.com",
        "yandex.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "nifty.com",
        "biglobe.ne.jp",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "wanadoo.fr",
        "btinternet.com",
        "sky.com",
    }
)
_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](-*[a-z0-9])*)(\.[a-z0-9](-*[a-z0-9])*)+$")


#: Second-level labels under which anyone can register (co.jp, ac.uk, gouv.fr…): a rule for
#: "co.jp" would verify every Japanese company's staff.
SHARED_SECOND_LEVEL = frozenset(
    {
        "co",
        "ac",
        "or",
        "ne",
        "go",
        "lg",
        "ed",
        "gr",
        "ad",
        "com",
        "org",
        "net",
        "gov",
        "edu",
        "ltd",
        "plc",
        "nhs",
        "sch",
        "gouv",
        "asso",
        "me",
    }
)


def clean_domain(domain: str) -> str:
    """A domain only one organization's people can have addresses at, or InvalidInput."""
    cleaned = domain.strip().lower().lstrip("@").rstrip(".")
    if not _DOMAIN.match(cleaned):
        raise InvalidInput(_("Enter a domain such as example.co.jp."))
    labels = cleaned.split(".")
    if len(labels) == 2 and labels[0] in SHARED_SECOND_LEVEL:
        raise InvalidInput(
            _(
                "%(domain)s is shared by many organizations; enter your own domain under it.",
                domain=cleaned,
            )
        )
    if cleaned in FREE_MAIL_DOMAINS:
        raise InvalidInput(
            _("Anyone can have an address at %(domain)s; it cannot verify members.", domain=cleaned)
        )
    return cleaned
