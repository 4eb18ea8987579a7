"""The one settings object. Every field can be set with a ``SIDEBYSIDE_<FIELD>`` variable."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sidebyside.foundation.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """``data/`` of a source checkout (``make run``); otherwise the user's data directory
    (``$XDG_DATA_HOME/sidebyside``, ``~/.local/share/sidebyside``), so an installed
    ``sidebyside`` never writes into site-packages."""
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "data").is_dir():
        return PROJECT_ROOT / "data"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sidebyside"


class Settings(BaseSettings):
    """Runtime configuration, read from the environment (prefix ``SIDEBYSIDE_``)."""

    model_config = SettingsConfigDict(env_prefix="SIDEBYSIDE_", extra="forbid")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the default SQLite database lives.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the database; empty means sidebyside.db in data_dir.",
    )
    lease_minutes: float = Field(
        default=30.0,
        gt=0,
        description="Minutes after which an opened but unsubmitted pair is handed to someone else.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, description="How long a SQLite writer waits for the lock."
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        description="Connections each process keeps open: Streamlit runs every annotator's "
        "session on its own thread over one engine, so size it for the sessions it serves.",
    )
    db_max_overflow: int = Field(
        default=40, ge=0, description="Extra connections opened under a burst, closed after."
    )
    db_pool_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds a session waits for a free connection."
    )
    alpaca_eval_glm_dir: Path | None = Field(
        default=None,
        description="Folder with AlpacaEval's instruction_difficulty.csv and df_gamed.csv, for "
        "the report's LC win rate (docs/report.md); unset: LC is left out with that reason.",
    )
    api_key_base_urls: str = Field(
        default="",
        description="Comma-separated base URLs (besides each provider's official host and its "
        "SDK's base-URL variable) that may receive the server's API keys.",
    )

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'sidebyside.db'}"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process (tests clear the cache after changing the environment);
    a bad ``SIDEBYSIDE_*`` variable is a ``ConfigError`` naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        bad = "; ".join(
            f"SIDEBYSIDE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"bad settings: {bad}") from None
