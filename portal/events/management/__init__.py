"""The organizers' event pages under ``/admin/events`` (blueprint ``events_manage``).

``blueprint`` holds every address; ``pages`` the list and the editor's actions, ``editor``
the editor's form filled and read back, ``registrations`` an event's registrations, the
decisions on them, mail and CSV, ``checkin`` the door, ``scope`` who may see which event.
"""
