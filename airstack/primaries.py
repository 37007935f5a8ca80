"""An activated standby's primary, planned offline: what answers the standby's stack reference.

An activated standby (``dr.role: standby``, ``dr.active: true``) reads its primary's outputs through a
``StackReference``. Offline there is no state to read, so the primary is planned from its own stack file in the
same project, and its planned outputs answer the reference, unless the user's lookups already answer it. A pilot
light refers to nothing: it needs no answer.
"""

from __future__ import annotations

from airstack.lookups import STACK_REFERENCE, Answer, Lookups
from airstack.offline import ProgramRun
from components.config import StackConfig
from components.recovery import is_standby, stack_reference_name


def primary_reference(config: StackConfig, project: str) -> tuple[str, str] | None:
    """(the stack reference's name, the primary's stack name) when ``config`` reads a primary's outputs."""
    primary = config.dr.primary_stack_name
    if not (is_standby(config) and config.dr.active) or primary is None:
        return None
    return stack_reference_name(config, None, project), primary


def answered(lookups: Lookups | None, reference: str) -> bool:
    return lookups is not None and lookups.find(STACK_REFERENCE, {"name": reference}) is not None


def with_primary(lookups: Lookups | None, reference: str, primary: ProgramRun) -> Lookups:
    """``lookups`` with the reference answered by the primary's planned outputs (the user's answers first)."""
    answer = Answer(STACK_REFERENCE, {"name": reference}, {"outputs": primary.outputs}, f"{primary.stack}'s plan")
    mine = lookups or Lookups()
    return Lookups((*mine.answers, answer), mine.path)
