"""The one settings object. Every field can be set with a ``SIDEBYSIDE_<FIELD>`` variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"


class Settings(BaseSettings):
    """Runtime configuration, read from the environment (prefix ``SIDEBYSIDE_``)."""

    model_config = SettingsConfigDict(env_prefix="SIDEBYSIDE_", extra="forbid")

    database_url: str = Field(
        default=f"sqlite:///{DATA_DIR / 'sidebyside.db'}",
        description="SQLAlchemy URL of the database; SQLite file under data/ by default.",
    )
    data_dir: Path = Field(default=DATA_DIR, description="Where demo files and the database live.")
    lease_minutes: float = Field(
        default=30.0,
        gt=0,
        description="Minutes after which an opened but unsubmitted pair is handed to someone else.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000, ge=0, description="How long a SQLite writer waits for the lock."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process (tests clear the cache after changing the environment)."""
    return Settings()
