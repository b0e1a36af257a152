"""The pytest plugin: installed with the package, its fixtures listed and documented, the real
engine fixture skipping (or failing under CI=true) with how to get an engine."""

import pytest

from psa_scripts.testing import Call, FakeEngine, Harness, Scenario, State, node_variables

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


# psa-scripts' own tests get the plugin's fixtures as a service's tests do: used here directly.
WEB = node_variables(PCA_INSTANCE_ID="7", INSTANCE_NAME="web", DOCKER_IMAGE="nginx:1", CONTAINER_PORT="80")


def test_the_harness_is_on_the_emulator_and_the_in_memory_engine(psa_harness, psa_emulator, in_memory_engine,
                                                                  tmp_path):
    assert psa_harness.emulator is psa_emulator and psa_harness.engine is in_memory_engine
    assert psa_harness.workdir == str(tmp_path / "localspace")


def test_each_run_starts_from_its_state_and_leaves_the_engines_containers(psa_harness, in_memory_engine):
    first = psa_harness.run("Start_Docker_Service", State(variables=WEB))
    assert first.output.startswith("Container web created from nginx:1")
    assert first.state.containers["web"] is in_memory_engine.containers["web"]
    assert first.calls_to("engine") == [Call("engine", "deploy", ("web", "nginx:1"))]
    again = psa_harness.run("Start_Docker_Service", State(variables=WEB))  # a state without the container
    assert again.output.startswith("Container web created from nginx:1")
    after = psa_harness.run("Start_Docker_Service", again.state)  # the state the last run left
    assert after.output.startswith(f"Container web reused from nginx:1 (id {again.state.containers['web'].id[:12]})")


def test_the_engines_start_hook_can_be_set_in_the_test(psa_harness, in_memory_engine):
    in_memory_engine.on_start = lambda name, container: container.logs.append(f"{name} listening")
    started = psa_harness.run("Start_Docker_Service", State(variables=WEB))
    assert started.state.containers["web"].logs == ["web listening"]


def test_a_container_killed_between_two_steps_is_dead_in_the_next(psa_harness, in_memory_engine):
    scenario = Scenario(psa_harness, State(variables=WEB, instance={"instance_id": 7, "instance_status": "RUNNING"}))
    scenario.deploy("Start_Docker_Service")
    assert scenario.check().status_history == []
    in_memory_engine.kill("web")
    assert scenario.check(expect_error=True).status_history == ["ERROR"]


def test_the_harness_on_an_engine_without_hold_uses_it_as_it_is(psa_harness, in_memory_engine):
    kept = FakeEngine()

    class AsItIs:  # an engine such as real_engine's: no hold
        def __getattr__(self, name):
            if name == "hold":
                raise AttributeError(name)
            return getattr(kept, name)

    psa_harness.engine = AsItIs()
    psa_harness.run("Start_Docker_Service", State(variables=WEB)).raise_error()
    paused = psa_harness.run("Pause_Docker_Service", State(variables=WEB))  # its containers stay
    assert paused.ok and not kept.is_running("web") and in_memory_engine.containers == {}


def test_a_harness_built_with_an_engine_uses_it_as_it_is(psa_emulator, in_memory_engine, tmp_path):
    with Harness(emulator=psa_emulator, engine=in_memory_engine, workdir=str(tmp_path)) as harness:
        harness.run("Start_Docker_Service", State(variables=WEB)).raise_error()
        harness.run("Pause_Docker_Service", State(variables=WEB)).raise_error()
    assert not in_memory_engine.is_running("web") and in_memory_engine.inspect("web") is not None
