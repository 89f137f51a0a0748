"""Configuration from environment variables, in one typed object.

Every variable is ``HASHMATCH_`` + the field name in capitals, e.g. ``HASHMATCH_DATABASE_URL``. The
defaults run everything embedded: a SQLite file and index files under ``HASHMATCH_DATA_DIR``.
"""

import base64
import binascii
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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
    index_versions_kept: int = Field(
        3, ge=1, description="published index versions kept on disk (each machine's cache)"
    )
    index_store: str = Field(
        "",
        description="where published index versions live for every replica: empty: the local index "
        "directory (one machine); s3://bucket/prefix: an S3 bucket (install the 's3' extra; credentials "
        "from the usual AWS_* variables)",
    )
    s3_endpoint_url: str = Field(
        "", description="the S3 API's URL when it is not AWS's (MinIO, Ceph...); empty: AWS"
    )
    index_poll_seconds: float = Field(
        2.0, gt=0, description="how often a server looks for a new index version"
    )
    rate_hashes_per_second: float = Field(
        5_000.0,
        gt=0,
        description="hashes per second each organisation may match on average, over all its keys, workers "
        "and replicas (a request without hashes counts as one)",
    )
    rate_burst_hashes: int = Field(
        20_000,
        ge=1,
        description="hashes an organisation may match at once before being slowed (at least max_items)",
    )
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
    probe_limit: int = Field(
        6,
        ge=1,
        description="probes (distinct queries at the edge of a listed entry's threshold, close to an "
        "earlier one on the other side of it) on one entry, per 64 bits of its hash, that suspend a "
        "hoster's matching (pdq: 24, phash: 6); a quarter fewer throttle it",
    )
    probe_throttled_rate: float = Field(
        2.0, gt=0, description="hashes per second a throttled organisation may match"
    )
    max_stream_items: int = Field(
        10_000_000,
        ge=1,
        description="items per POST /v1/match/stream request: the lines after are not matched (said inline)",
    )
    stream_chunk_items: int = Field(
        2_000, ge=1, description="items matched (and their notices committed) together in a streamed request"
    )
    variant_thresholds: dict[str, int] = Field(
        {"pdq": 32},
        description="lower search radius per hash type for items marked variant (the scanner's flipped and "
        "rotated copies), as JSON: never above a list's own threshold; the probing guard watches this edge "
        "too; {} searches variants like any hash (see Benchmarks: scan workload)",
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
    redis_url: str = Field(
        "",
        description="Redis URL (redis://host:6379/0, rediss://, redis+sentinel://) keeping the rate budgets, "
        "shared by every worker and replica (needs the 'redis' extra); empty: in the database",
    )
    webhook_ca_bundle: str = Field(
        "", description="CA certificates (PEM file) webhook receivers are verified against; empty: certifi's"
    )
    console_idle_minutes: int = Field(
        30, ge=1, description="minutes without a request after which a web console session is signed out"
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

    @model_validator(mode="after")
    def _a_whole_batch_fits_the_burst(self) -> "Settings":
        if self.rate_burst_hashes < self.max_items:
            raise ValueError(
                f"HASHMATCH_RATE_BURST_HASHES ({self.rate_burst_hashes}) must be at least "
                f"HASHMATCH_MAX_ITEMS ({self.max_items}): a batch larger than the burst could never pass"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hashmatch.db').resolve()}"

    @property
    def numba_cache_dir(self) -> Path:
        """Where the compiled search kernels are kept unless ``NUMBA_CACHE_DIR`` says otherwise."""
        return self.data_dir / "numba-cache"

    @property
    def index_dir(self) -> Path:
        """This machine's cache of published index versions (the store itself by default)."""
        return self.data_dir / "indexes"


def use_numba_cache(settings: Settings) -> Path:
    """Make numba keep compiled kernels in ``NUMBA_CACHE_DIR``, by default :attr:`Settings.numba_cache_dir`
    (set before numba is first imported: it reads the variable then); returns the directory in use.
    Worker processes inherit it, so they load the kernels the first process compiled."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(settings.numba_cache_dir.resolve()))
    return Path(os.environ["NUMBA_CACHE_DIR"])


class InvalidSettings(ValueError):
    """Settings from the environment that cannot be used: one line naming each variable and the rule."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    try:
        return Settings()
    except ValidationError as error:
        raise InvalidSettings(describe_invalid(error)) from None


def describe_invalid(error: ValidationError) -> str:
    """Each problem as ``HASHMATCH_NAME='value': what was expected``, joined into one line."""
    problems = []
    for problem in error.errors(include_url=False):
        reason = str(problem["msg"]).removeprefix("Value error, ")
        if problem["loc"]:
            name = f"HASHMATCH_{str(problem['loc'][0]).upper()}"
            problems.append(f"{name}={problem['input']!r}: {reason[:1].lower()}{reason[1:]}")
        else:
            problems.append(reason)
    return "; ".join(problems) + " (fix the environment)"
