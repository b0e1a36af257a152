"""The plugin's ``real_engine`` on a real engine: containers named through it or deployed by the
scripts through it are gone when the test ends, even when it fails."""

import pytest
from engine_helpers import TEST_IMAGE, containers_named

pytestmark = pytest.mark.engine
pytest_plugins = ["pytester"]


def test_real_engine_removes_every_container_of_the_test(pytester, engine, tmp_path):
    names_file = tmp_path / "names"
    pytester.makepyfile(f"""
        from psa_scripts.containers import DeploySpec
        from psa_scripts.testing import Harness, State, node_variables

        def test_deploys_two_then_fails(real_engine, psa_emulator, tmp_path):
            named = real_engine.container_name("psa-plugin")
            real_engine.deploy(DeploySpec(name=named, image="{TEST_IMAGE}", container_port="80"))
            by_script = named + "-script"
            variables = node_variables(PCA_INSTANCE_ID="7", INSTANCE_NAME=by_script, DOCKER_IMAGE="{TEST_IMAGE}", CONTAINER_PORT="80")
            with Harness(emulator=psa_emulator, engine=real_engine, workdir=str(tmp_path)) as harness:
                harness.run("Start_Docker_Service", State(variables=variables)).raise_error()
            assert real_engine.is_running(named) and real_engine.is_running(by_script)
            open({str(names_file)!r}, "w").write(named + " " + by_script)
            raise AssertionError("a failing test still cleans up")
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    names = names_file.read_text().split()
    assert len(names) == 2
    for name in names:
        assert containers_named(engine, name) == []
