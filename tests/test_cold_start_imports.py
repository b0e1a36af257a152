"""The import-set guard: what a stdlib-only catalog script loads when the engine starts it.

Every status tick of every service starts a script in a fresh interpreter, every minute: a
module imported at start-up is paid each time (``dataclasses`` once cost the bundled Fetch_Logs
some 20 ms). Each stdlib-only script is started the way the ``cpython`` engine starts it (a
fresh ``python -I -S``, bindings as module globals; psa_scripts.testing.cold_start), bundled
and installed, and the modules in ``sys.modules`` at its end must all be in its allowlist.
Deterministic: module names, not timings (``make bench`` has the timing table).

The allowlist, explicit:
- ``FLOOR``: what a fresh interpreter has anyway, ``python -I -S -c "import site"`` on the
  interpreter running the tests (``os``, ``posixpath``, ``stat``, ``codecs``...);
- psa_scripts' own modules (the heavy ones would bring their imports, which are checked);
- ``ACCEPTED``, for every script, each with its reason below;
- for the Singularity actions, ``COMMAND``, each with its reason: their work is running the
  ``singularity`` command and reading its JSON listing, which they do without ``subprocess``
  and ``json`` (containers/command.py, jsontext.py: those two bring ``re``, ``enum``,
  ``functools``, ``locale``... some 20 ms a start).
"""

import pytest

from psa_scripts.testing.cold_start import EMPTY, FORMS, STDLIB_SCRIPTS, ColdStarts, fresh_modules

ACCEPTED = {
    "__future__": "`from __future__ import annotations` in our modules loads it (a small module, no imports)",
    "binascii": "the bundled file unpacks the modules it carries zlib-packed when its bytecode cache misses (C module)",
    "zlib": "as binascii (C module)",
}
COMMAND = {
    "select": "containers/command.py waits on the command's two output pipes with select.poll (C module)",
    "_json": "jsontext.loads reads the listing with CPython's C JSON scanner, the one json.loads uses (C module)",
}
SINGULARITY_ACTIONS = ("Finish_Singularity_Service", "Pause_Singularity_Service", "Resume_Singularity_Service")


@pytest.fixture(scope="module")
def cold_starts(tmp_path_factory):
    return ColdStarts(tmp_path_factory.mktemp("cold-start"))


@pytest.fixture(scope="module")
def floor():
    return fresh_modules("import site")


def test_the_empty_script_loads_nothing_beyond_the_floor(cold_starts, floor):
    """The control: the prologue and epilogue themselves add nothing to count against a script."""
    assert cold_starts.start(EMPTY).modules - floor == frozenset()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("script", sorted(STDLIB_SCRIPTS))
def test_a_stdlib_script_imports_only_its_allowlist_at_start(cold_starts, floor, script, form):
    allowed = floor | set(ACCEPTED) | (set(COMMAND) if script in SINGULARITY_ACTIONS else set())
    loaded = cold_starts.start(f"{script} {form}").modules
    beyond = sorted(name for name in loaded - allowed if name.split(".")[0] != "psa_scripts")
    assert beyond == [], (f"{script} ({form}) imports {', '.join(beyond)} at start-up: every run of it pays for "
                          "them; import them inside the function that needs them, or accept them in ACCEPTED "
                          "with the reason")


def test_the_guard_catches_a_heavy_import(cold_starts, floor):
    """The guard is not void: a script that imports dataclasses at start-up is caught."""
    job = cold_starts.jobs["Fetch_Logs installed"]
    text = job.read_text()
    job.write_text(text.replace("from psa_scripts.scripts import run", "import dataclasses\nfrom psa_scripts.scripts import run"))
    try:
        loaded = cold_starts.start("Fetch_Logs installed").modules
    finally:
        job.write_text(text)
    assert {"dataclasses", "inspect", "re"} <= loaded - floor - set(ACCEPTED)
