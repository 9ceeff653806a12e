"""Reciprocal benefits: the catalogue members claim from, claims and their decisions, the report."""
