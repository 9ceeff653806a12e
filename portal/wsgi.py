"""What gunicorn serves: ``gunicorn 'portal.wsgi:app'``.

The portal without its command line and migration tooling (``create_app(tooling=False)``):
the schema is built by ``portal db upgrade`` from one place before the workers start
(docs/deploy.md), so no worker carries Alembic.

What starting built (the modules, the mappers, the forms' and models' classes: about 155,000
objects) lives as long as the worker, yet the collector's full passes walked all of it again,
about 0.1 s each, every thousand requests or so. Frozen, a full pass walks only what requests
have kept since (docs/performance.md).
"""

import gc

from portal import create_app

app = create_app(tooling=False)

gc.collect()
gc.freeze()
