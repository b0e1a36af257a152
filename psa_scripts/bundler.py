"""The bundler: catalog scripts as self-contained files, and catalog packages as zips.

A catalog script is fetched as one file and run by the ``cpython`` engine with the
bindings as module globals. ``render_script`` turns a script module into
such a file: a header comment (what it does, kind, variables read and written, version),
the modules the script needs (the transitive closure of its imports, lazy ones included,
the testing package excluded: ``psa_scripts`` modules, and for a service author's script
the author's own packages found in the search path) embedded as source text, a meta-path
importer that serves them under their real names (in two parts: the part that opens and
judges the bytecode cache is written out; the loader proper travels as text, compiled once
and then read from that cache, since the engine compiles the whole file at every start), and
the call of ``run``.

Decisions the generated file encodes:
- The embedded copy always wins: its importer goes first on ``sys.meta_path`` and any
  ``psa_scripts`` module already imported is shadowed for the run, so the code that runs
  is the code that was published, whatever is installed on the node.
- Each embedded module is compiled on import, on its own, with the file name
  ``<embedded>/psa_scripts/<module>.py``: tracebacks name the module and its real line
  numbers, and the ``from __future__`` imports of the modules keep working. Uncaught
  errors are printed with the source lines (the interpreter's own hook cannot read them).
- At module level it binds only ``_psa_``-prefixed helpers, deleted at the end; ``run``
  writes back ``loop``/``selected``/``result`` only when the script sets them.
- The file is ASCII (non-ASCII characters of the sources are escaped): it reads the same
  whatever encoding the engine writes its temp file in.

``build_package`` / ``write_zip`` / ``read_zip`` handle the server's package format, laid out
exactly as ProActive's package loader reads it (docs/catalog-packages.md); zips are
reproducible: the same sources give byte-identical files.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re
import sys
import unicodedata
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from . import __version__
from .errors import InputError
from .names import SCRIPT_KINDS

ROOT_PACKAGE = "psa_scripts"
EXCLUDED_PACKAGES = ("psa_scripts.testing",)
PACKAGE_FILE = "package.json"
METADATA_FILE = "METADATA.json"
RESOURCES_DIR = "resources/catalog/"
DEFAULT_WORKFLOW_KIND = "Workflow/psa"
SCRIPT_CONTENT_TYPE = "text/x-python"
WORKFLOW_CONTENT_TYPE = "application/xml"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SOURCE_ROOT = Path(__file__).resolve().parent


class BundleError(InputError):
    """A script or package cannot be bundled (a missing module, a bad package definition)."""


# --- which modules a script needs ---------------------------------------------------------------
@dataclass
class Closure:
    """The psa_scripts modules a script needs, and what else they import."""

    modules: Dict[str, Tuple[bool, str]] = field(default_factory=dict)  # name -> (is package, source)
    third_party: List[str] = field(default_factory=list)  # top-level names outside the stdlib
    missing: List[str] = field(default_factory=list)  # imported inside functions, not found
    eager: List[str] = field(default_factory=list)  # reached by module-level imports from the roots

    def warnings(self, script: str) -> List[str]:
        return [f"{script}: {name} is imported inside a function but does not exist; "
                "the bundled script fails if it takes that path" for name in self.missing]


def module_file(name: str, root: Path = SOURCE_ROOT,
                search_path: Sequence[Path] = ()) -> Optional[Tuple[Path, bool]]:
    """The source file of module ``name`` and whether it is a package: a psa_scripts module
    under ``root``, any other under the first directory of ``search_path`` that holds it
    (the author's packages and modules)."""
    parts = name.split(".")
    if parts[0] == ROOT_PACKAGE:
        bases = [root.joinpath(*parts[1:])]
    else:
        bases = [directory.joinpath(*parts) for directory in search_path]
    for base in bases:
        if (base / "__init__.py").is_file():
            return base / "__init__.py", True
        if name != ROOT_PACKAGE and base.with_suffix(".py").is_file():
            return base.with_suffix(".py"), False
    return None


def _is_local(top: str, source_root: Path, search_path: Sequence[Path]) -> bool:
    """Whether top-level name ``top``, imported by an author's module, is embedded: psa_scripts,
    or a package (with ``__init__.py``) or module of the author's directories (the standard
    library first, as on the node)."""
    if top == ROOT_PACKAGE:
        return True
    if not top or top == "__future__" or not search_path or is_stdlib(top):
        return False
    return module_file(top, source_root, search_path) is not None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(nodes: Iterable[ast.AST], lazy: bool = False) -> Iterator[Tuple[ast.AST, bool]]:
    """Every import statement with whether it runs only when a function is called;
    ``if TYPE_CHECKING:`` bodies are skipped (they never run)."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, lazy
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.orelse, lazy)
        else:
            inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from _import_nodes(ast.iter_child_nodes(node), inner)


def _absolute(module: Optional[str], level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    parts = importer.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def is_stdlib(name: str) -> bool:
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return name in names
    import importlib.util  # Python 3.9: judge by where it is installed

    spec = importlib.util.find_spec(name)
    origin = (spec.origin or "") if spec else ""
    return spec is not None and "-packages" not in origin


CONTEXT_MODULE = "psa_scripts.context"
RUNNER_MODULE = "psa_scripts.scripts"  # run(): what the tail of every bundled file calls


def module_closure(roots: Sequence[str], source_root: Path = SOURCE_ROOT,
                   search_path: Sequence[Path] = ()) -> Closure:
    """The modules ``roots`` need, by AST: imports at any depth (inside functions too), parent
    packages included, ``psa_scripts.testing`` excluded. Followed: psa_scripts, and the
    packages and modules found in the directories of ``search_path`` (an author's scripts and
    their helpers); anything else is the standard library or a third-party dependency.

    One pruning: the context imports its clients inside the methods that build them
    (``ScriptContext.psa``, ``.engine``); those imports are followed only when the script's
    own modules use an attribute of that name. Fetch_Logs never calls ``ctx.psa``: its file
    need not carry the REST clients and the engine layer, which it would read at every start.
    """
    full = _closure(roots, source_root, search_path, used=None)
    eager = eager_modules(roots, full.modules, source_root)
    used = {node.attr for name in eager if name != CONTEXT_MODULE
            for node in ast.walk(ast.parse(full.modules[name][1])) if isinstance(node, ast.Attribute)}
    return _closure(roots, source_root, search_path, used=used)


def _context_methods(tree: ast.Module) -> "dict[int, str]":
    """Line of each import inside a ScriptContext method -> the method's name."""
    lines = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    lines.setdefault(inner.lineno, node.name)
    return lines


def _closure(roots: Sequence[str], source_root: Path, search_path: Sequence[Path],
             used: "Optional[set[str]]") -> Closure:
    closure = Closure()
    pending = [(name, False) for name in roots]
    third_party = set()
    local: Dict[str, bool] = {}  # top-level name -> embedded (psa_scripts or the author's)
    while pending:
        name, lazy = pending.pop()
        if name in closure.modules or name.startswith(EXCLUDED_PACKAGES):
            continue
        found = module_file(name, source_root, search_path)
        if found is None:
            if not lazy:
                folder = [d for d in search_path if d.joinpath(*name.split(".")).is_dir()]
                if folder:
                    raise BundleError(f"module {name} is the directory {folder[0].joinpath(*name.split('.'))} "
                                      "with no __init__.py: add an empty __init__.py to make it a package")
                raise BundleError(f"module {name} is imported but has no source file")
            closure.missing.append(name)
            continue
        path, is_package = found
        source = path.read_text(encoding="utf-8")
        closure.modules[name] = (is_package, source)
        if "." in name:
            pending.append((name.rsplit(".", 1)[0], lazy))
        tree = ast.parse(source, str(path))
        methods = _context_methods(tree) if used is not None and name == CONTEXT_MODULE else {}
        for node, node_lazy in _import_nodes(tree.body):
            method = methods.get(node.lineno)
            if node_lazy and method is not None and method not in used:
                continue  # a client the script never asks the context for
            node_lazy = lazy or node_lazy
            if isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            else:
                assert isinstance(node, ast.ImportFrom)
                base = _absolute(node.module, node.level, name, is_package)
                targets = [(base, alias.name) for alias in node.names]
            for base, attribute in targets:
                top = base.split(".")[0]
                if top not in local:
                    local[top] = _is_local(top, source_root, search_path)
                # psa_scripts imports nothing of the author's: a folder named like one of its
                # dependencies (a docker/ of Dockerfiles...) in the search path changes nothing
                if not local[top] or (top != ROOT_PACKAGE and name.split(".")[0] == ROOT_PACKAGE):
                    if top and top != "__future__" and not is_stdlib(top):
                        third_party.add(top)
                    continue
                pending.append((base, node_lazy))
                if attribute and module_file(f"{base}.{attribute}", source_root, search_path):
                    pending.append((f"{base}.{attribute}", node_lazy))
    closure.modules = dict(sorted(closure.modules.items()))
    closure.eager = sorted(eager_modules(roots, closure.modules, source_root))
    closure.third_party = sorted(third_party)
    closure.missing = sorted(set(closure.missing))
    return closure


def eager_modules(roots: Sequence[str], modules: Mapping[str, Tuple[bool, str]],
                  source_root: Path = SOURCE_ROOT) -> "set[str]":
    """The modules of ``modules`` that importing ``roots`` loads at once (no import inside a
    function followed): what every run of the script pays for."""
    eager: "set[str]" = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in eager or name not in modules:
            continue
        eager.add(name)
        is_package, source = modules[name]
        if "." in name:
            pending.append(name.rsplit(".", 1)[0])
        for node, lazy in _import_nodes(ast.parse(source).body):
            if lazy or not isinstance(node, ast.ImportFrom):
                if not lazy and isinstance(node, ast.Import):
                    pending.extend(alias.name for alias in node.names)
                continue
            base = _absolute(node.module, node.level, name, is_package)
            pending.append(base)
            pending.extend(f"{base}.{alias.name}" for alias in node.names)
    return eager


def packed_literal(source: str) -> str:
    """``source`` zlib-compressed, as a base64 string literal: a fraction of the text for the
    interpreter to read at every start, unpacked only when the module is imported."""
    packed = base64.b64encode(zlib.compress(source.encode("utf-8"), 9)).decode("ascii")
    lines = [packed[i:i + 100] for i in range(0, len(packed), 100)]
    return "(\n" + "\n".join(f"        {line!r}" for line in lines) + ")"


# --- the generated file --------------------------------------------------------------------------
# The generated file's importer, in two parts. Compiling Python costs about 5 us a line at
# every start (the bundled file is compiled whole each time the engine runs it): the first part,
# written out in the file, only opens the bytecode cache and judges it; the second, the loader
# proper, travels as text and is compiled once, then read from the cache like the modules.
_LOADER = """\
def _psa_install(modules):
    \"""Serve the embedded modules under their real names, ahead of any installed copy: open
    the bytecode cache if it is safe, then run the loader proper, read from the cache or
    compiled.\"""
    import os
    import sys

    cache = os.environ.get("PSA_SCRIPTS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "psa-scripts")
    cache = None if cache == "off" else os.path.join(cache, sys.implementation.cache_tag or "none")
    # The cache needs what makes it safe: uids, no-follow opens and calls relative to a directory.
    if not (hasattr(os, "getuid") and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
            and os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd):  # replace: as rename
        cache = None

    def trusted_path(path):
        # Who can write a directory on the way can swap what lies below it: every existing
        # directory from the cache up to / must belong to us or root, and be writable by no
        # one else unless sticky (like /tmp, where others add entries but cannot move ours).
        import stat

        while True:
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                info = None
            if info is not None and (not stat.S_ISDIR(info.st_mode) or info.st_uid not in (os.getuid(), 0)
                                     or (info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX)):
                return False
            parent = os.path.dirname(path)
            if parent == path:
                return True
            path = parent

    def open_cache():
        # Bytecode read from the cache runs as our code. So the directory is opened once, its
        # last step not following a symlink, and judged on that handle: ours, no group/other
        # bit. Every file is then read and written relative to the handle (dir_fd), so a
        # directory swapped in after the check is never read.
        real = os.path.realpath(cache)
        if not trusted_path(real):
            return None
        made = False
        try:
            os.makedirs(real, mode=0o700)
            made = True
        except FileExistsError:
            pass  # found, or a concurrent run made it: judged on the handle below
        except OSError:
            return None  # a read-only home only costs the compile
        try:
            handle = os.open(real, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            if made:
                os.chmod(handle, 0o700)  # the mode given to makedirs is masked by the umask
            info = os.fstat(handle)
            if info.st_uid == os.getuid() and not info.st_mode & 0o077:
                return handle
        except OSError:
            pass
        os.close(handle)
        return None

    directory = open_cache() if cache else None

    def cached(digest):
        # The code kept under ``digest`` in the judged directory, or None.
        if directory is None:
            return None
        import marshal

        try:
            with os.fdopen(os.open(digest + ".bin", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory), "rb") as stream:
                return marshal.loads(stream.read())
        except (OSError, ValueError, EOFError, TypeError):
            return None

    digest = LOADER_DIGEST
    code = cached(digest)
    fresh = code is None
    if fresh:  # the loader proper's text
        code = compile(LOADER_SOURCE, "<embedded>/_psa_loader.py", "exec", dont_inherit=True)
    namespace = {"__name__": "_psa_loader"}
    exec(code, namespace)
    return namespace["install"](modules, directory, cached, (digest, code) if fresh else None)
"""

# The loader proper (see _LOADER): a module whose ``install`` puts the embedded modules on
# ``sys.meta_path`` and returns the function that takes them off again.
_LOADER_PROPER = """\
\"""The loader proper of a bundled psa-scripts file: serves its embedded modules.\"""

import os
import sys

try:  # importlib.machinery's ModuleSpec, from the import system every interpreter has loaded
    from _frozen_importlib import ModuleSpec
except ImportError:  # not CPython: importing importlib costs a little there
    from importlib.machinery import ModuleSpec


def install(modules, directory, cached, loader):
    \"""Serve ``modules`` (name: (is package, digest, source or None, packed source or None)),
    their code kept in the cache ``directory`` (a handle, or None) and read by ``cached``;
    ``loader``: this module's own (digest, code) to keep, when it was just compiled.\"""
    roots = {name.split(".")[0] for name in modules}

    def filename(name):
        return "<embedded>/" + name.replace(".", "/") + ("/__init__.py" if modules[name][0] else ".py")

    def source_of(name):
        # Modules a script reaches only on some paths (network, engine) travel compressed.
        _, _, source, packed = modules[name]
        if source is None:
            import binascii
            import zlib

            source = zlib.decompress(binascii.a2b_base64(packed)).decode("utf-8")
        return source

    def code_of(name):
        # Compiling costs milliseconds a module and this runs every minute: keep the bytecode,
        # keyed by the source's digest (taken at bundle time), like __pycache__ does.
        digest = modules[name][1]
        code = cached(digest)
        if code is None:
            code = compile(source_of(name), filename(name), "exec", dont_inherit=True)
            keep(digest, code)
        return code

    def keep(digest, code):
        if directory is None:
            return
        import marshal

        partial = "%s.bin.%d" % (digest, os.getpid())
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
            with os.fdopen(os.open(partial, flags, 0o600, dir_fd=directory), "wb") as stream:
                stream.write(marshal.dumps(code))
            os.replace(partial, digest + ".bin", src_dir_fd=directory, dst_dir_fd=directory)
            prune()
        except OSError:
            pass  # a full disk only costs the compile

    def prune(keep=1000):
        # Each new library version adds entries (a digest each): after a write, the newest `keep`
        # stay and older ones go, so the cache stays bounded (a few MB). Only a miss pays for it.
        try:
            names = [n for n in os.listdir(directory) if n.endswith(".bin")]
            if len(names) <= keep:
                return
            written = sorted(((os.stat(n, dir_fd=directory, follow_symlinks=False).st_mtime_ns, n) for n in names),
                             reverse=True)
            for _, name in written[keep:]:
                os.unlink(name, dir_fd=directory)
        except (OSError, TypeError, NotImplementedError):
            pass  # pruning is a courtesy: the cache still works

    class Loader:
        @staticmethod
        def create_module(spec):
            return None

        @staticmethod
        def exec_module(module):
            exec(code_of(module.__spec__.name), module.__dict__)

        @staticmethod
        def get_source(name):
            return source_of(name)

    class Finder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name not in modules:
                return None
            spec = ModuleSpec(name, Loader, origin=filename(name), is_package=modules[name][0])
            spec.has_location = True
            return spec

    def excepthook(kind, value, traceback_):
        import linecache
        import traceback

        for name in modules:  # so the traceback shows the source lines
            source = source_of(name)
            linecache.cache[filename(name)] = (len(source), None, source.splitlines(True), filename(name))
        traceback.print_exception(kind, value, traceback_)

    if loader is not None:
        keep(*loader)
    shadowed = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in roots}
    previous_hook = sys.excepthook
    if previous_hook is sys.__excepthook__:
        sys.excepthook = excepthook
    sys.meta_path.insert(0, Finder)

    def uninstall():
        sys.meta_path.remove(Finder)
        if directory is not None:
            os.close(directory)
        if sys.excepthook is excepthook:
            sys.excepthook = previous_hook
        for name in [name for name in sys.modules if name.split(".")[0] in roots]:
            del sys.modules[name]
        sys.modules.update(shadowed)

    return uninstall
"""

_ASCII = {"\u2014": "--", "\u2013": "-", "\u2192": "->", "\u2190": "<-", "\u2026": "...",
          "\u00d7": "x", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a7": "S"}


def ascii_text(text: str) -> str:
    """``text`` in ASCII for comments: dashes and arrows spelt out, accents dropped."""
    out = []
    for char in text:
        if ord(char) < 128:
            out.append(char)
        else:
            out.append(_ASCII.get(char) or unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode() or "?")
    return "".join(out)


def source_literal(text: str) -> str:
    """A triple-quoted ASCII literal that evaluates to ``text``, its lines kept as lines."""
    out = []
    for char in text.replace("\\", "\\\\").replace("'''", "\\'\\'\\'"):
        code = ord(char)
        if char in "\n\t" or 32 <= code < 127:
            out.append(char)
        elif code < 256:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    body = "".join(out)
    if body.endswith("'"):
        body = body[:-1] + "\\'"
    return "'''\\\n" + body + "'''"


def source_digest(name: str, source: str) -> str:
    """The key of a module's cached bytecode on the node: its name and source, hashed."""
    return hashlib.sha256(f"{name}\0{source}".encode()).hexdigest()[:32]


def _docstring_parts(source: str) -> Tuple[str, List[str]]:
    """The docstring's first paragraph on one line, and the rest as lines."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    first, _, rest = doc.strip().partition("\n\n")
    return " ".join(first.split()), rest.strip().splitlines()


def _comment(lines: Iterable[str]) -> List[str]:
    return [("# " + ascii_text(line)).rstrip() for line in lines]


def _contract_lines(info: Any) -> List[str]:
    """The script's contract (psa_scripts.contract) as header lines, then a blank line."""
    contract = getattr(info, "contract", None)
    lines = list(contract.describe()) if contract is not None else []
    return _comment(lines + [""]) if lines else []


@dataclass(frozen=True)
class AuthorScript:
    """A script of the service author's own, as package.json lists it: a module with
    ``main(ctx)`` outside psa_scripts. ``psa bundle`` reads its source, never imports it."""

    name: str
    module: str
    kind: str


def _is_author_script(info: Any) -> bool:
    return not info.module.startswith(ROOT_PACKAGE + ".")


def script_roots(info: Any) -> List[str]:
    """The modules a bundled script starts from: its own, and for an author's script the
    runner (``psa_scripts.scripts``), which a library script's package already is."""
    return [info.module, RUNNER_MODULE] if _is_author_script(info) else [info.module]


def _embedded_summary(closure: Closure) -> str:
    own = sorted({name.split(".")[0] for name in closure.modules} - {ROOT_PACKAGE})
    if not own:
        return f"{len(closure.modules)} psa_scripts modules"
    count = sum(1 for name in closure.modules if name.split(".")[0] != ROOT_PACKAGE)
    return f"{len(closure.modules)} modules ({count} of {', '.join(own)}, the rest psa_scripts)"


def render_script(info: Any, *, version: str = __version__, closure: Optional[Closure] = None,
                  search_path: Sequence[Path] = ()) -> str:
    """The self-contained catalog file of script ``info``: a ``ScriptInfo`` of the library, or
    an ``AuthorScript`` whose modules are found in ``search_path``."""
    closure = closure or module_closure(script_roots(info), search_path=search_path)
    summary, details = _docstring_parts(closure.modules[info.module][1])
    module_path = info.module.replace(".", "/") + ".py"
    extras = ", ".join(closure.third_party) or "nothing"
    call = (f"_psa_run({info.module!r}, globals(), kind={info.kind!r})" if _is_author_script(info)
            else f"_psa_run({info.name!r}, globals())")
    header = _comment([
        summary,
        "",
        f"Catalog object {info.name}: kind {info.kind}, language cpython.",
        f"psa-scripts {version}, generated by `psa bundle` from {module_path}.",
        "Edit that module, not this file.",
        "",
        *details,
        "",
        *_contract_lines(info),
        f"Self-contained: embeds the {_embedded_summary(closure)} it needs and imports them",
        f"(as text the {len(closure.eager)} it always loads; zlib-packed those only some paths import),",
        "from here even where psa_scripts is installed (the code that runs is the code published).",
        f"Standard library only, plus, imported only where used: {extras}.",
        "Bindings are read from the module globals; only what the script sets (loop, selected,",
        "result) is written back; helpers are named _psa_* and deleted at the end, where the call is.",
    ])
    modules = [
        f"    {name!r}: ({is_package}, {source_digest(name, source)!r}, {source_literal(source)}, None),"
        if name in closure.eager else
        f"    {name!r}: ({is_package}, {source_digest(name, source)!r}, None, {packed_literal(source)}),"
        for name, (is_package, source) in closure.modules.items()]
    tail = [
        "_psa_uninstall = _psa_install({",
        *modules,
        "})",
        "from psa_scripts.scripts import run as _psa_run",
        "",
        call,
        "_psa_uninstall()",
        "del _psa_install, _psa_uninstall, _psa_run",
        "",
    ]
    loader = (_LOADER.replace("LOADER_DIGEST", repr(source_digest("_psa_loader", _LOADER_PROPER)))
              .replace("LOADER_SOURCE", source_literal(_LOADER_PROPER)))
    return "\n".join(header + ["", "", loader.rstrip("\n"), "", ""] + tail)


# --- packages ---------------------------------------------------------------------------------------
# The zip layout is what ProActive's package loader reads (docs/catalog-packages.md): it unpacks
# <name>.zip and opens <name>/METADATA.json, each object's "file" relative to that folder.
ZIP_SUFFIX = ".zip"
# The loader puts kind and contentType into its URL as they are (a space breaks the URL, '+'
# or '&' change the value); it URL-encodes an object's name, then compares the encoded name with
# the Catalog's listing, so a name that encoding changes is never found again.
URL_SAFE_VALUE = re.compile(r"[A-Za-z0-9._/-]+")
# What `psa publish` reads from a zip: a bundled script is ~100 KB, a package under 2 MB.
MAX_ENTRY_BYTES = 16 * 1024 * 1024
MAX_PACKAGE_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 2000


@dataclass(frozen=True)
class CatalogObject:
    """One object of a package: its catalog metadata and its file's bytes. ``file`` is the
    path inside the package folder (``resources/catalog/<Name>.py``), as METADATA.json says."""

    name: str
    kind: str
    content_type: str
    file: str
    content: bytes
    project_name: str = ""
    tags: str = ""
    commit_message: str = ""

    @property
    def filename(self) -> str:
        """The file's own name (``<Name>.py``): what an upload calls it."""
        return PurePosixPath(self.file).name


@dataclass(frozen=True)
class Package:
    """A catalog package: what METADATA.json says plus the files under resources/catalog/."""

    slug: str
    name: str
    version: str
    bucket: str
    objects: Tuple[CatalogObject, ...]
    short_description: str = ""
    author: str = ""
    user_group: str = "public-objects"
    warnings: Tuple[str, ...] = field(default=(), compare=False)  # found while building, not stored

    def metadata(self) -> Dict[str, object]:
        """METADATA.json, in the server's package format."""
        return {
            "metadata": {"slug": self.slug, "name": self.name, "short_description": self.short_description,
                         "author": self.author, "version": self.version},
            "catalog": {"bucket": self.bucket, "userGroup": self.user_group, "objects": [
                {"name": o.name, "metadata": {"kind": o.kind, "commitMessage": o.commit_message,
                                              "contentType": o.content_type, "projectName": o.project_name,
                                              "tags": o.tags}, "file": o.file}
                for o in self.objects]},
        }


def default_commit_message(slug: str) -> str:
    # Stable across versions (the server's loader revises only objects whose last commit
    # message starts with the package's); the closing parenthesis keeps slugs apart.
    return f"Published by psa-scripts ({slug})"


def retarget(document: bytes, old_buckets: Iterable[str], new_bucket: str, source: str = "<workflow>") -> bytes:
    """Point the script URLs of a workflow (the file's bytes, in its declared encoding) into
    ``old_buckets`` at ``new_bucket``: the workflow model finds them (``<file url>`` values
    that are Catalog raw URLs) and only they change; the bytes keep the file's encoding."""
    from .workflow.model import retarget as retarget_urls

    return retarget_urls(document, old_buckets, new_bucket, source)


# package.json: each key, the type of its value ("scripts" is true or a list of author scripts).
PACKAGE_KEYS: Dict[str, Tuple[type, ...]] = {
    "slug": (str,), "name": (str,), "bucket": (str,), "version": (str,), "short_description": (str,),
    "author": (str,), "userGroup": (str,), "projectName": (str,), "tags": (list,), "scripts": (bool, list),
    "workflowKind": (str,), "commitMessage": (str,),
}
REQUIRED_KEYS = ("slug", "name", "bucket")
SCRIPT_ENTRY_KEYS = ("name", "module", "kind")
OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # goes into catalog URLs and file names
MODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _definition(directory: Path) -> Dict[str, Any]:
    """``directory/package.json``, checked: every key known and of its type, the required ones
    set; ``"scripts"`` as a list becomes ``"author_scripts"`` (AuthorScript entries)."""
    path = directory / PACKAGE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{path} is missing: every package of bundles/ needs one") from None
    except ValueError as error:
        raise BundleError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a JSON object of package keys")
    for key, value in data.items():
        if key not in PACKAGE_KEYS:
            raise BundleError(f"{path}: unknown key {key!r}; package.json keys are: {', '.join(PACKAGE_KEYS)}")
        if not isinstance(value, PACKAGE_KEYS[key]):
            expected = " or ".join("a string" if t is str else "a list" if t is list else "true/false"
                                   for t in PACKAGE_KEYS[key])
            raise BundleError(f"{path}: {key!r} must be {expected}, got {json.dumps(value)}")
    for key in REQUIRED_KEYS:
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise BundleError(f"{path}: {key!r} is required (a non-empty string)")
    if "version" in data and (not data["version"].strip() or data["version"] != data["version"].strip()):
        raise BundleError(f"{path}: 'version' must be a non-empty string without spaces around it, "
                          f"got {data['version']!r}")
    if not all(isinstance(tag, str) and tag and "," not in tag for tag in data.get("tags", [])):
        raise BundleError(f"{path}: 'tags' must be a list of strings (non-empty, without ','; METADATA.json "
                          f"joins them with ','), got {json.dumps(data['tags'])}")
    entries = data["scripts"] if isinstance(data.get("scripts"), list) else []
    data["author_scripts"] = tuple(_author_script(path, position, entry) for position, entry in enumerate(entries, 1))
    names = [script.name for script in data["author_scripts"]]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise BundleError(f"{path}: scripts lists {', '.join(twice)} more than once")
    return data


def _author_script(path: Path, position: int, entry: Any) -> AuthorScript:
    where = f"{path}: scripts[{position}]"
    example = '{"name": "Wait_Ready", "module": "my_service.wait_ready", "kind": "Script/task"}'
    if not isinstance(entry, dict):
        raise BundleError(f"{where} must be an object like {example}")
    for key in entry:
        if key not in SCRIPT_ENTRY_KEYS:
            raise BundleError(f"{where}: unknown key {key!r}; a script has {', '.join(SCRIPT_ENTRY_KEYS)}")
    for key in SCRIPT_ENTRY_KEYS:
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise BundleError(f"{where}: {key!r} is required (a non-empty string), e.g. {example}")
    name, module, kind = entry["name"], entry["module"], entry["kind"]
    if not OBJECT_NAME.fullmatch(name):
        raise BundleError(f"{where}: name {name!r} must be letters, digits, '_', '.', '-' (it goes into the "
                          "script's catalog URL)")
    from .scripts import SCRIPTS

    if name in SCRIPTS:
        raise BundleError(f"{where}: {name} is the name of a psa-scripts catalog script: choose another")
    if not MODULE_PATH.fullmatch(module) or module.split(".")[0] == ROOT_PACKAGE:
        raise BundleError(f"{where}: module {module!r} must be the dotted path of a module of yours "
                          "(e.g. my_service.wait_ready), not in psa_scripts")
    if kind not in SCRIPT_KINDS:
        raise BundleError(f"{where}: kind {kind!r} is not one of {', '.join(SCRIPT_KINDS)}")
    return AuthorScript(name, module, kind)


def check_package(package: Package) -> None:
    """Refuse what ProActive's package loader cannot install (docs/catalog-packages.md): a
    kind or content type that breaks its URL, a name it would never find again, a field
    that is not a string, two objects with one name or one file, a file outside the folder."""
    problems: List[str] = []
    names: Dict[str, int] = {}
    files: Dict[str, int] = {}
    for obj in package.objects:
        where = f"object {obj.name!r}"
        if not isinstance(obj.name, str) or not OBJECT_NAME.fullmatch(obj.name):
            problems.append(f"{where}: the name must match {OBJECT_NAME.pattern} (the loader URL-encodes it "
                            "and compares the result with the Catalog's names)")
        for label, value in (("kind", obj.kind), ("contentType", obj.content_type)):
            if not isinstance(value, str) or not URL_SAFE_VALUE.fullmatch(value):
                problems.append(f"{where}: {label} {value!r} must match {URL_SAFE_VALUE.pattern} (the loader "
                                "puts it unencoded into a URL: no space, '+', '&' or '%')")
        for label, value in (("projectName", obj.project_name), ("tags", obj.tags),
                             ("commitMessage", obj.commit_message)):
            if not isinstance(value, str):
                problems.append(f"{where}: {label} must be a string, got {type(value).__name__}")
        parts = PurePosixPath(obj.file).parts if isinstance(obj.file, str) else ()
        if not parts or obj.file.startswith("/") or "\\" in obj.file or ".." in parts or obj.file == METADATA_FILE:
            problems.append(f"{where}: file {obj.file!r} must be a relative path inside the package folder")
        names[obj.name] = names.get(obj.name, 0) + 1
        files[obj.file] = files.get(obj.file, 0) + 1
    problems += [f"{count} objects are named {name!r}" for name, count in names.items() if count > 1]
    problems += [f"{count} objects share the file {file!r}" for file, count in files.items() if count > 1]
    if not isinstance(package.bucket, str) or not package.bucket:
        problems.append("the bucket must be a non-empty string")
    if problems:
        raise BundleError(f"package {package.slug}: " + "; ".join(problems))


def package_dirs(bundles_dir: Path) -> List[Path]:
    """The package directories of ``bundles_dir`` (those with a package.json), sorted."""
    if not bundles_dir.is_dir():
        raise BundleError(f"{bundles_dir} is not a directory: pass the bundles/ directory of the repository")
    return sorted(p.parent for p in bundles_dir.glob(f"*/{PACKAGE_FILE}"))


def definitions(bundles_dir: Path) -> List[Tuple[Path, Dict[str, Any]]]:
    """Each package directory of ``bundles_dir`` with its checked definition; two packages
    with one slug (they would write the same zip) are an error."""
    found = [(directory, _definition(directory)) for directory in package_dirs(bundles_dir)]
    slugs: Dict[str, Path] = {}
    for directory, data in found:
        other = slugs.setdefault(data["slug"], directory)
        if other != directory:
            raise BundleError(f"{other / PACKAGE_FILE} and {directory / PACKAGE_FILE} both have slug "
                              f"{data['slug']!r}: each package needs its own (it names the zip)")
    return found


def default_buckets(bundles_dir: Path) -> List[str]:
    return sorted({str(data["bucket"]) for _, data in definitions(bundles_dir)})


def author_scripts(bundles_dir: Path) -> List[AuthorScript]:
    """The author scripts every package of ``bundles_dir`` lists."""
    return [script for _, data in definitions(bundles_dir) for script in data["author_scripts"]]


def build_package(directory: Path, *, bucket: Optional[str] = None, retarget_from: Iterable[str] = (),
                  scripts: Optional[Mapping[str, Any]] = None, version: str = __version__,
                  search_path: Optional[Sequence[Path]] = None) -> Package:
    """The package defined by ``directory/package.json``: every script of ``scripts`` (default:
    SCRIPTS, as it is at build time) when it says ``"scripts": true``, or the author's scripts
    it lists (``"scripts": [{"name", "module", "kind"}]``, modules found in ``search_path``,
    default the current directory), plus each ``*.xml`` workflow of the directory, its catalog
    URLs moved from ``retarget_from`` to ``bucket``. ``version`` is the library's, and the
    package's unless package.json gives its own ``"version"``."""
    data = _definition(directory)
    search = [Path.cwd()] if search_path is None else [Path(p) for p in search_path]
    target = bucket or str(data["bucket"])
    commit = str(data.get("commitMessage") or default_commit_message(str(data["slug"])))
    # Strings, as the package loader needs them (it URL-encodes each as a string); tags comma-separated.
    project, tags = str(data.get("projectName", "")), ",".join(data.get("tags", []))

    def catalog_object(name: str, kind: str, content_type: str, file: str, content: bytes) -> CatalogObject:
        return CatalogObject(name, kind, content_type, RESOURCES_DIR + file, content, project, tags, commit)

    objects: List[CatalogObject] = []
    warnings: List[str] = []
    if data.get("scripts") is True:
        if scripts is None:
            from .scripts import SCRIPTS as scripts
        infos: List[Any] = list(scripts.values())
    else:
        infos = list(data["author_scripts"])
    for info in infos:
        if _is_author_script(info) and module_file(info.module, search_path=search) is None:
            raise BundleError(
                f"{directory / PACKAGE_FILE}: script {info.name}: module {info.module} is not found in "
                f"{', '.join(str(d) for d in search)}: run psa bundle from the directory that holds "
                f"{info.module.split('.')[0]}, or give --path DIR")
        closure = module_closure(script_roots(info), search_path=search)
        warnings += closure.warnings(info.name)
        text = render_script(info, version=version, closure=closure)
        objects.append(catalog_object(info.name, info.kind, SCRIPT_CONTENT_TYPE, f"{info.name}.py",
                                      text.encode("ascii")))
    kind = str(data.get("workflowKind", DEFAULT_WORKFLOW_KIND))
    for path in sorted(directory.glob("*.xml")):
        content = path.read_bytes()  # as written: the workflow declares its own encoding
        if bucket:
            content = retarget(content, retarget_from, target, str(path))
        objects.append(catalog_object(path.stem, kind, WORKFLOW_CONTENT_TYPE, path.name, content))
    if not objects:
        raise BundleError(f"{directory} defines no object: set \"scripts\": true or add workflow XML files")
    names = [o.name for o in objects]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise BundleError(f"{directory}: two objects named {', '.join(twice)} (a script of \"scripts\" and a "
                          "workflow file share the name): rename one")
    package = Package(slug=str(data["slug"]), name=str(data["name"]), version=str(data.get("version") or version),
                      bucket=target,
                      objects=tuple(objects), short_description=str(data.get("short_description", "")),
                      author=str(data.get("author", "")), user_group=str(data.get("userGroup", "public-objects")),
                      warnings=tuple(warnings))
    check_package(package)
    return package


def package_folder(path: Path) -> str:
    """The folder every entry of zip ``path`` sits under: its name without ``.zip`` (the
    loader unpacks ``<name>.zip`` and reads ``<name>/METADATA.json``)."""
    name = Path(path).name
    if not name.endswith(ZIP_SUFFIX) or name == ZIP_SUFFIX:
        raise BundleError(f"{path}: a package file must be named <name>{ZIP_SUFFIX} (ProActive's loader "
                          "reads <name>/METADATA.json from it)")
    return name[: -len(ZIP_SUFFIX)]


def _zip_entry(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # Unix, whatever the building machine
    entry.external_attr = 0o100644 << 16
    return entry


def package_bytes(package: Package, folder: Optional[str] = None) -> Dict[str, bytes]:
    """The zip's entries, sorted: ``<folder>/METADATA.json`` and ``<folder>/<file>`` of each
    object (``folder``: the zip's name without .zip; default the slug)."""
    check_package(package)
    top = (folder or package.slug) + "/"
    entries = {top + METADATA_FILE: (json.dumps(package.metadata(), indent=2) + "\n").encode("utf-8")}
    for obj in package.objects:
        entries[top + obj.file] = obj.content
    return dict(sorted(entries.items()))


def write_zip(package: Package, path: Path) -> Path:
    """Write ``package`` as a reproducible zip (fixed dates and modes, sorted entries) under
    the folder the loader reads: ``<name>.zip`` holds ``<name>/...``."""
    entries = package_bytes(package, package_folder(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(_zip_entry(name), data, compresslevel=9)
    return path


def leaves_folder(written: str) -> bool:
    """Whether a path written in a package -- a zip entry's name, an object's ``file`` in
    METADATA.json -- could lead outside the folder it is relative to: absolute, a backslash
    (a separator to some unzippers), or a ``..`` part. ``psa publish`` and the local loader
    refuse such a path (ProActive's loader would follow it)."""
    return written.startswith("/") or "\\" in written or ".." in PurePosixPath(written).parts


def bounded_entries(path: Path, archive: zipfile.ZipFile, max_entry_bytes: int = MAX_ENTRY_BYTES,
                    max_total_bytes: int = MAX_PACKAGE_BYTES) -> Iterator[Tuple[zipfile.ZipInfo, bytes]]:
    """Each file entry of the zip with its bytes, in order, read within the limits a package
    keeps (a zip bomb is refused): at most MAX_ENTRIES entries and their declared sizes are
    checked before anything is read, the actual sizes while reading. BundleError naming the
    entry and the limit. ``psa publish``'s reader and the local package loader both read so."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise BundleError(f"{path}: {len(infos)} entries, more than a package may hold ({MAX_ENTRIES})")
    total = sum(info.file_size for info in infos)
    for info in infos:
        if info.file_size > max_entry_bytes:
            raise BundleError(f"{path}: entry {info.filename} declares {info.file_size} bytes, more than the "
                              f"{max_entry_bytes} bytes an entry may hold")
    if total > max_total_bytes:
        raise BundleError(f"{path}: its entries declare {total} bytes in all, more than the {max_total_bytes} "
                          "bytes a package may hold")
    read = 0
    for info in infos:
        if info.is_dir():
            continue
        chunks = []
        size = 0
        try:
            with archive.open(info) as handle:
                while True:
                    chunk = handle.read(64 * 1024)
                    if not chunk:
                        break
                    size += len(chunk)
                    read += len(chunk)
                    if size > max_entry_bytes or size > info.file_size:
                        raise BundleError(f"{path}: entry {info.filename} holds more than it declares or than "
                                          f"the {max_entry_bytes} bytes an entry may hold")
                    if read > max_total_bytes:
                        raise BundleError(f"{path}: its entries hold more than the {max_total_bytes} bytes a "
                                          "package may hold")
                    chunks.append(chunk)
        except zipfile.BadZipFile as error:
            raise BundleError(f"{path}: entry {info.filename} is corrupt: {error}") from None
        if size != info.file_size:
            raise BundleError(f"{path}: entry {info.filename} holds {size} bytes but declares {info.file_size}")
        yield info, b"".join(chunks)


def _read_entries(path: Path, archive: zipfile.ZipFile, folder: str, max_entry_bytes: int,
                  max_total_bytes: int) -> Dict[str, bytes]:
    """The files of the zip by their path inside ``folder``, laid out as the loader reads them
    (one folder named like the zip, no duplicates), read within the size limits."""
    names = archive.namelist()
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise BundleError(f"{path}: duplicate entries {', '.join(duplicates)} (the loader fails unpacking them)")
    top = folder + "/"
    if METADATA_FILE in names:
        raise BundleError(f"{path}: METADATA.json is at the top of the zip, where ProActive's loader does not "
                          f"look: it reads {top}{METADATA_FILE} and fails with \"METADATA.json (No such file or "
                          "directory)\"; rebuild the package with `psa bundle`")
    for name in names:
        if not name.startswith(top) or leaves_folder(name):
            other = name.split("/", 1)[0] + "/" if "/" in name else name
            raise BundleError(f"{path}: entry {name!r} is outside {top}: the loader reads only the folder named "
                              f"like the zip ({top}{METADATA_FILE})" +
                              (f"; rename the file to {other[:-1]}{ZIP_SUFFIX}" if other.endswith("/") else ""))
    return {info.filename[len(top):]: data
            for info, data in bounded_entries(path, archive, max_entry_bytes, max_total_bytes)}


def read_zip(path: Path, *, max_entry_bytes: int = MAX_ENTRY_BYTES,
             max_total_bytes: int = MAX_PACKAGE_BYTES) -> Package:
    """A package zip back as a Package (what ``psa publish`` sends), refused unless ProActive's
    loader could install it: everything under ``<name>/``, METADATA.json there, each object's
    file relative to it, the fields :func:`check_package` checks; entries bounded in size."""
    folder = package_folder(path)
    try:
        with zipfile.ZipFile(path) as archive:
            files = _read_entries(path, archive, folder, max_entry_bytes, max_total_bytes)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise BundleError(f"{path} is not a catalog package: {type(error).__name__}: {error}") from None
    if METADATA_FILE not in files:
        raise BundleError(f"{path} is not a catalog package: no {folder}/{METADATA_FILE}")
    try:
        data = json.loads(files[METADATA_FILE])
        catalog, meta = data["catalog"], data["metadata"]
        entries = [(o["name"], o["metadata"], o["file"]) for o in catalog["objects"]]
        bucket = catalog["bucket"]
    except (KeyError, ValueError, TypeError) as error:
        raise BundleError(f"{path} is not a catalog package: {folder}/{METADATA_FILE}: "
                          f"{type(error).__name__}: {error}") from None
    if not isinstance(bucket, str):
        raise BundleError(f"{path}: {folder}/{METADATA_FILE}: 'bucket' must be one bucket name (psa publish "
                          f"sends a package to one bucket), got {json.dumps(bucket)}")
    objects = []
    for name, fields, file in entries:
        if isinstance(file, str) and leaves_folder(file):
            raise BundleError(f"{path}: object {name!r}: its file {file!r} leads outside the package folder "
                              f"{folder}/ (absolute, a backslash or a '..' part)")
        if not isinstance(file, str) or file not in files:
            raise BundleError(f"{path}: object {name!r}: its file {folder}/{file} is not in the zip")
        objects.append(CatalogObject(name, fields.get("kind"), fields.get("contentType"), file, files[file],
                                     fields.get("projectName", ""), fields.get("tags", ""),
                                     fields.get("commitMessage", "")))
    package = Package(slug=meta["slug"], name=meta.get("name", meta["slug"]), version=meta.get("version", ""),
                      bucket=bucket, objects=tuple(objects), short_description=meta.get("short_description", ""),
                      author=meta.get("author", ""), user_group=catalog.get("userGroup", "public-objects"))
    check_package(package)
    return package


def with_bucket(package: Package, bucket: str) -> Package:
    """``package`` sent to ``bucket``: workflow URLs into its old bucket follow."""
    objects = tuple(
        replace(o, content=retarget(o.content, [package.bucket], bucket, o.file))
        if o.content_type == WORKFLOW_CONTENT_TYPE else o
        for o in package.objects)
    return replace(package, bucket=bucket, objects=objects)


# The standard bucket's package definition, installed with psa-scripts (package data; in the source
# tree a link to bundles/service-automation-python), so a wheel builds it without a clone.
STANDARD_PACKAGE_DIR = Path(__file__).resolve().parent / "templates" / "service-automation-python"


def build_standard(out_dir: Path, *, bucket: Optional[str] = None) -> Tuple[Path, Package]:
    """Build ``<out_dir>/service-automation-python.zip``: every script of SCRIPTS, self-contained,
    from the installed psa-scripts (``bucket``: another bucket for it)."""
    package = build_package(STANDARD_PACKAGE_DIR, bucket=bucket)
    return write_zip(package, out_dir / f"{package.slug}{ZIP_SUFFIX}"), package


def build_all(bundles_dir: Path, out_dir: Path, *, bucket: Optional[str] = None,
              search_path: Optional[Sequence[Path]] = None) -> List[Tuple[Path, Package]]:
    """Build ``<out_dir>/<slug>.zip`` for every package of ``bundles_dir`` (author scripts'
    modules found in ``search_path``, default the current directory); every package is built
    and checked before the first zip is written."""
    found = definitions(bundles_dir)
    old_buckets = sorted({str(data["bucket"]) for _, data in found}) if bucket else []
    packages = [build_package(directory, bucket=bucket, retarget_from=old_buckets, search_path=search_path)
                for directory, _ in found]
    if not packages:
        raise BundleError(f"{bundles_dir} holds no package (no */{PACKAGE_FILE})")
    return [(write_zip(package, out_dir / f"{package.slug}{ZIP_SUFFIX}"), package) for package in packages]
