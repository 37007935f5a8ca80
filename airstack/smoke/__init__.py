"""``airstack smoke STACK``: run a stack's rendered Airflow locally against real stand-ins and check it works."""

from airstack.smoke.command import main, run_smoke

__all__ = ["main", "run_smoke"]
