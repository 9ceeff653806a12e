"""Who may reach the management pages: the one role check every area's management blueprint
uses, and the stricter checks some pages add.

Which *records* an actor may see is not decided here but by the areas' scoped queries, which
answer None outside the actor's organization, so it is a 404 (rule 4); what an actor may *do*
is the services' rule. This module imports no area: the areas' management pages import it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.extensions import login_manager

#: Checks every management page makes after the role check, registered by the areas that
#: own them (the second factor of rule 17, ``accounts.factors.requirement``): each answers
#: a response to give instead of the page, or None to let the request through.
_GATES: list[Callable[[], Response | None]] = []


def register_gate(gate: Callable[[], Response | None]) -> None:
    """Add a check to every management page (once: tests build many apps)."""
    if gate not in _GATES:
        _GATES.append(gate)


def may_manage() -> bool:
    """Staff, admins and partner admins work in the management pages; members do not."""
    return bool(
        current_user.is_authenticated
        and (current_user.is_staff or current_user.administered_organization_id is not None)
    )


def require_manager() -> Response | None:
    """``before_request`` of every management blueprint: sign in first, then the role."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    if not may_manage():
        abort(403)
    for gate in _GATES:
        answer = gate()
        if answer is not None:
            return answer
    return None


def require_staff() -> None:
    """LINK-J's secretariat (staff or admin) only."""
    if not current_user.is_staff:
        abort(403)


def require_admin() -> None:
    """Admins only (roles are theirs to grant)."""
    if not current_user.is_admin:
        abort(403)


def _keep_out_of_caches(response: Response) -> Response:
    # Member lists and personal data: never stored by a shared computer's browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def management_blueprint(name: str, import_name: str, url_prefix: str = "/admin") -> Blueprint:
    """A blueprint of management pages under ``/admin``, behind the one role check."""
    blueprint = Blueprint(name, import_name, url_prefix=url_prefix)
    blueprint.before_request(require_manager)
    blueprint.after_request(_keep_out_of_caches)
    return blueprint
