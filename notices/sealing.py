"""The sealer of webhook secrets, from the settings: apart from ``notices.webhooks`` so that what only
migrates the database (every command that opens it) does not import the webhooks' HTTP client."""

from config.settings import Settings
from db.sealing import Sealer


def sealer_from(settings: Settings) -> Sealer:
    """The sealer of webhook secrets with the configured key (or the generated one)."""
    return Sealer(settings.secret_key.get_secret_value(), settings.secret_key_file)
