"""The pytest plugin: installed with the package, its fixtures listed and documented, the real
engine fixture skipping (or failing under CI=true) with how to get an engine."""

import pytest

pytest_plugins = ["pytester"]

# Each inner pytest runs in a subprocess: in-process runs drop the modules they imported
# afterwards, and a ``requests`` imported twice breaks the next test's sessions.

FIXTURES = ["psa_emulator", "psa_harness", "in_memory_engine", "real_engine"]


def test_the_fixtures_are_registered_and_documented(pytester):
    result = pytester.runpytest_subprocess("--fixtures", "-v")
    text = result.stdout.str()
    assert "fixtures defined from psa_scripts.testing.plugin" in text
    for fixture in FIXTURES:
        assert f"\n{fixture} -- " in text, fixture
    assert "A ``Harness`` running scripts as the cpython engine would, with no ProActive server." in text
    assert "Skipped with how to get one when no engine answers; under ``CI=true`` the test fails instead." in text


USES_THE_REAL_ENGINE = """
def test_needs_containers(real_engine):
    raise AssertionError("must not run without an engine")
"""


def test_real_engine_skips_with_how_to_get_one(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(USES_THE_REAL_ENGINE)
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*no container engine answers at unix://{tmp_path}/nothing.sock*"
                                 "start Docker, or serve Podman's Docker API*export DOCKER_HOST=*"])


def test_real_engine_is_required_under_ci(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(USES_THE_REAL_ENGINE)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*CI=true: a real engine is required*"])


def test_the_harness_and_in_memory_fixtures_work_together(pytester):
    pytester.makepyfile("""
        from psa_scripts.containers import DeploySpec
        from psa_scripts.testing import Harness, State, node_variables

        def test_emulator_seen_by_the_harness(psa_harness, psa_emulator, tmp_path):
            assert psa_harness.emulator is psa_emulator
            assert psa_harness.workdir == str(tmp_path / "localspace")

        def test_one_engine_across_runs(psa_emulator, in_memory_engine, tmp_path):
            variables = node_variables(PCA_INSTANCE_ID="7", INSTANCE_NAME="web", DOCKER_IMAGE="nginx:1", CONTAINER_PORT="80")
            with Harness(emulator=psa_emulator, engine=in_memory_engine, workdir=str(tmp_path)) as harness:
                harness.run("Start_Docker_Service", State(variables=variables)).raise_error()
                harness.run("Pause_Docker_Service", State(variables=variables)).raise_error()
            assert not in_memory_engine.is_running("web") and in_memory_engine.inspect("web") is not None
    """)
    pytester.runpytest_subprocess().assert_outcomes(passed=2)
