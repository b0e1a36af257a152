"""A service author's repository in miniature, written where a test wants it: the package
``tiny_httpd`` with one script of the author's own (``tiny_httpd.wait_ready``) and a helper."""

from pathlib import Path

WAIT_READY = '''\
"""Wait_Ready -- says where the service listens, once its port file is there.

Reads: INSTANCE_NAME, the file <INSTANCE_NAME>_port. Writes: READY_MESSAGE.
"""

from psa_scripts import statusfiles
from psa_scripts.context import ScriptContext

from . import readiness


def main(ctx: ScriptContext) -> None:
    name = ctx.instance_name()
    port = statusfiles.read_port(ctx.workdir, name)
    message = readiness.banner(name, port)
    ctx.variables.set("READY_MESSAGE", message)
    ctx.print(message)
'''

READINESS = '''\
from tiny_httpd.texts import READY


def banner(name, port):
    return READY.format(name=name, port=port)
'''

TEXTS = 'READY = "{name} ready on port {port} (caf\u00e9)"\n'  # non-ASCII source: the bundle escapes it

PACKAGE = {"slug": "tiny-httpd", "name": "Tiny httpd", "version": "1.2.3", "bucket": "tiny-httpd",
           "scripts": [{"name": "Wait_Ready", "module": "tiny_httpd.wait_ready", "kind": "Script/task"}]}


def write_author_package(root: Path) -> Path:
    """``root/tiny_httpd/`` with the script, its helper and a constants module; returns ``root``."""
    package = root / "tiny_httpd"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "wait_ready.py").write_text(WAIT_READY)
    (package / "readiness.py").write_text(READINESS)
    (package / "texts.py").write_text(TEXTS, encoding="utf-8")
    return root


def write_package_definition(bundles: Path, definition=None, slug: str = "tiny-httpd") -> Path:
    """``bundles/<slug>/package.json`` (default: PACKAGE, listing Wait_Ready); returns the directory."""
    import json

    directory = bundles / slug
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text(json.dumps(PACKAGE if definition is None else definition))
    return directory
