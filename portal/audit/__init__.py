"""The audit log: who decided what, when and why (DOMAIN rule 7)."""
