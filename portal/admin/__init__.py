"""Staff and partner-admin pages: membership verification, rosters, domain rules, roles."""
