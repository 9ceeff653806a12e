"""LINK-J's own membership: plans, applications, orientation, dues, renewal and lapse."""
