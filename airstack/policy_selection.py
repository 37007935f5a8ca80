"""``--only`` and ``--skip``: a last pack-config layer that disables the other (or the named) policies.

Selecting policies never raises a level: ``--only`` keeps the chosen policies at the level the pack config gives
them (a policy disabled for the environment stays disabled) and disables the rest; ``--skip`` disables the named
ones. An unknown name is an error, as in the pack config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airstack.pack import PackError


def parse_names(values: Iterable[str]) -> list[str]:
    """``--only a,b --only c`` -> [a, b, c]."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def select(
    pack_config: Mapping[str, Any], names: Sequence[str], only: Sequence[str], skip: Sequence[str]
) -> dict[str, Any]:
    """``pack_config`` with the policies ``only``/``skip`` leave out set to ``disabled``."""
    for flag, given in (("--only", only), ("--skip", skip)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise PackError(f"{flag}: unknown polic{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)} "
                            f"(the pack has {', '.join(sorted(names))})")  # fmt: skip
    layered = dict(pack_config)
    for name in names:
        if (only and name not in only) or name in skip:
            entry = layered.get(name)
            layered[name] = {**entry, "enforcementLevel": "disabled"} if isinstance(entry, Mapping) else "disabled"
    return layered
