"""Fixtures shared by the script tests: a harness on the loopback emulator and sample states.

``psa_harness``, ``psa_emulator``, ``in_memory_engine``, ``real_engine`` come from psa-scripts'
own pytest plugin (``psa_scripts.testing.plugin``), as in any service's tests.
"""

import pytest

from psa_scripts.testing.harness import Clock, State

from samples import NAME, instance_json, service_variables


@pytest.fixture
def time_zone():
    """``time_zone("Asia/Kolkata")`` sets the process's zone for one test, restored after it."""
    import os
    import time

    saved = os.environ.get("TZ")

    def use(name):
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.fixture
def harness(psa_harness):
    """The plugin's ``psa_harness`` on a fixed second: stamps, markers and log cursors are exact."""
    psa_harness.clock = Clock(1_764_000_000.0)
    return psa_harness


@pytest.fixture
def start_state():
    """The deployment task has run: port and container id files are in the localspace."""
    return State(
        variables=service_variables(),
        instance=instance_json(),
        files={f"{NAME}_port": "32768\n", f"{NAME}_containerID": "4f1c2a9e7b3d\n"},
    )


@pytest.fixture
def author_repo(tmp_path, monkeypatch):
    """An author's repository (package ``tiny_httpd``) on sys.path; its modules forgotten after."""
    import sys

    from author_samples import write_author_package

    root = write_author_package(tmp_path / "repo")
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [n for n in sys.modules if n == "tiny_httpd" or n.startswith("tiny_httpd.")]:
        del sys.modules[name]
