"""psa-scripts installed from its wheel, not from the source tree: ``psa new service`` finds the Docker
service template inside the installed package, and what it writes passes ``psa validate``, pytest and
``psa bundle`` from a directory outside the source tree.

The wheel is built offline (``pip wheel --no-build-isolation``: setuptools comes with ``.[test]``) from a
copy of the tree, so building leaves nothing in it, and installed into a throwaway venv with ``--no-deps``;
that venv reaches the dependencies (requests, docker, pytest...) through a ``.pth`` line naming this
interpreter's site-packages, which comes after its own: the package imported is the wheel's."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shell(*argv, cwd, bin_dir=None):
    """A command in ``cwd``, with ``bin_dir`` first on PATH (no PYTHONPATH); it must succeed."""
    path = f"{bin_dir}:/usr/bin:/bin" if bin_dir else "/usr/bin:/bin"
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env={"PATH": path, "HOME": str(cwd)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory):
    """The bin directory of a venv where psa-scripts is installed from its wheel, and only there."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT / "psa_scripts", source / "psa_scripts", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for package in ("docker-service-template", "service-automation-python"):  # what psa_scripts/templates links to
        shutil.copytree(ROOT / "bundles" / package, source / "bundles" / package)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shell(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
          "--no-build-isolation", "--wheel-dir", work / "dist", source, cwd=work)
    [wheel] = (work / "dist").glob("psa_scripts-*.whl")
    venv = work / "venv"
    shell(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    shell(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
          "--disable-pip-version-check", "--no-deps", "--no-index", wheel, cwd=work)
    site = Path(shell(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                      cwd=work).strip())
    (site / "psa_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


@pytest.fixture(scope="module")
def service(venv_bin, tmp_path_factory):
    author = tmp_path_factory.mktemp("author")
    out = shell(venv_bin / "psa", "new", "service", "tiny-httpd", "--image", "nginx:stable", "--port", "80",
                cwd=author, bin_dir=venv_bin)
    assert out.splitlines()[0] == "tiny-httpd: service tiny-httpd from the Docker service template, 10 files:"
    return author / "tiny-httpd"


def test_the_package_and_its_template_come_from_the_wheel(venv_bin, tmp_path):
    where = shell(venv_bin / "python", "-c", "import psa_scripts.scaffold as s; print(s.__file__); "
                  "print(sorted(p.name for p in s.TEMPLATE_DIR.iterdir()))", cwd=tmp_path, bin_dir=venv_bin)
    module, template = where.splitlines()
    assert module == f"{venv_bin.parent}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/" \
                     "psa_scripts/scaffold.py"
    assert template == str(["Docker_Service_Template.xml", "Finish_Docker_Service_Template.xml",
                            "Pause_Docker_Service_Template.xml", "README.md", "Resume_Docker_Service_Template.xml",
                            "package.json"])


def test_a_service_made_from_the_wheel_validates_tests_and_bundles(venv_bin, service, tmp_path):
    assert shell(venv_bin / "psa", "validate", "bundles", cwd=service, bin_dir=venv_bin) == \
        "4 workflow file(s) checked: no problem found\n"
    tested = shell(venv_bin / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=service, bin_dir=venv_bin)
    assert "3 passed" in tested
    assert shell(venv_bin / "psa", "bundle", "--out", tmp_path, cwd=service, bin_dir=venv_bin) == \
        f"{tmp_path}/tiny-httpd.zip: tiny-httpd 0.1.0, bucket tiny-httpd, 5 objects (Script/task, Workflow/psa)\n"


def test_the_standard_bucket_is_built_from_the_wheel_and_the_rehearsal_publishes_both(venv_bin, service, tmp_path):
    """No clone: psa bundle --standard builds service-automation-python from the installed package, and
    the publish rehearsal (a local Catalog: dry run, publish, republish) takes both zips."""
    dist = service / "dist"
    shell(venv_bin / "psa", "bundle", cwd=service, bin_dir=venv_bin)
    built = shell(venv_bin / "psa", "bundle", "--standard", cwd=service, bin_dir=venv_bin)
    assert built.startswith("dist/service-automation-python.zip: service-automation-python ")
    assert sorted(p.name for p in dist.iterdir()) == ["service-automation-python.zip", "tiny-httpd.zip"]
    rehearsal = shell(venv_bin / "python", "-m", "psa_scripts.publish", "dist", cwd=service, bin_dir=venv_bin)
    assert "Start_Tiny_Httpd" in rehearsal and "Post_Start_Service" in rehearsal
