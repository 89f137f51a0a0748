"""Configuration from environment variables, in one typed object.

Every variable is ``HASHMATCH_`` + the field name in capitals, e.g. ``HASHMATCH_DATABASE_URL``. The
defaults run everything embedded: a SQLite file and index files under ``HASHMATCH_DATA_DIR``.
"""

import base64
import binascii
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HASHMATCH_", frozen=True)

    data_dir: Path = Field(Path("var"), description="where the SQLite file and the index files live")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db; "
        "empty: SQLite file hashmatch.db in the data directory",
    )

    import_error_cap: int = Field(100, ge=1, description="bad lines an import reports one by one")
    index_versions_kept: int = Field(3, ge=1, description="published index versions kept on disk")
    index_poll_seconds: float = Field(
        2.0, gt=0, description="how often a server looks for a new index version"
    )
    rate_per_second: float = Field(
        50.0, gt=0, description="API requests per second each key may make on average"
    )
    rate_burst: int = Field(200, ge=1, description="API requests a key may make at once before being slowed")
    max_items: int = Field(10_000, ge=1, description="items per POST /v1/match request")
    max_body_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        description="largest JSON request body, in bytes (10,000 items with 2 KB refs fit)",
    )
    audit_interval_seconds: float = Field(
        0.05, gt=0, description="how often queued audit records (calls that change no notice) are committed"
    )
    tick_seconds: float = Field(
        60.0,
        ge=0,
        description="how often the server marks overdue notices, sends reminders and delivers webhooks; "
        "0: never (run 'hashmatch notices tick' from cron instead)",
    )
    probe_window: int = Field(
        512, ge=8, description="recent perceptual query hashes kept (in memory) per key and type"
    )
    probe_limit: int = Field(
        64,
        ge=1,
        description="near-identical queries within the window that flag a key as probing (audit, metric)",
    )
    stream_chunk_items: int = Field(
        2_000, ge=1, description="items matched (and their notices committed) together in a streamed request"
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Fernet keys (comma-separated, the first encrypts) sealing webhook secrets in the "
        "database; empty: a key generated once in secret.key in the data directory (replicas: set one key)",
    )
    webhook_allow_internal: bool = Field(
        False,
        description="let webhooks use plain http and loopback or private addresses (tests, local receivers "
        "only: otherwise a caller could make the server reach inside its own network)",
    )
    webhook_timeout_seconds: float = Field(
        5.0, gt=0, description="connect and read timeout of one webhook delivery"
    )
    webhook_workers: int = Field(
        8, ge=1, description="organisations whose webhook deliveries are sent at the same time"
    )
    webhook_ca_bundle: str = Field(
        "", description="CA certificates (PEM file) webhook receivers are verified against; empty: certifi's"
    )

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        for key in filter(None, (part.strip() for part in value.get_secret_value().split(","))):
            try:
                valid = len(base64.urlsafe_b64decode(key.encode())) == 32
            except (binascii.Error, ValueError):
                valid = False
            if not valid:
                raise ValueError("expected Fernet keys (32 url-safe base64 bytes each), comma-separated")
        return value

    @property
    def secret_key_file(self) -> Path:
        """The generated key when ``secret_key`` is empty."""
        return self.data_dir / "secret.key"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hashmatch.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        """Published indexes: one directory per version, and the pointer to the one being served."""
        return self.data_dir / "indexes"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
