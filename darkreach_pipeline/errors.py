"""Errors a user can act on: each names the field (or object) at fault and the fix."""


class CampaignError(ValueError):
    """A campaign that cannot be run as written; the message names the field and the fix."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"campaign field '{field_name}': {message}")
