"""``psa new service``: a working service package from the Docker service template.

    psa new service tiny-httpd --image nginx:stable --port 80 [--dir DIR]

writes, in ``DIR`` (default: ``./<slug>``)::

    bundles/<slug>/package.json          the package: bucket <slug>, version 0.1.0, its own script
    bundles/<slug>/<Service>.xml         the template's four workflows, renamed: job and task names,
    bundles/<slug>/Finish_<Service>.xml  pca.service.id, INSTANCE_NAME / ENDPOINT_ID prefixes,
    bundles/<slug>/Pause_<Service>.xml   DOCKER_IMAGE, CONTAINER_PORT
    bundles/<slug>/Resume_<Service>.xml
    <package>/start.py                   a script of the author's own: Start_<Service>
    tests/test_<package>.py              its tests and the whole lifecycle, with the pytest plugin's fixtures
    pytest.ini, README.md

The deployment task runs ``Start_<Service>`` instead of ``Start_Docker_Service``: it calls our
script, then waits until the service logs ``READY_LOG``. Everything generated passes
``psa validate`` and pytest as it is. The names come from NAME: ``tiny-httpd`` gives the slug
and bucket ``tiny-httpd``, the Python package ``tiny_httpd`` and the service ``Tiny_Httpd``.

The template is the one installed with psa-scripts (``psa_scripts/templates/docker-service-template``,
package data: in the source tree, a link to ``bundles/docker-service-template``, its one copy), or
``--template DIR``; each edit must find its text there, so a template that drifted is an error, not a half-renamed
package. Nothing is written until everything is ready: the directory appears complete or not at all.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Dict, List, Tuple
from xml.sax.saxutils import escape, quoteattr

from .bundler import PACKAGE_FILE, is_stdlib
from .clients.catalog import BUCKET_NAME
from .errors import InputError

# package data; in the source tree a symbolic link to bundles/docker-service-template (one copy)
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "docker-service-template"
TEMPLATE_SERVICE = "Docker_Service_Template"
TEMPLATE_PREFIX = "docker-service"  # of INSTANCE_NAME and ENDPOINT_ID in the template
OUR_BUCKET = "service-automation-python"
NAME_RULE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*")
IMAGE_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*")
FIRST_VERSION = "0.1.0"


@dataclass(frozen=True)
class ServiceNames:
    """Every name of a new service, derived from the one the user gives."""

    slug: str  # tiny-httpd: the package, its zip, its bucket, the INSTANCE_NAME prefix
    package: str  # tiny_httpd: the Python package of the author's scripts
    service: str  # Tiny_Httpd: pca.service.id and the workflows' names

    @classmethod
    def from_name(cls, name: str) -> "ServiceNames":
        if not NAME_RULE.fullmatch(name):
            raise InputError(f"service name {name!r}: use letters and digits, words joined by '-' or '_', "
                             "starting with a letter (e.g. tiny-httpd)")
        words = re.split(r"[-_]", name)
        names = cls(slug="-".join(w.lower() for w in words), package="_".join(w.lower() for w in words),
                     service="_".join(w[0].upper() + w[1:] for w in words))
        if not BUCKET_NAME.match(names.slug):
            raise InputError(f"service name {name!r}: its slug {names.slug!r} names the catalog bucket, so it "
                             "needs 3 to 63 characters")
        if is_stdlib(names.package) or names.package in ("psa_scripts", "tests", "bundles"):
            raise InputError(f"service name {name!r}: the Python package {names.package!r} would shadow a "
                             "module of that name; choose another name")
        return names

    @property
    def start_script(self) -> str:
        return f"Start_{self.service}"


def check_image(image: str) -> str:
    if not IMAGE_RULE.fullmatch(image):
        raise InputError(f"--image {image!r} is not an image reference (e.g. nginx:stable, "
                         "registry.example/team/app:1.2)")
    return image


def check_port(port: int) -> int:
    if not 0 < port < 65536:
        raise InputError(f"--port {port} is not a port number (1-65535)")
    return port


# --- the workflows ------------------------------------------------------------------------------
def _replace(text: str, old: str, new: str, where: str, *, regex: bool = False, first: bool = False) -> str:
    """``text`` with ``old`` replaced (only the first one when ``first``); an error when the
    template no longer holds it."""
    pattern = old if regex else re.escape(old)
    changed, count = re.subn(pattern, lambda _: new, text, count=1 if first else 0)
    if not count:
        raise InputError(f"the template changed: {where} no longer holds {old!r}; update psa_scripts/scaffold.py")
    return changed


def _variable(text: str, name: str, value: str, where: str) -> str:
    return _replace(text, f'<variable name="{name}" value="[^"]*"', f'<variable name="{name}" value={quoteattr(value)}',
                    where, regex=True)


READY_VARIABLES = (
    '    <variable name="READY_LOG" value="" description="Set it: a text the service logs once it is ready '
    '(e.g. a line of the image&apos;s start-up log); the deployment waits for it, at most READY_TIMEOUT seconds. '
    'Empty: no wait, the service is RUNNING as soon as its container starts, ready or not" group="Container" '
    'advanced="false" hidden="false"/>\n'
    '    <variable name="READY_TIMEOUT" value="60" model="PA:INTEGER" description="Seconds the deployment '
    'waits for READY_LOG before it removes the container and fails" group="Container" advanced="true" '
    'hidden="false"/>\n')


def workflows(template: Path, names: ServiceNames, image: str, port: int) -> Dict[str, str]:
    """The four workflows of the new service: file name -> text."""
    out = {}
    for path in sorted(template.glob("*.xml")):
        text = path.read_text(encoding="utf-8")
        where = str(path)
        text = _replace(text, TEMPLATE_SERVICE, names.service, where)
        if path.stem == TEMPLATE_SERVICE:  # the deployment workflow
            text = _variable(text, "DOCKER_IMAGE", image, where)
            text = _variable(text, "CONTAINER_PORT", str(port), where)
            text = _variable(text, "INSTANCE_NAME", f"{names.slug}-$PA_JOB_ID", where)
            text = _variable(text, "ENDPOINT_ID", f"{names.slug}-gui-$PA_JOB_ID", where)
            anchor = '    <variable name="INSTANCE_NAME"'
            text = _replace(text, anchor, READY_VARIABLES + anchor, where)
            text = _replace(
                text, r"<description>\s*<!\[CDATA\[[^\]]*\]\]>\s*</description>",
                "<description>\n    <![CDATA[ " + escape(
                    f"{names.service}: the image {image} as a PSA service (container port {port}), made by "
                    f"psa new from the Docker service template. Its deployment task runs {names.start_script} "
                    f"(bucket {names.slug}): Start_Docker_Service, then a wait until the service logs READY_LOG. "
                    f"The other scripts are the Python lifecycle scripts of the bucket {OUR_BUCKET}.")
                + " ]]>\n  </description>", where, regex=True, first=True)
            text = _replace(text, f"/buckets/{OUR_BUCKET}/resources/Start_Docker_Service/raw",
                            f"/buckets/{names.slug}/resources/{names.start_script}/raw", where)
        elif TEMPLATE_PREFIX in text:
            raise InputError(f"the template changed: {where} names {TEMPLATE_PREFIX}; update psa_scripts/scaffold.py")
        out[path.name.replace(TEMPLATE_SERVICE, names.service)] = text
    if len(out) != 4:
        raise InputError(f"{template} is not the Docker service template: expected its four workflows, "
                         f"found {', '.join(sorted(out)) or 'none'}")
    return out


# --- the author's script, its tests, the package --------------------------------------------------
START_SCRIPT = Template('''\
"""$start_script -- the deployment task's executable: start the container, then wait until it is ready.

Reads: what Start_Docker_Service reads (INSTANCE_NAME, DOCKER_IMAGE, CONTAINER_PORT, SERVICE_PORT...),
READY_LOG (a text the service logs once it is ready; empty: no wait, the service counts as RUNNING as
soon as its container starts) and READY_TIMEOUT (seconds, default 60).
Writes: what Start_Docker_Service writes, the files <INSTANCE_NAME>_port and
<INSTANCE_NAME>_containerID for Post_Start_Service. When the service does not log READY_LOG in
time, or its container stops first, the container is removed and the task fails:
Clean_Start_Service then sets the instance to ERROR, and nothing is left running.
The wait is on the context's clock (ctx.now, ctx.sleep): in a test, minutes take no time.
"""

from psa_scripts.containers.spec import owner_labels
from psa_scripts.context import ScriptContext
from psa_scripts.contract import Contract, Var
from psa_scripts.errors import InputError, ServiceError
from psa_scripts.scripts import start_docker_service

READY_LOG = "READY_LOG"
READY_TIMEOUT = "READY_TIMEOUT"
POLL_SECONDS = 1.0  # between two reads of the container's log

# What this script needs from its workflow (psa validate reads it): Start_Docker_Service's, and the wait's.
CONTRACT = Contract(
    reads=start_docker_service.CONTRACT.reads + (
        Var(READY_LOG, required=False, doc="a text the service logs once it is ready; empty: no wait"),
        Var(READY_TIMEOUT, required=False, doc="seconds to wait for READY_LOG (default 60)"),
    ),
    files_written=start_docker_service.CONTRACT.files_written,
    on_node=True,
)


def main(ctx: ScriptContext) -> None:
    ready_log = ctx.variables.text(READY_LOG)
    timeout = ctx.variables.integer(READY_TIMEOUT, 60)
    if timeout < 0:
        raise InputError(f"{READY_TIMEOUT} must be 0 or more seconds, got {timeout}")
    start_docker_service.main(ctx)  # the library's script: the container runs, its files are written
    if ready_log:
        wait_until_ready(ctx, ctx.instance_name(), ready_log, timeout)


def wait_until_ready(ctx: ScriptContext, name: str, ready_log: str, timeout: int) -> None:
    """Read the container's log until a line holds ``ready_log``; remove the container on failure."""
    deadline = ctx.now() + timeout
    cursor = None
    while True:
        batch = ctx.engine.read_logs(name, cursor, max_lines=10_000, max_bytes=1_000_000)
        cursor = batch.cursor
        if any(ready_log in line for line in batch.lines):
            ctx.print(f"{name} is ready: it logged {ready_log!r}")
            return
        running = ctx.engine.is_running(name)
        if not running or ctx.now() >= deadline:
            why = "its container stopped" if not running else f"it did not log {ready_log!r} within {timeout} s"
            ctx.engine.remove(name, owner=owner_labels(ctx.variables, ctx.generic_info))  # ours only
            raise ServiceError(f"{name} is not ready: {why}; its container is removed")
        ctx.sleep(min(POLL_SECONDS, max(0.0, deadline - ctx.now())))
''')

TEST_FILE = Template('''\
"""$service: its own script alone, then the whole lifecycle, with the fixtures of psa-scripts'
pytest plugin: psa_harness runs the scripts on the PSA emulator and on in_memory_engine."""

from psa_scripts.testing import Scenario, State, node_variables

NAME = "$slug-1"


def service_state(**variables):
    """A new instance of the service, as PSA launches its deployment workflow."""
    return State(
        variables=node_variables(PCA_INSTANCE_ID="1", INSTANCE_NAME=NAME, DOCKER_IMAGE="$image",
                                 CONTAINER_PORT="$port", SERVICE_PORT="-1", ENDPOINT_ID=NAME + "-gui",
                                 HTTP_ENABLED="True", PROXYFIED="False", READY_LOG="ready", **variables),
        instance={"instance_id": 1, "instance_status": "VOID -> RUNNING"},
    )


def logs_ready(name, container):
    """Stands in for the service's program: what it logs when its container starts."""
    container.logs.append("ready")


def test_start_waits_until_the_service_is_ready(psa_harness, in_memory_engine):
    in_memory_engine.on_start = logs_ready
    outcome = psa_harness.run("$package.start", service_state())
    assert outcome.ok, outcome.error
    assert "$slug-1 is ready: it logged 'ready'" in outcome.output
    assert set(outcome.state.files) == {"$slug-1_port", "$slug-1_containerID"}


def test_a_service_that_never_gets_ready_fails_and_leaves_no_container(psa_harness, in_memory_engine):
    outcome = psa_harness.run("$package.start", service_state(READY_TIMEOUT="600"))  # its container logs nothing
    assert str(outcome.error) == "$slug-1 is not ready: it did not log 'ready' within 600 s; its container is removed"
    assert in_memory_engine.containers == {}
    assert round(sum(outcome.slept)) == 600  # ten minutes, on the harness's clock: no real time


def test_the_whole_lifecycle(psa_harness, in_memory_engine):
    in_memory_engine.on_start = logs_ready
    scenario = Scenario(psa_harness, service_state())
    deployed = scenario.deploy("$package.start")  # Pre_Start_Service, ours, Post_Start_Service, clean
    assert deployed.state.instance["deployments"][0]["endpoint"]["url"].startswith("http://")
    checks = scenario.check(times=2)  # Check_Instance_Status + Fetch_Logs, twice
    assert checks.of_all("Check_Instance_Status")[0].output == "ready\\n"
    scenario.action("finish")  # Pre_Trigger_Action, Finish_Docker_Service, Post/Clean_Trigger_Action
    assert scenario.status_history == ["RUNNING", "FINISHED"] and scenario.state.containers == {}
    last = scenario.check()  # the status loop sees FINISHED: it ends and releases the node
    assert last[-1].writeback["loop"] is False
    assert scenario.state.node_tokens == {} and scenario.state.channels == {}
''')

PYTEST_INI = """\
[pytest]
# the service's package is imported from here, as psa bundle finds it from here
pythonpath = .
testpaths = tests
"""

README = Template('''\
# $service

The image `$image` as a ProActive Service Automation service, made by `psa new service` from the
Docker service template of psa-scripts.

- `bundles/$slug/`: the package: `package.json` and the four workflows ($service, Finish_, Pause_,
  Resume_$service). They run the Python lifecycle scripts of the bucket `$our_bucket` and this
  package's own `$start_script` (bucket `$slug`).
- `$package/start.py`: `$start_script`, the deployment task's executable: Start_Docker_Service, then a
  wait until the service logs `READY_LOG`, at most `READY_TIMEOUT` seconds (60). **Set `READY_LOG`** in
  `bundles/$slug/$service.xml` to a line your image prints when it is ready: empty, there is no wait,
  and the instance is RUNNING as soon as its container starts, before the service answers.
- `tests/`: that script alone and the whole lifecycle, on the in-memory engine, with the pytest
  fixtures of psa-scripts (`psa_harness`, `in_memory_engine`; `pytest --fixtures` lists them).

```sh
pytest                                   # the tests
psa validate bundles                     # the workflows, as PSA and the scheduler read them
psa bundle                               # dist/$slug.zip, $start_script self-contained inside
psa publish dist --url https://host:8443/catalog --login admin --dry-run
```
''')


def package_definition(names: ServiceNames, image: str) -> Dict[str, object]:
    return {
        "slug": names.slug,
        "name": names.service.replace("_", " "),
        "version": FIRST_VERSION,
        "short_description": f"The image {image} as a PSA service: deploy, finish, pause and resume.",
        "author": "",
        "bucket": names.slug,
        "projectName": "Service Automation - Python",
        "tags": ["Service Automation", "Docker", "Python"],
        "workflowKind": "Workflow/psa",
        "scripts": [{"name": names.start_script, "module": f"{names.package}.start", "kind": "Script/task"}],
    }


def service_files(names: ServiceNames, image: str, port: int, template: Path = TEMPLATE_DIR) -> Dict[str, str]:
    """Every file of the new service: path relative to its directory -> text."""
    if not (template / PACKAGE_FILE).is_file():
        raise InputError(f"the Docker service template is not at {template}: expected its {PACKAGE_FILE} and "
                         "four workflows there; give --template DIR (a copy of bundles/docker-service-template "
                         "of psa-scripts), or reinstall psa-scripts")
    values = dict(service=names.service, slug=names.slug, package=names.package, image=image, port=port,
                  start_script=names.start_script, our_bucket=OUR_BUCKET)
    package_dir = f"bundles/{names.slug}"
    files = {f"{package_dir}/{name}": text for name, text in workflows(template, names, image, port).items()}
    files[f"{package_dir}/{PACKAGE_FILE}"] = json.dumps(package_definition(names, image), indent=2) + "\n"
    files[f"{names.package}/__init__.py"] = ""
    files[f"{names.package}/start.py"] = START_SCRIPT.substitute(values)
    files[f"tests/test_{names.package}.py"] = TEST_FILE.substitute(values)
    files["pytest.ini"] = PYTEST_INI
    files["README.md"] = README.substitute(values)
    return files


def _real_target(target: Path) -> Path:
    """``target``, or the directory its symbolic link names (the service is written there); a link to
    nothing is refused: it would be replaced or written through, neither of which the user asked."""
    if not target.is_symlink():
        return target
    try:
        real = target.resolve()
    except (OSError, RuntimeError):  # a loop of links
        raise InputError(f"{target} is a symbolic link that leads nowhere (a loop): give a directory as --dir") from None
    if not real.is_dir():
        raise InputError(f"{target} is a symbolic link to {real}, which is not a directory: "
                         "give a directory (or a link to an empty one) as --dir")
    return real


def create_service(name: str, image: str, port: int, directory: "Path | None" = None,
                   template: Path = TEMPLATE_DIR) -> Tuple[Path, List[str]]:
    """Write the new service into ``directory`` (default ``./<slug>``), which must not exist or
    be empty; returns it and the files written. All or nothing: written aside, then moved in."""
    names = ServiceNames.from_name(name)
    files = service_files(names, check_image(image), check_port(port), template)
    target = _real_target(Path(directory) if directory is not None else Path(names.slug))
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target} already exists and is not an empty directory: give another --dir")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{names.slug}-", dir=target.parent))
    try:
        made = staging / ".mode"  # a directory made as mkdir makes it: the mode the umask gives
        made.mkdir()
        staging.chmod(made.stat().st_mode & 0o7777)  # mkdtemp's 0700 would otherwise stay on the service
        made.rmdir()
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target, sorted(files)
