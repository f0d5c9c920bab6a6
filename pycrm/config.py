"""Settings: where the database is, default currency, date order, phone region.

Each value is resolved as: explicit flag > environment variable > config file > default.
The config file is TOML at ``platformdirs.user_config_dir("pycrm")/config.toml``, e.g.::

    db = "/home/me/crm.db"
    currency = "BRL"
    date_order = "dmy"
    region = "BR"
    decimal_comma = true
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

APP_NAME = "pycrm"


def data_dir() -> Path:
    """Where pycrm keeps its database by default."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def config_path() -> Path:
    """The TOML config file (may not exist)."""
    import platformdirs

    return Path(os.environ.get("PYCRM_CONFIG") or platformdirs.user_config_dir(APP_NAME)) / (
        "config.toml"
    )


@cache
def _file_settings() -> dict[str, Any]:
    import tomllib

    path = config_path()
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _locale_name() -> str:
    for var in ("LC_ALL", "LC_TIME", "LANG"):
        value = os.environ.get(var)
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value
    import locale

    try:
        return locale.getlocale()[0] or "en_US"
    except ValueError:
        return "en_US"


def _setting(env: str, key: str, default: Any) -> Any:
    if env in os.environ and os.environ[env] != "":
        return os.environ[env]
    return _file_settings().get(key, default)


@dataclass(frozen=True)
class Settings:
    """The resolved settings for one run."""

    db: str
    currency: str
    date_order: str  # "dmy" | "mdy" | "ymd"
    region: str  # ISO 3166 alpha-2, default for phone numbers without a country code
    decimal_comma: bool  # "1.234,56" style money input


def default_db_path() -> Path:
    """The default SQLite file."""
    return data_dir() / "pycrm.db"


def load_settings(db: str | None = None) -> Settings:
    """Resolve settings from flag, environment, config file and locale defaults."""
    loc = _locale_name()
    lang, _, rest = loc.partition("_")
    country = rest[:2].upper() if len(rest) >= 2 else "US"
    dmy_default = "mdy" if country in ("US", "PH", "CA") and lang == "en" else "dmy"
    decimal_comma_default = lang.lower() in ("pt", "fr", "es", "de", "it", "nl")
    resolved_db = db or _setting("PYCRM_DB", "db", None) or str(default_db_path())
    date_order = str(_setting("PYCRM_DATE_ORDER", "date_order", dmy_default)).lower()
    if date_order not in ("dmy", "mdy", "ymd"):
        date_order = dmy_default
    decimal_comma = _setting("PYCRM_DECIMAL_COMMA", "decimal_comma", decimal_comma_default)
    if isinstance(decimal_comma, str):
        decimal_comma = decimal_comma.lower() in ("1", "true", "yes", "on")
    return Settings(
        db=str(resolved_db),
        currency=str(_setting("PYCRM_CURRENCY", "currency", "EUR")).upper(),
        date_order=date_order,
        region=str(_setting("PYCRM_REGION", "region", country)).upper(),
        decimal_comma=bool(decimal_comma),
    )
