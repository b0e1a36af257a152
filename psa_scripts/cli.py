"""The ``psa`` command: build catalog packages, validate workflows, publish to a Catalog.

    psa bundle [--out dist] [--bucket NAME] [--bundles DIR] [--path DIR]
    psa validate FILE_OR_DIR... [--bucket NAME] [--bundles DIR]
    psa publish DIST_OR_ZIP --url CATALOG_URL [--login USER]
                [--bucket NAME] [--dry-run] [--force]
    psa new service NAME --image IMAGE --port PORT [--dir DIR]
    psa run WORKFLOW.xml [--var NAME=VALUE]... [--engine docker|memory] [--ticks N]
            [--then ACTION.xml]... [--report FILE]
    psa graph PACKAGE_DIR_OR_WORKFLOW... [--svg FILE]
    psa serve-catalog [--port PORT] [--login USER]

Exit codes: 0 done (validate: no error found), 1 something failed or was found (an object,
a finding of severity error, a login), 2 a usage error (bad arguments, a file or directory
that does not exist). Errors are one line on stderr. The password comes from
``PSA_PASSWORD`` or a prompt, the session id from ``PSA_SESSION_ID``; neither is ever
printed. ``--session-id ID`` still works, with a warning: an argument is visible to every
user in ``ps`` and stays in the shell history.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from .clients.catalog import BUCKET_NAME
from .errors import PsaScriptError

SESSION_ID_WARNING = ("warning: --session-id shows the session id to every user of this machine (ps) "
                      "and keeps it in the shell history; export PSA_SESSION_ID instead")
DEFAULT_BUNDLES = Path("bundles")
# The rehearsal Catalog's fixed credentials (psa serve-catalog): loopback only, nothing kept.
REHEARSAL_LOGIN = "admin"
REHEARSAL_PASSWORD = "admin"


class UsageError(PsaScriptError):
    """The command line asks for something that cannot be: exit status 2."""


def _bucket(value: str) -> str:
    if not BUCKET_NAME.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a bucket name: lower-case letters, digits and '-', 3 to 63 characters, "
            "starting with a letter")
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s) URL, e.g. https://host:8443/catalog")
    return value.rstrip("/")


def _bundle(args: argparse.Namespace) -> int:
    from .bundler import build_all, build_standard

    if args.standard:
        built = [build_standard(args.out, bucket=args.bucket)]
    elif not args.bundles.is_dir():
        raise UsageError(f"{args.bundles} is not a directory: pass the directory of your packages (--bundles DIR), "
                         "or --standard for the standard bucket")
    else:
        built = build_all(args.bundles, args.out, bucket=args.bucket, search_path=args.path)
    for path, package in built:
        kinds = sorted({o.kind for o in package.objects})
        print(f"{path}: {package.slug} {package.version}, bucket {package.bucket}, "
              f"{len(package.objects)} objects ({', '.join(kinds)})")
        for warning in package.warnings:
            print(f"psa bundle: warning: {warning}", file=sys.stderr)
    return 0


def _validate(args: argparse.Namespace) -> int:
    """0: no error found; 1: errors found; 2: a usage error (a missing path, an unknown rule)."""
    from . import validate

    if args.explain:
        try:
            print(validate.explain(args.explain), end="")
        except KeyError:
            print(f"psa validate: no rule {args.explain!r}; rules: {', '.join(validate.RULES)}", file=sys.stderr)
            return 2
        return 0
    if not args.paths:
        print("psa validate: give FILE_OR_DIR... (or --explain CODE)", file=sys.stderr)
        return 2
    unknown = [code for code in (args.select or []) + (args.ignore or [])
               if not any(rule.startswith(code.upper()) for rule in validate.RULES)]
    if unknown:
        print(f"psa validate: no rule matches {', '.join(unknown)}; rules: {', '.join(validate.RULES)}",
              file=sys.stderr)
        return 2
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"psa validate: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    known = validate.default_known(args.bundles, args.bucket or ())
    findings, count = validate.validate_paths(args.paths, known)
    findings = validate.select(findings, [c.upper() for c in args.select or []], [c.upper() for c in args.ignore or []])
    errors = sum(1 for f in findings if f.severity == "error")
    if args.format == "json":
        print(validate.to_json(findings, count))
    else:
        for finding in findings:
            print(finding.format())
        warnings = len(findings) - errors
        verdict = "no problem found" if not findings else f"{errors} error(s), {warnings} warning(s)"
        print(f"{count} workflow file(s) checked: {verdict}")
    return 1 if errors else 0


# What a scheduler session id looks like (ProActive's are hex): no space, no markup.


def scheduler_url_for(catalog_url: str) -> str:
    """The scheduler REST base next to a Catalog: ``https://h:8443/catalog`` → ``.../rest``."""
    base = catalog_url.rstrip("/")
    return (base[: -len("/catalog")] if base.endswith("/catalog") else base) + "/rest"


def _ask_password(login: str) -> str:
    """The password typed at the terminal; without a terminal, a one-line error (getpass would
    read the password from a pipe, echoed, or fail with a traceback)."""
    import getpass

    if not sys.stdin.isatty():
        raise PsaScriptError(f"no password for {login}: PSA_PASSWORD is not set and there is no terminal to ask for it")
    try:
        return getpass.getpass(f"Password of {login}: ")
    except EOFError:
        raise PsaScriptError(f"no password for {login}: set PSA_PASSWORD or type it at the prompt") from None


def _session_id(args: argparse.Namespace) -> str:
    from .clients.http import HttpSettings
    from .clients.scheduler import SchedulerClient

    if args.login:
        password = os.environ.get("PSA_PASSWORD")
        if password is None:
            password = _ask_password(args.login)
        if not password:
            raise PsaScriptError("no password: set PSA_PASSWORD or type it at the prompt")
        client = SchedulerClient(args.scheduler_url or scheduler_url_for(args.url), settings=HttpSettings.from_env())
        try:
            session_id = client.login(args.login, password)
        except PsaScriptError as error:
            raise PsaScriptError(f"login as {args.login} failed: {error}") from None
        return session_id
    if args.session_id:
        print(f"psa {args.command}: {SESSION_ID_WARNING}", file=sys.stderr, flush=True)
    session_id = args.session_id or os.environ.get("PSA_SESSION_ID")
    if not session_id:
        raise PsaScriptError("not authenticated: give --login USER (password in PSA_PASSWORD or at the prompt) "
                             "or export PSA_SESSION_ID")
    return session_id


def _publish(args: argparse.Namespace) -> int:
    from .bundler import with_bucket
    from .clients.catalog import CatalogClient
    from .clients.http import HttpSettings
    from .publish import Publisher, load_packages

    if not args.source.exists():
        raise UsageError(f"no such file or directory: {args.source} (give a dist directory or a package zip)")
    packages = load_packages(args.source)
    if args.bucket:
        packages = [with_bucket(p, args.bucket) for p in packages]
    client = CatalogClient(args.url, _session_id(args), HttpSettings.from_env())
    if args.dry_run:
        print(f"Dry run against {args.url}: reads the Catalog, writes nothing")
    summary = Publisher(client, force=args.force, dry_run=args.dry_run).publish(packages)
    return 0 if summary.ok else 1


def _serve_catalog(args: argparse.Namespace) -> int:
    """A loopback Catalog (and the scheduler login next to it) until Ctrl-C or SIGTERM: the
    real ``psa publish`` can rehearse against it. Nothing is kept when it stops."""
    import signal
    import threading

    from .local.emulator import ProActiveEmulator

    chosen = os.environ.get("PSA_PASSWORD")
    emulator = ProActiveEmulator(port=args.port)
    emulator.users = {args.login: chosen or REHEARSAL_PASSWORD}
    try:
        emulator.start()
    except OSError as error:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror or error}") from None
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        said = "the one in PSA_PASSWORD" if chosen else f"{REHEARSAL_PASSWORD} (fixed: loopback only)"
        print(f"Loopback Catalog on {emulator.catalog_url} (scheduler login: {emulator.scheduler_url})")
        print(f"User {args.login}, password {said}. Nothing is kept when it stops; Ctrl-C stops it.")
        print(f"Try: psa publish dist --url {emulator.catalog_url} --login {args.login} --dry-run", flush=True)
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.stop()
    objects = sum(len(bucket["objects"]) for bucket in emulator.buckets.values())
    print(f"Stopped: {len(emulator.buckets)} bucket(s), {objects} object(s) dropped.")
    return 0


def _new_service(args: argparse.Namespace) -> int:
    from .scaffold import TEMPLATE_DIR, create_service

    directory, files = create_service(args.name, args.image, args.port, args.dir, args.template or TEMPLATE_DIR)
    print(f"{directory}: service {args.name} from the Docker service template, {len(files)} files:")
    for relative in files:
        print(f"  {relative}")
    print(f"next: cd {directory} && pytest && psa validate bundles && psa bundle")
    return 0


def _assignment(value: str) -> "tuple[str, str]":
    """``NAME=VALUE``, or ``NAME`` alone: the value of that environment variable (a secret stays out of ``ps``)."""
    name, equals, text = value.partition("=")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE or NAME (a variable name, '=', its value; "
                                         "a name alone takes its value from the environment)")
    if not equals:
        if name not in os.environ:
            raise argparse.ArgumentTypeError(f"{name} is not set in the environment (--var NAME takes its value "
                                             "from there; or give NAME=VALUE)")
        return name, os.environ[name]
    return name, text


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of ticks (0 or more)")
    return int(value)


def _run(args: argparse.Namespace) -> int:
    from .workflow.run_command import run_command

    return run_command(args.workflow, variables=dict(args.var or ()), engine=args.engine, ticks=args.ticks,
                       then=args.then or (), tick_seconds=args.tick_seconds, report_path=args.report,
                       search_path=args.path or None, keep=args.keep)


def _graph(args: argparse.Namespace) -> int:
    from .workflow.graph import load_services, mermaid, render_svg

    services = load_services(args.paths)
    if args.svg is not None:
        if len(services) > 1:
            raise PsaScriptError(f"--svg draws one service; these paths hold {len(services)}: "
                                 + ", ".join(s.service_id for s in services))
        args.svg.write_bytes(render_svg(services[0]))
        print(f"{args.svg}: the states of {services[0].service_id}, drawn by Graphviz")
        return 0
    print("\n".join(mermaid(service) for service in services), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="psa", description="Catalog packages of the PSA lifecycle scripts in Python.")
    parser.add_argument("--version", action="version", version=f"psa-scripts {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bundle = commands.add_parser("bundle", help="build dist/<slug>.zip for every package of bundles/")
    bundle.add_argument("--out", type=Path, default=Path("dist"), help="where the zips go (default: dist)")
    bundle.add_argument("--bucket", type=_bucket, help="bucket of every package (and of the workflows' script URLs)")
    bundle.add_argument("--bundles", type=Path, default=DEFAULT_BUNDLES, help="package definitions (default: bundles)")
    bundle.add_argument("--standard", action="store_true", help="build only the standard bucket's package, "
                        "service-automation-python (our scripts), from the installed psa-scripts")
    bundle.add_argument("--path", type=Path, action="append", metavar="DIR",
                        help="where the modules of your scripts (package.json \"scripts\") are found; repeatable "
                             "(default: the current directory)")
    bundle.set_defaults(handler=_bundle)

    validate = commands.add_parser(
        "validate", help="lint PSA workflow XML files",
        description="Report what ProActive would refuse (PA1xx) and what would break a PSA service (PSA2xx), as "
                    "file:line:col: CODE severity: message. Exit status: 0 no error, 1 errors found, 2 usage error. "
                    "Silence one finding with <!-- psa: ignore[CODE] --> inside the element (or its task), or the "
                    "generic information psa.validate.ignore=CODE,... of the task or job.")
    validate.add_argument("paths", nargs="*", type=Path, metavar="FILE_OR_DIR")
    validate.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    validate.add_argument("--select", action="append", metavar="CODE",
                          help="report only rules whose code starts with CODE (repeatable), e.g. PA1 or PSA224")
    validate.add_argument("--ignore", action="append", metavar="CODE", help="skip rules starting with CODE (repeatable)")
    validate.add_argument("--explain", metavar="CODE", help="print what rule CODE checks and why, then exit")
    validate.add_argument("--bucket", type=_bucket, action="append",
                          help="another bucket holding our scripts (repeatable; default: the bundles' buckets)")
    validate.add_argument("--bundles", type=Path, default=DEFAULT_BUNDLES,
                          help="package definitions, for the names of the workflows and author scripts they hold "
                               "(default: bundles)")
    validate.set_defaults(handler=_validate)

    publish = commands.add_parser(
        "publish", help="send built packages to a Catalog",
        description="Send built packages to a Catalog. Authenticate with --login USER (password from PSA_PASSWORD "
                    "or a prompt) or a scheduler session id in PSA_SESSION_ID, the safe way: --session-id ID is "
                    "visible in ps and the shell history.")
    publish.add_argument("source", type=Path, metavar="DIST_OR_ZIP")
    publish.add_argument("--url", type=_url, required=True, help="the Catalog REST URL, e.g. https://host:8443/catalog")
    auth = publish.add_mutually_exclusive_group()
    auth.add_argument("--session-id", metavar="ID",
                      help="a scheduler session id; prefer PSA_SESSION_ID: an argument is visible in ps and "
                           "the shell history (warns)")
    auth.add_argument("--login", metavar="USER", help="log in as USER; password from PSA_PASSWORD or a prompt")
    publish.add_argument("--scheduler-url", type=_url, help="scheduler REST URL for --login (default: next to --url)")
    publish.add_argument("--bucket", type=_bucket, help="publish every package to this bucket")
    publish.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    publish.add_argument("--force", action="store_true", help="also replace objects a user edited")
    publish.set_defaults(handler=_publish)

    serve = commands.add_parser(
        "serve-catalog", help="run a loopback Catalog to rehearse psa publish",
        description=f"Serve a Catalog and the scheduler login on 127.0.0.1 (the local emulator) until Ctrl-C, so "
                    f"that the real psa publish can rehearse: user {REHEARSAL_LOGIN}, password {REHEARSAL_PASSWORD} "
                    "(or the value of PSA_PASSWORD when set). Nothing is kept when it stops.")
    serve.add_argument("--port", type=int, default=0, help="the port to listen on (default: a free one, printed)")
    serve.add_argument("--login", default=REHEARSAL_LOGIN, metavar="USER",
                       help=f"the user it accepts (default: {REHEARSAL_LOGIN})")
    serve.set_defaults(handler=_serve_catalog)

    new = commands.add_parser("new", help="start a service package of your own")
    kinds = new.add_subparsers(dest="kind", metavar="KIND", required=True)
    service = kinds.add_parser(
        "service", help="a Docker service from the template: workflows, a script of your own, its tests",
        description="Create a working service package from the Docker service template: the four workflows "
                    "renamed, package.json, a script of your own (the deployment executable: start, then wait "
                    "until ready) and its tests; all pass psa validate and pytest as generated.")
    service.add_argument("name", metavar="NAME", help="the service's name, e.g. tiny-httpd (slug, bucket, "
                         "package tiny_httpd, service Tiny_Httpd)")
    service.add_argument("--image", required=True, help="the service's Docker image, e.g. nginx:stable")
    service.add_argument("--port", type=int, required=True, help="the port the service listens on in its container")
    service.add_argument("--dir", type=Path, help="where to create it (default: ./<slug>; must not exist or be empty)")
    service.add_argument("--template", type=Path, help="the Docker service template directory "
                         "(default: the one installed with psa-scripts, bundles/docker-service-template "
                         "of its source tree)")
    service.set_defaults(handler=_new_service)

    run = commands.add_parser(
        "run", help="run a service's workflows on this machine: deploy, watch, then the actions",
        description="Run a PSA service on this machine: a local PSA and scheduler run the deployment workflow "
                    "(its scripts in fresh interpreters, as the cpython engine does), its status loop once a tick, "
                    "then, after --ticks N ticks or on SIGINT/SIGTERM/SIGHUP, its ending: the --then actions in order, "
                    "else the service's own finish workflow, else the removal of the containers it created "
                    "(--keep: none). A second signal forces the stop. Exit code 0 only when every workflow "
                    "succeeded and the instance is not in ERROR.")
    run.add_argument("workflow", type=Path, metavar="WORKFLOW.xml", help="the deployment workflow ((VOID,...) in pca.states)")
    run.add_argument("--var", type=_assignment, action="append", metavar="NAME[=VALUE]",
                     help="a variable of the deployment (repeatable); NAME alone takes the value of the "
                          "environment variable NAME, out of sight of ps")
    run.add_argument("--engine", choices=("docker", "memory"), default="docker",
                     help="docker: real containers through DOCKER_HOST (default); memory: the in-memory engine")
    run.add_argument("--ticks", type=_count, metavar="N", help="status-loop iterations before the actions "
                     "(default: until Ctrl-C)")
    run.add_argument("--tick-seconds", type=float, default=2.0, metavar="S",
                     help="the pause standing for the loop's cron between iterations (default: 2)")
    run.add_argument("--then", type=Path, action="append", metavar="ACTION.xml",
                     help="an action workflow run after the ticks or Ctrl-C (repeatable, in order)")
    run.add_argument("--keep", action="store_true", help="leave the service running at the end (no finish, "
                     "no removal): the last lines say how to remove it")
    run.add_argument("--report", type=Path, metavar="FILE", help="write the run as JSON (mode 0600; hidden "
                     "variables and credentials masked), whatever the ending")
    run.add_argument("--path", type=Path, action="append", metavar="DIR",
                     help="where your own scripts' modules are (package.json \"scripts\"; repeatable; "
                          "default: the current directory)")
    run.set_defaults(handler=_run)

    graph = commands.add_parser(
        "graph", help="draw a service's state machine (Mermaid on stdout, or --svg FILE)",
        description="Draw the state machine of the services whose workflows are given (files or package "
                    "directories): which workflow moves an instance from which state to which (pca.states), "
                    "plus the ERROR the lifecycle scripts set on failure. Mermaid text on standard output; "
                    "--svg FILE draws it with Graphviz's dot (apt-get install graphviz).")
    graph.add_argument("paths", nargs="+", type=Path, metavar="PACKAGE_DIR_OR_WORKFLOW")
    graph.add_argument("--svg", type=Path, metavar="FILE", help="write an SVG picture (Graphviz's dot) instead")
    graph.set_defaults(handler=_graph)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return int(args.handler(args))
    except UsageError as error:
        print(f"psa {args.command}: {error}", file=sys.stderr)
        return 2
    except PsaScriptError as error:
        print(f"psa {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"psa {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
