"""What gunicorn serves: ``gunicorn 'portal.wsgi:app'``.

The portal without its command line and migration tooling (``create_app(tooling=False)``):
the schema is built by ``portal db upgrade`` from one place before the workers start
(docs/deploy.md), so no worker carries Alembic.
"""

from portal import create_app

app = create_app(tooling=False)
