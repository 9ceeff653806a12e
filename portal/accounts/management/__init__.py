"""The accounts area's management pages: the verification queue and decisions, rosters,
email-domain rules, LINK-J's corporate members, and people with their roles.

One module per job; their addresses are in ``blueprint``. Which records an actor sees is
decided by the scoped queries (``scope``), what they may do by the services.
"""

from portal.accounts.management.blueprint import blueprint

__all__ = ["blueprint"]
