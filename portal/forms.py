"""Form pieces every area shares."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """Only its CSRF token, for one-button actions (log out, confirm, accept, delete)."""
