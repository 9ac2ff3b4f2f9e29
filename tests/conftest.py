"""Shared test set-up.

Hypothesis profiles: "ci" (derandomized, reproducible, prints the failing example's blob) when $CI is set,
"dev" otherwise. Select one by hand with ``pytest --hypothesis-profile=dev``.
The ``no_network`` fixture keeps data tests offline, with checksum stamps in a private folder.
"""
import os
from urllib.error import URLError

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """No download can reach the network, and verification stamps go to a private folder."""
    from minitorch_deblur.data import root

    def refuse(url, timeout):
        raise URLError("network disabled in tests")

    monkeypatch.setattr(root, "_open_url", refuse)
    monkeypatch.setenv(root.ENV_CACHE, str(tmp_path / "stamps"))
