"""The one settings object of every hashmatch process, read from ``HASHMATCH_*`` environment variables."""

from config.settings import InvalidSettings, Settings, get_settings, use_numba_cache

__all__ = ["InvalidSettings", "Settings", "get_settings", "use_numba_cache"]
