"""Joint programs and events: registration, capacity, waitlist, check-in and staff tools."""
