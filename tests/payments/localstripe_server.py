"""Run localstripe (a stateful fake Stripe API) on 127.0.0.1:<port>, keeping nothing on disk.

Started by tests/payments/stripe_fixtures.py in a subprocess: ``python localstripe_server.py PORT``.
"""

import logging
import socket
import sys

from aiohttp import web
from localstripe import resources, server

# Parallel runs must never share /tmp/localstripe.pickle.
resources.store.dump_to_disk = lambda *args, **kwargs: None
resources.store.try_load_from_disk = lambda *args, **kwargs: None

if __name__ == "__main__":
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, sock=sock, print=None, access_log=None)
