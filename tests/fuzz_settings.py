"""Hypothesis settings shared by the tests/test_fuzz_*.py property tests.

The suite runs the "nsp-ci" profile: few examples, derandomised (the same inputs on every run, so a
failure reproduces), no example database on disk. scripts/fuzz_long.py selects "nsp-long" through
NSP_FUZZ_PROFILE: ten times the examples, freshly random each run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG = os.environ.get("NSP_FUZZ_PROFILE", "nsp-ci") == "nsp-long"
SCALE = 10 if LONG else 1

settings.register_profile(
    "nsp-ci",
    deadline=None,  # two shared CPU cores: timings vary too much for a per-example deadline
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("nsp-long", parent=settings.get_profile("nsp-ci"), derandomize=False)
settings.load_profile("nsp-long" if LONG else "nsp-ci")


def budget(examples: int) -> settings:
    """A test's example count in the suite's profile (times ten in the long run)."""
    return settings(max_examples=examples * SCALE)
