"""The stack's config as the engine gives it to the pack, for rules that must tell a secret from a literal.

The engine hands a pack the stack's config twice: in ``ConfigureStack`` (config and the names of its secret
keys) and in the pack process's environment (``PULUMI_CONFIG`` / ``PULUMI_CONFIG_SECRET_KEYS``, as for
programs). ``pulumi_policy`` keeps neither for rules, so the servicer's ``ConfigureStack`` is wrapped to keep
them; the environment is the fallback.
"""

from __future__ import annotations

from typing import Any

import pulumi.runtime
from pulumi_policy import policy as _policy

_CONFIGURED: dict[str, Any] = {"config": None, "secret_keys": frozenset()}


def _wrap_configure_stack() -> None:
    servicer = _policy._PolicyAnalyzerServicer  # the only place the engine's stack config arrives
    original = servicer.ConfigureStack
    if getattr(original, "__airstack__", False):
        return

    def configure_stack(self: Any, request: Any, context: Any) -> Any:
        _CONFIGURED["config"] = dict(request.config)
        _CONFIGURED["secret_keys"] = frozenset(request.config_secret_keys)
        return original(self, request, context)

    configure_stack.__airstack__ = True  # type: ignore[attr-defined]
    servicer.ConfigureStack = configure_stack  # type: ignore[method-assign]


_wrap_configure_stack()


def secret_values() -> list[str]:
    """The values of the stack's secret config keys (what a program may legitimately put into a secret)."""
    config = _CONFIGURED["config"]
    keys = _CONFIGURED["secret_keys"]
    if config is None:
        config = {k: str(v) for k, v in pulumi.runtime.get_config_env().items()}
        keys = frozenset(pulumi.runtime.get_config_secret_keys_env())
    return [str(config[k]) for k in sorted(keys) if k in config and len(str(config[k])) >= 4]
