"""Read the running program's stack config from the Pulumi runtime (the same under the CLI and mocks)."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from components.config import StackConfig, decode_config_value, load_stack_config


def current_stack_config() -> StackConfig:
    """Validate this stack's config; raises ``ConfigError`` before any resource exists."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = {k for k in values if runtime_config.is_config_secret(k)}
    stack = pulumi.get_stack()
    return load_stack_config(
        {k: decode_config_value(v) for k, v in values.items()},
        stack=stack,
        source=f"Pulumi.{stack}.yaml",
        secret_keys=secret,
    )
