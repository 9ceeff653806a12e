"""People and what they claim to be: members of an organization, holders of a role."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import TimestampMixin, UTCDateTime, one_of, utcnow
from portal.extensions import db
from portal.organizations.models import Organization


class Role(enum.StrEnum):
    PARTNER_ADMIN = "partner_admin"
    STAFF = "staff"
    ADMIN = "admin"


class MembershipKind(enum.StrEnum):
    CORPORATE = "corporate"
    INDIVIDUAL = "individual"


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REVOKED = "revoked"


class VerificationSource(enum.StrEnum):
    MANUAL = "manual"
    ROSTER = "roster"
    DOMAIN_RULE = "domain_rule"
    INVITATION = "invitation"


#: States in which a membership still counts: one such per person and organization.
LIVE_MEMBERSHIP_STATES = (MembershipStatus.PENDING, MembershipStatus.VERIFIED)


class Person(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: As typed, for display and for sending.
    email: Mapped[str] = mapped_column(String(320))
    #: Lower-cased, so ``Taro@Example.jp`` and ``taro@example.jp`` are one account.
    email_normalized: Mapped[str] = mapped_column(String(320), unique=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: A new address waiting for its confirmation link to be followed.
    pending_email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str] = mapped_column(String(100), default="")
    given_name: Mapped[str] = mapped_column(String(100), default="")
    #: Furigana (katakana) of the family and given name, for Japanese sorting and address.
    family_name_kana: Mapped[str] = mapped_column(String(100), default="")
    given_name_kana: Mapped[str] = mapped_column(String(100), default="")
    #: The name in Latin letters, as the person writes it ("Taro Yamada").
    romanized_name: Mapped[str] = mapped_column(String(200), default="")
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    preferred_locale: Mapped[str | None] = mapped_column(String(8))
    #: IANA zone to show times in; empty: the home organization's zone.
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: Secret in the address of the person's calendar feed of registrations.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: In every password-reset link: bumped by a password change or reset, so older links
    #: stop working. (Sessions are ``LoginSession`` rows, ended one by one: rule 15.)
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the dashboard last showed the person news (claims decided since): what was
    #: decided after it is "since the last visit".
    dashboard_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set when the person deleted their account; the row stays, emptied of personal data,
    #: so audit entries and payments keep pointing somewhere.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="person",
        foreign_keys="Membership.person_id",
        cascade="all, delete-orphan",
        order_by="Membership.id",
    )
    role_grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="person",
        foreign_keys="RoleGrant.person_id",
        cascade="all, delete-orphan",
    )
    #: The companies whose seats this person manages (``Company.primary_contact``): known to
    #: be none with the signed-in person (``accounts.queries.settle_rare_collections``), so
    #: the dashboard's link to the seats costs no statement for anyone else.
    companies_contacted: Mapped[list[Company]] = relationship(
        foreign_keys="Company.primary_contact_id", viewonly=True, order_by="Company.id"
    )

    #: The sign-in this object was loaded for (``accounts.sessions``): set by sign-in and by
    #: Flask-Login's loader, never stored on the person's row.
    # (Plain attributes, not annotated: they are no columns.)
    login_session_key = None
    login_session = None

    def get_id(self) -> str:
        """What the session cookie (and a "stay logged in" cookie) names: the person and one
        session record of theirs, ``<person id>:<secret>`` (rule 15). The record, not this id,
        decides whether the cookie still signs anyone in."""
        if self.login_session_key is None:
            raise RuntimeError("a person is signed in only through accounts.sessions.sign_in")
        return f"{self.id}:{self.login_session_key}"

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def has_role(self, role: Role, organization_id: int | None = None) -> bool:
        return any(
            g.role == role and (organization_id is None or g.organization_id == organization_id)
            for g in self.role_grants
        )

    @property
    def is_staff(self) -> bool:
        return self.has_role(Role.STAFF) or self.has_role(Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def acts_for(self, organization: Organization) -> bool:
        """Decides for this organization: its partner admins, or staff for LINK-J (the hub)."""
        if organization.is_hub:
            return self.is_staff
        return self.has_role(Role.PARTNER_ADMIN, organization.id)

    @property
    def administered_organization_id(self) -> int | None:
        """The one organization this person is partner admin of, if any."""
        for grant in self.role_grants:
            if grant.role == Role.PARTNER_ADMIN:
                return grant.organization_id
        return None

    def __repr__(self) -> str:
        return f"<Person {self.id}>"


class RoleGrant(db.Model):
    __tablename__ = "role_grant"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role"),
        CheckConstraint("(role = 'partner_admin') = (organization_id IS NOT NULL)", name="scope"),
        UniqueConstraint("person_id", "role", name="uq_role_grant_person_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    #: For partner admins: the one organization they act for.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    person: Mapped[Person] = relationship(back_populates="role_grants", foreign_keys=[person_id])
    organization: Mapped[Organization | None] = relationship()


class Company(TimestampMixin, db.Model):
    """A corporate member of LINK-J: the company holds the membership, its staff use seats."""

    __tablename__ = "company"
    __table_args__ = (CheckConstraint("seat_count >= 1", name="seat_count"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    #: Colleagues may be invited only at this domain (``example.co.jp``).
    email_domain: Mapped[str] = mapped_column(String(253))
    seat_count: Mapped[int] = mapped_column(default=5)
    valid_until: Mapped[date | None]
    primary_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )

    organization: Mapped[Organization] = relationship()
    primary_contact: Mapped[Person | None] = relationship(foreign_keys=[primary_contact_id])
    memberships: Mapped[list[Membership]] = relationship(back_populates="company")


class Membership(TimestampMixin, db.Model):
    """A person's claim to be a member of one organization, and that organization's answer."""

    __tablename__ = "membership"
    __table_args__ = (
        CheckConstraint(one_of("status", MembershipStatus), name="status"),
        CheckConstraint(one_of("kind", MembershipKind), name="kind"),
        CheckConstraint(
            f"verified_via IS NULL OR {one_of('verified_via', VerificationSource)}",
            name="verified_via",
        ),
        # One live (pending or verified) membership per person and organization.
        Index(
            "uq_membership_live",
            "person_id",
            "organization_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'verified')"),
            postgresql_where=text("status IN ('pending', 'verified')"),
        ),
        # The verification queue: an organization's memberships in a state, oldest first.
        Index("ix_membership_queue", "organization_id", "status", "created_at"),
        # A person's memberships, loaded on every signed-in page (uq_membership_live is partial).
        Index("ix_membership_person", "person_id"),
        # The API's pages of an organization's memberships, in id order from a cursor.
        Index("ix_membership_organization_id_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16), default=MembershipKind.INDIVIDUAL.value)
    #: The number the home organization issued, as the person typed it.
    member_number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=MembershipStatus.PENDING.value)
    #: Last day of validity; member treatment ends after it (rule 3).
    valid_until: Mapped[date | None]
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("company.id", ondelete="SET NULL"), index=True
    )
    verified_via: Mapped[str | None] = mapped_column(String(16))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Shown to the person when rejected or revoked.
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    #: Set when a roster upload no longer lists this verified member; the admin decides.
    missing_from_roster_since: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship(back_populates="memberships", foreign_keys=[person_id])
    organization: Mapped[Organization] = relationship()
    company: Mapped[Company | None] = relationship(back_populates="memberships")
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])

    def effective_status(self, today: date) -> MembershipStatus:
        """The state as of ``today``: a verified membership past its end counts as expired."""
        status = MembershipStatus(self.status)
        if status == MembershipStatus.VERIFIED and self.valid_until and self.valid_until < today:
            return MembershipStatus.EXPIRED
        return status

    def is_verified_on(self, today: date) -> bool:
        return self.effective_status(today) == MembershipStatus.VERIFIED


class Invitation(db.Model):
    """A corporate member's primary contact inviting a colleague to one of its seats."""

    __tablename__ = "invitation"
    __table_args__ = (
        Index(
            "uq_invitation_open",
            "company_id",
            "email_normalized",
            unique=True,
            sqlite_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    email_normalized: Mapped[str] = mapped_column(String(320))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company] = relationship()


class RosterUpload(db.Model):
    """A partner's member list as uploaded; the newest one is the organization's roster."""

    __tablename__ = "roster_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    filename: Mapped[str] = mapped_column(String(255), default="")
    #: The encoding the file was read in (utf-8-sig, cp932…), shown back to the admin.
    encoding: Mapped[str] = mapped_column(String(16), default="utf-8")
    row_count: Mapped[int] = mapped_column(default=0)

    entries: Mapped[list[RosterEntry]] = relationship(
        back_populates="upload", cascade="all, delete-orphan"
    )
    uploaded_by: Mapped[Person | None] = relationship(foreign_keys=[uploaded_by_id])


class RosterEntry(db.Model):
    __tablename__ = "roster_entry"
    __table_args__ = (
        CheckConstraint(
            "member_number IS NOT NULL OR email_normalized IS NOT NULL", name="identifies"
        ),
        Index("ix_roster_entry_upload_number", "upload_id", "member_number"),
        Index("ix_roster_entry_upload_email", "upload_id", "email_normalized"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("roster_upload.id", ondelete="CASCADE"))
    member_number: Mapped[str | None] = mapped_column(String(64))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    valid_until: Mapped[date | None]

    upload: Mapped[RosterUpload] = relationship(back_populates="entries")


class EmailDomainRule(db.Model):
    """People with a confirmed address at this domain are verified members automatically."""

    __tablename__ = "email_domain_rule"
    __table_args__ = (
        UniqueConstraint("organization_id", "domain", name="uq_email_domain_rule_domain"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    organization: Mapped[Organization] = relationship()


class CrossBorderConsent(db.Model):
    """A person's agreement that their data may go to one partner abroad (APPI art. 28).

    One live consent per person and partner; withdrawing it (or a new statement replacing
    the one agreed to) sets ``withdrawn_at``, and the row stays as the record of what was
    agreed to and when.
    """

    __tablename__ = "cross_border_consent"
    __table_args__ = (
        CheckConstraint("statement_version >= 1", name="statement_version"),
        CheckConstraint(
            "withdrawn_at IS NULL OR withdrawn_at >= given_at", name="withdrawn_after_given"
        ),
        Index(
            "uq_cross_border_consent_live",
            "person_id",
            "organization_id",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
        # Withdrawing a partner's consents and the person's list (the live index is partial).
        Index("ix_cross_border_consent_person", "person_id", "given_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: The partner abroad whose staff may see the person's claims and registrations.
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    #: The version of the statement the person was shown (``consents.STATEMENT_VERSION``).
    statement_version: Mapped[int]
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    organization: Mapped[Organization] = relationship()

    @property
    def is_live(self) -> bool:
        return self.withdrawn_at is None


class SessionEnd(enum.StrEnum):
    """Why a sign-in ended before its time (rule 15)."""

    LOGOUT = "logout"
    ENDED_BY_OWNER = "ended_by_owner"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a password
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a password
    ROLE_REMOVED = "role_removed"
    ACCOUNT_DELETED = "account_deleted"
    SIGNED_OUT_BY_ADMIN = "signed_out_by_admin"
    FACTORS_REMOVED = "factors_removed"  # every second factor removed from the shell


class LoginSession(db.Model):
    """One sign-in of one browser (rule 15): the session cookie names it by a secret whose
    hash alone is kept here, so a copied cookie stops working the moment the record ends.

    A record ``held_for`` a step (a mailed sign-in link, a second factor) signs nobody in
    until that step releases it.
    """

    __tablename__ = "login_session"
    __table_args__ = (
        CheckConstraint(one_of("end_reason", SessionEnd), name="end_reason"),
        Index("ix_login_session_person_live", "person_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: SHA-256 of the secret in the cookie (hex); the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: "Stay logged in": a longer life, and a cookie that outlives the browser.
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Updated at most once a minute (not on every request).
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The step still to pass before this record signs anyone in (``mailed_link``…).
    held_for: Mapped[str | None] = mapped_column(String(32))
    #: Unused, always empty: what a browser proved with a second factor is kept in that
    #: browser's session (``factors.state`` says why). The column predates that decision.
    factor_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The browser's User-Agent, shortened; parsed for display on the sessions page.
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    #: The first part of the address signed in from (``203.0.113``), never the whole address.
    network: Mapped[str] = mapped_column(String(64), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
