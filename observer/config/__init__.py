"""Configuration: ``observer.yaml`` plus environment overrides, validated."""

from observer.config.loader import ConfigError, LoadedConfig, load_config
from observer.config.settings import Settings

__all__ = ["ConfigError", "LoadedConfig", "Settings", "load_config"]
