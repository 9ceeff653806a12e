"""Mail to people: queued in the database with the change it reports, delivered by a worker."""
