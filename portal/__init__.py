"""The LINK-J partner portal: one application factory."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, request, session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from portal import assets, fragments, i18n, inputs, locking, pagecache, pages, timefmt, versions
from portal.accounts import passwords
from portal.config import load_settings
from portal.db import (
    PostgresCursor,
    check_connections_by_their_socket,
    end_read_only_transaction,
)
from portal.errors import DomainError
from portal.extensions import babel, csrf, db, init_migrations, limiter, login_manager

PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_dir(name: str) -> Path:
    # A wheel carries templates/static/migrations inside the package; a checkout keeps them
    # beside it at the top level.
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


def create_app(config: dict[str, Any] | None = None, *, tooling: bool = True) -> Flask:
    """Build the portal. ``config`` overrides what the environment says (tests use it).

    ``tooling=False`` (``portal.wsgi``, what gunicorn serves) leaves out the command line and
    Flask-Migrate: a web worker never builds the schema, and Alembic with Mako and Pygments
    took about 11 MB of each worker's memory."""
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(_resource_dir("templates")),
        static_folder=str(_resource_dir("static")),
    )
    environ: dict[str, str] = dict(os.environ)
    if config and "PORTAL_ENV" in config:
        environ["PORTAL_ENV"] = config["PORTAL_ENV"]
    app.config.from_mapping(load_settings(Path(app.instance_path), environ))
    if config:
        app.config.from_mapping(config)

    if app.config["PORTAL_TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    register_server_timing(app)
    register_input_guards(app)
    register_extensions(app)
    register_personal_data()
    register_area_hooks()
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_cache_policy(app)
    if tooling:
        init_migrations(app, directory=str(_resource_dir("migrations")))
        register_commands(app)
    return app


def register_server_timing(app: Flask) -> None:
    """With ``PORTAL_SERVER_TIMING`` on, every response says how long the portal spent on it
    (``Server-Timing: app;dur=<ms>, cpu;dur=<ms>``: wall time and the worker's CPU time), from
    the first request hook (before a page-cache hit is served) to the last: the benchmarks read
    each page kind's own cost from it. Off by default: it tells any client how long each
    request took."""
    if not app.config.get("PORTAL_SERVER_TIMING"):
        return

    @app.before_request
    def start_clock() -> None:
        g.portal_started = (time.perf_counter(), time.process_time())

    @app.after_request
    def stop_clock(response: Response) -> Response:
        started = g.get("portal_started")
        if started is not None:
            wall = (time.perf_counter() - started[0]) * 1000
            cpu = (time.process_time() - started[1]) * 1000
            response.headers["Server-Timing"] = f"app;dur={wall:.2f}, cpu;dur={cpu:.2f}"
        return response


def register_input_guards(app: Flask) -> None:
    """Bad input is the request's fault: 400 or 404 with the portal's page before any view,
    cache lookup or query sees it. Called before anything else registers request hooks or
    routes: the guard runs first, and every blueprint's ``<int:…>`` gets the bounded converter.
    """
    app.url_map.converters["int"] = inputs.IdConverter

    @app.before_request
    def refuse_control_characters() -> None:
        texts = [request.path, *_names_and_values(request.args)]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            texts += _names_and_values(request.form)
            texts += [
                text
                for name, upload in request.files.items(multi=True)
                for text in (name, upload.filename or "")
            ]
        if inputs.has_control_characters(texts):
            abort(400)


def _names_and_values(fields: MultiDict[str, str]) -> list[str]:
    return [text for pair in fields.items(multi=True) for text in pair]


def register_extensions(app: Flask) -> None:
    engine_options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    database_uri = app.config["SQLALCHEMY_DATABASE_URI"]
    connect_args = locking.connect_options(database_uri, app.config["LOCK_TIMEOUT_SECONDS"])
    if database_uri.startswith("postgresql"):
        # The portal runs short statements only. PostgreSQL's JIT compiles a plan whose
        # *estimated* cost is high, and an event's definition (joined with its few ticket
        # types, questions and sessions) is estimated high on tables not yet analysed: it
        # spent seconds compiling what runs in a millisecond.
        connect_args["options"] = f"{connect_args.get('options', '')} -c jit=off".strip()
        if not app.config["DATABASE_PREPARED_STATEMENTS"]:
            connect_args["prepare_threshold"] = None
        # A connection the database closed is found by its socket, not by a round trip on
        # every request (``portal.db.check_connections_by_their_socket``).
        engine_options.pop("pool_pre_ping", None)
        connect_args["cursor_factory"] = PostgresCursor
    engine_options["connect_args"] = {**connect_args, **engine_options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    db.init_app(app)
    if database_uri.startswith("postgresql"):
        with app.app_context():
            check_connections_by_their_socket(db.engine)
    register_read_only_commit(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(PACKAGE_DIR / "translations"),
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    passwords.init_app(app)
    timefmt.init_app(app)
    fragments.init_app(app)
    assets.init_app(app)
    versions.init_app(app)
    pagecache.init_app(app)
    _configure_login(app)
    # Models must be imported for Alembic and relationships to see every table.
    import portal.models  # noqa: F401


def register_read_only_commit(app: Flask) -> None:
    # Registered after Flask-SQLAlchemy's teardown, so it runs before the session is removed
    # (Flask runs them last-registered first).
    @app.teardown_appcontext
    def commit_what_only_read(error: BaseException | None) -> None:
        if error is None and db.session.registry.has():
            end_read_only_transaction(db.session())


#: The areas that hold a person's data besides accounts, in the registry accounts exports and
#: erases through (``portal.accounts.personal_data``); accounts may not import them itself.
PERSONAL_DATA_MODULES = (
    "portal.accounts.consents",
    "portal.accounts.factors.personal_data",
    "portal.events.personal_data",
    "portal.benefits.personal_data",
    "portal.dues.personal_data",
    "portal.payments.personal_data",
)


def register_personal_data() -> None:
    for module in PERSONAL_DATA_MODULES:
        importlib.import_module(module)


def register_area_hooks() -> None:
    """Where a lower area shows a higher one's data, the higher one registers with it: the
    member's dashboard (accounts) shows a section of each area built on accounts (payments
    due, upcoming events, claims decided since the last visit), an MOU's
    management page (organizations) shows its services (benefits), and the reciprocity report
    (benefits) counts registrations (events)."""
    from portal.accounts import audit_sentences as accounts_sentences
    from portal.accounts import dashboard, sessions
    from portal.accounts.factors import state as factor_state
    from portal.accounts.factors.requirement import management_gate
    from portal.admin.access import register_gate
    from portal.benefits import audit_sentences as benefits_sentences
    from portal.benefits import report
    from portal.benefits.dashboard import SECTION as BENEFITS_SECTION
    from portal.benefits.management import mou_services
    from portal.dues.charging import DUES_PURPOSE
    from portal.dues.dashboard import SECTION as DUES_SECTION
    from portal.events import audit_sentences as events_sentences
    from portal.events import export_columns, payment_step
    from portal.events.dashboard import SECTION as EVENTS_SECTION
    from portal.events.report import registrations_by_direction
    from portal.organizations.management import register_mou_section
    from portal.payments import purposes
    from portal.payments.dashboard import SECTION as PAYMENTS_SECTION
    from portal.payments.export_columns import COLUMNS as PAYMENT_COLUMNS
    from portal.payments.registration_step import STEP

    for section in (PAYMENTS_SECTION, EVENTS_SECTION, BENEFITS_SECTION, DUES_SECTION):
        dashboard.register(section)
    # Payments settle what they do not know through its purpose: LINK-J dues.
    purposes.register(DUES_PURPOSE)
    register_mou_section("benefits", mou_services)
    payment_step.register(STEP)
    export_columns.register("payments", PAYMENT_COLUMNS)
    # How the audit log tells each area's decisions.
    accounts_sentences.register()
    benefits_sentences.register()
    events_sentences.register()
    # Management pages need a second factor (rule 17); accounts owns it, access applies it.
    register_gate(management_gate)
    # A person with a second factor signs in only after using it: a step of every sign-in.
    sessions.register_step(factor_state.sign_in_step())
    from portal.api.webhooks import queue_for_entry
    from portal.audit.services import LISTENERS

    if queue_for_entry not in LISTENERS:
        LISTENERS.append(queue_for_entry)
    # Tests build many apps: the counter is added once, or registrations would count twice.
    if registrations_by_direction not in report.REGISTRATION_COUNTERS:
        report.REGISTRATION_COUNTERS.append(registrations_by_direction)


def _configure_login(app: Flask) -> None:
    from portal.accounts.sessions import load_person_for_session
    from portal.language import lazy_gettext

    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # "basic" marks a session non-fresh when the address changes, without logging out
    # people whose mobile network changes their IP every few minutes.
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_person_for_session)


def register_blueprints(app: Flask) -> None:
    from portal import health
    from portal.accounts import management as accounts_management
    from portal.accounts import views as accounts
    from portal.accounts.factors import views as factors
    from portal.admin import overview as admin
    from portal.benefits import management as benefits_manage
    from portal.benefits import views as benefits
    from portal.dues import management as dues_manage
    from portal.dues import views as dues
    from portal.events import views as events
    from portal.events.management.blueprint import blueprint as events_manage
    from portal.organizations import management as organizations_manage
    from portal.organizations import views as organizations
    from portal.payments import management as payments_management
    from portal.payments import views as payments

    for blueprint in (
        organizations.blueprint,
        accounts.blueprint,
        accounts_management.blueprint,
        factors.blueprint,
        events.blueprint,
        events.calendar_blueprint,
        events_manage,
        payments.blueprint,
        payments_management.blueprint,
        benefits.blueprint,
        admin.blueprint,
        organizations_manage.blueprint,
        benefits_manage.blueprint,
        dues.blueprint,
        dues_manage.blueprint,
        health.blueprint,
        i18n.blueprint,
    ):
        app.register_blueprint(blueprint)
    from portal.api import web as api

    api.register(app)
    # The page cache wraps the views it caches, once they are all known.
    pagecache.cache_pages(app)


def register_errorhandlers(app: Flask) -> None:
    from portal.api.problems import answers_api_error
    from portal.api.problems import from_http_error as problem_for
    from portal.db import DATABASE_UNAVAILABLE
    from portal.errorpages import render_error_page

    def render_error(error: HTTPException) -> Any:
        if answers_api_error():
            # An address under /api/ that matched no operation: answered as the API answers.
            return problem_for(error)
        code = error.code or 500
        template = (
            f"errors/{code}.html" if code in (403, 404, 429, 500, 503) else "errors/generic.html"
        )
        page = render_error_page(template, database_failed=False, error=error)
        limit = limiter.current_limit if code == 429 else None
        if limit is not None:
            # Only a refused request says when to come back: X-RateLimit-* headers on every
            # response would cost every limited request another call to Redis.
            return page, code, {"Retry-After": str(max(1, int(limit.reset_at - time.time())))}
        return page, code

    def database_unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
        # One line per request, no traceback: the cause is the database, not this code.
        app.logger.error("database unavailable, answered 503: %s", str(error).splitlines()[0])
        page = render_error_page("errors/503.html", database_failed=True, error=error)
        return page, 503, {"Retry-After": "60"}

    for code in (400, 403, 404, 405, 413, 429, 500, 503):
        app.register_error_handler(code, render_error)
    # A service's refusal raised in a view: rolled back and answered as the view said.
    app.register_error_handler(DomainError, pages.answer_refusal)
    for database_error in DATABASE_UNAVAILABLE:
        app.register_error_handler(database_error, database_unavailable)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def register_security_headers(app: Flask) -> None:
    production = app.config["PORTAL_ENV"] == "production"

    @app.after_request
    def set_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if production:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        response.vary.update(("Cookie", "Accept-Language"))
        return response


def register_cache_policy(app: Flask) -> None:
    """Whatever is answered to a signed-in person shows them (their name in the header, their
    tickets, invoices, data): no browser on a shared computer and no proxy may keep it. That
    includes downloads, error pages and pages served from the server's page cache; static
    files are the same for everyone and stay cacheable."""

    @app.after_request
    def keep_personal_responses_out_of_caches(response: Response) -> Response:
        # The session, not current_user: a page served from the page cache loads nobody, and
        # Flask-Login has put a person restored from "remember me" in the session by now.
        if request.endpoint != "static" and session.get("_user_id"):
            response.headers["Cache-Control"] = "no-store"  # the strictest there is
        return response


def register_commands(app: Flask) -> None:
    from portal.cli import register

    register(app)
