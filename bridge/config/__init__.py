"""Configuration: pydantic models and the loader that reports problems by file, path and line."""

from bridge.config.loader import ConfigError, Problem, load_config, parse_config
from bridge.config.models import Config, CustomerConfig, DeviceConfig, Role, SourceConfig

__all__ = [
    "Config",
    "ConfigError",
    "CustomerConfig",
    "DeviceConfig",
    "Problem",
    "Role",
    "SourceConfig",
    "load_config",
    "parse_config",
]
