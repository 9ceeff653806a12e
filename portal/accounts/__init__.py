"""People, their memberships in the network's organizations, verification and roles."""
