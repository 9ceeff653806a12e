"""The partners' REST API under ``/api/v1``: API keys, the JSON resources, roster sync.

A web-layer area: it calls the areas' services (accounts, benefits, events) so every rule
stays in the one function that keeps it, and answers in JSON described by an OpenAPI 3.1
document (``docs/api.md``).
"""
