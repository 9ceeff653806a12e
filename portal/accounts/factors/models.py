"""What a person enrolled as a second factor (rule 17)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db


class Passkey(db.Model):
    """A WebAuthn credential; a person may have several, each with a name they chose."""

    __tablename__ = "passkey"
    __table_args__ = (Index("ix_passkey_person", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    #: The authenticator's counter: a signature not above it comes from a cloned key.
    sign_count: Mapped[int] = mapped_column(default=0)
    #: Comma-separated hints the browser gave (usb, internal, hybrid…), passed back to it.
    transports: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuthenticatorApp(db.Model):
    """A TOTP secret shared with one authenticator app (one per person)."""

    __tablename__ = "authenticator_app"
    __table_args__ = (UniqueConstraint("person_id", name="uq_authenticator_app_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: Base32, as the app was given it.
    secret: Mapped[str] = mapped_column(String(64))
    #: The 30-second step of the last code accepted: a code is never accepted twice.
    last_used_step: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecoveryCode(db.Model):
    """One of the ten codes shown once when the first factor is added; each works once."""

    __tablename__ = "recovery_code"
    __table_args__ = (Index("ix_recovery_code_person", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: Argon2id, like passwords: the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FactorGrace(db.Model):
    """Where a privileged person's grace period counts from when not from their role grant:
    the upgrade that brought second factors, for everyone who held a role then (written by
    migration 0011), or long ago, for someone whose factors were removed from the shell."""

    __tablename__ = "factor_grace"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    counts_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
