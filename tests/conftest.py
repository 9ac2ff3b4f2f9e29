"""Hypothesis profiles: "ci" (derandomized, reproducible, prints the failing example's blob) when $CI is set,
"dev" otherwise. Select one by hand with ``pytest --hypothesis-profile=dev``."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
