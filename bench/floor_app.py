"""The floor: the least a Flask page on this stack costs, served beside the portal.

Flask-SQLAlchemy lists 20 rows of a 5,000-row table through a Jinja template compiled once.
``bench.run`` serves it with the portal's server settings (gunicorn, 2 workers), loads both
the same way in the same run, and prints each portal page's rate as a share of this one.

    DATABASE_URL=postgresql://… gunicorn -w 2 'bench.floor_app:create_app()'

Its table (``bench_floor_item``) lives in the same PostgreSQL database as the portal's; call
``prepare(url)`` once before starting the workers (``bench.run`` does; so does
``python -m bench.floor_app --database-url …``).
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TABLE = "bench_floor_item"
ROWS = 5_000
PAGE_SIZE = 20

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Items</title></head>
<body>
<h1>Items</h1>
<table>
<thead><tr><th>#</th><th>Name</th><th>Added</th></tr></thead>
<tbody>
{% for item in items %}
<tr><td>{{ item.id }}</td><td>{{ item.name }}</td><td>{{ item.created_at.date() }}</td></tr>
{% endfor %}</tbody>
</table>
</body>
</html>
"""


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class FloorItem(db.Model):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def sqlalchemy_url(url: str) -> str:
    """Plain PostgreSQL URLs → psycopg 3, the driver the portal uses too."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(
        database_url or os.environ["DATABASE_URL"]
    )
    db.init_app(app)
    template = app.jinja_env.from_string(PAGE)  # compiled once, per worker

    @app.get("/")
    def index() -> str:
        items = db.session.scalars(select(FloorItem).order_by(FloorItem.id).limit(PAGE_SIZE))
        return template.render(items=items.all())

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


def prepare(database_url: str) -> int:
    """Create the table if missing and fill it to 5,000 rows; returns the row count."""
    app = create_app(database_url)
    with app.app_context():
        FloorItem.__table__.create(db.engine, checkfirst=True)  # type: ignore[attr-defined]
        count = db.session.scalar(select(func.count()).select_from(FloorItem)) or 0
        if count < ROWS:
            start = datetime(2020, 4, 1, tzinfo=UTC)
            db.session.execute(
                insert(FloorItem),
                [
                    {"name": f"Item {n:05d}", "created_at": start + timedelta(hours=n)}
                    for n in range(count + 1, ROWS + 1)
                ],
            )
            db.session.commit()
            count = ROWS
        db.session.remove()
        db.engine.dispose()
    return count


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Create and fill the floor page's table.")
    parser.add_argument("--database-url", required=True)
    rows = prepare(parser.parse_args().database_url)
    print(f"{TABLE}: {rows:,} rows")
