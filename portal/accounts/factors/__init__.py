"""Second factors (rule 17): passkeys, an authenticator app, single-use recovery codes.

``models`` holds what a person enrolled; ``state`` what this browser session proved (kept in
the Flask session, behind ``factor_verified_at`` and ``note_factor_verified``); ``apps``,
``passkeys`` and ``recovery`` enrol and check each kind; ``checking`` answers "is this the
person?" for the sign-in's second step and for step-up; ``requirement`` decides who must have
one and by when, and guards the management pages; ``views`` are the pages.
"""
