"""How the end-to-end tests start Chromium."""

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Generous for a shared 2-core machine, short enough that a hung page fails the test quickly.
TIMEOUT_MS = 15_000
