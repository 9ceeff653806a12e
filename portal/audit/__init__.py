"""The audit log: who decided what, when and why (rule 7)."""
