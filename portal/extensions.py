"""Flask extensions, created once and bound to the app in ``create_app``."""

from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.db import Base

db = SQLAlchemy(model_class=Base)
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
#: No default limits: sign-in, sign-up and reset set their own (see accounts.views).
#: Storage comes from RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set).
limiter = Limiter(key_func=get_remote_address)


def init_migrations(app: Flask, *, directory: str) -> None:
    """Flask-Migrate for ``portal db`` and ``flask_migrate.upgrade()``. Imported here, not at
    the top: Alembic and Mako load only into processes that may build the schema."""
    from flask_migrate import Migrate

    Migrate(compare_type=True, render_as_batch=True).init_app(app, db, directory=directory)
