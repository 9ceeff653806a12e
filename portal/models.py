"""Every model, imported in one place so Alembic and the mappers see the whole schema."""

from portal.organizations.models import Agreement, Organization, ReciprocalService

__all__ = ["Agreement", "Organization", "ReciprocalService"]
