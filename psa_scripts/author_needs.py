"""What a service author's own script needs from its workflow, read from its source (never run).

A script the author lists in package.json (``"scripts": [{"name", "module", "kind"}]``) needs
variables two ways, and ``psa validate`` (PSA215) checks both against the workflows that run it:

- what it declares: a module-level ``CONTRACT = Contract(reads=(Var("READY_LOG"), ...))``, as
  our scripts do (``psa_scripts.contract``). It is read from the module's syntax tree and
  rebuilt with contract.py's own ``Contract``/``Var``/``Arg``/``flag_set``; a value the reader
  cannot work out without running code (a call of the author's, a lambda) is left out, so a
  variable is required only when the source plainly says so;
- what the library scripts it calls need: a module of the author's (or a helper module of
  theirs it imports) that imports ``psa_scripts.scripts.start_docker_service`` runs that
  script, and requires what that script's contract requires (``DOCKER_IMAGE``...).

The source is never imported: linting does not run the author's code (``psa bundle`` reads it
the same way).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from . import contract as contract_module
from . import names as names_module
from .bundler import ROOT_PACKAGE, module_closure
from .errors import InputError

SCRIPTS_PACKAGE = ROOT_PACKAGE + ".scripts"


@dataclass(frozen=True)
class AuthorNeeds:
    """An author's script: its declared contract (None when it declares none) and the library
    scripts it calls, by catalog name."""

    contract: Optional[contract_module.Contract]
    calls: Tuple[str, ...] = ()


class _Unknown(Exception):
    """A value the reader cannot work out from the source alone."""


class _ContractReader:
    """Evaluates the ``CONTRACT = ...`` expression of one module: literals, tuples, the module's
    own string constants, ``names.X`` and the constructors of contract.py."""

    CALLABLES = {"Contract": contract_module.Contract, "Var": contract_module.Var, "Arg": contract_module.Arg,
                 "flag_set": contract_module.flag_set}

    def __init__(self, tree: ast.Module, contracts: Dict[str, Any]) -> None:
        self.constants: Dict[str, Any] = {}
        self.names_alias = set()
        self.scripts: Dict[str, Any] = {}  # local name of an imported library script module -> its CONTRACT
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == ROOT_PACKAGE:
                self.names_alias |= {alias.asname or alias.name for alias in node.names if alias.name == "names"}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == SCRIPTS_PACKAGE:
                self.scripts.update({alias.asname or alias.name: contracts[f"{SCRIPTS_PACKAGE}.{alias.name}"]
                                     for alias in node.names if f"{SCRIPTS_PACKAGE}.{alias.name}" in contracts})
            elif isinstance(node, ast.Import):
                self.names_alias |= {alias.asname for alias in node.names
                                     if alias.name == f"{ROOT_PACKAGE}.names" and alias.asname}
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                self.constants[node.targets[0].id] = node.value.value

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.value(item) for item in node.elts)
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.names_alias:
            found = getattr(names_module, node.attr, None)
            if isinstance(found, str):
                return found
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "CONTRACT" and isinstance(node.value.value, ast.Name) \
                and node.value.value.id in self.scripts:
            found = getattr(self.scripts[node.value.value.id], node.attr, None)  # start_docker_service.CONTRACT.reads
            if isinstance(found, (tuple, bool)):
                return found
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(left, tuple) and isinstance(right, tuple):
                return left + right
        if isinstance(node, ast.Call):
            return self.call(node)
        raise _Unknown(ast.dump(node)[:60])

    def call(self, node: ast.Call) -> Any:
        function = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else None
        if function not in self.CALLABLES:
            raise _Unknown(str(function))
        args = [self.value(arg) for arg in node.args]
        keywords = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _Unknown("**kwargs")
            try:
                keywords[keyword.arg] = self.value(keyword.value)
            except _Unknown:
                if function != "Var" or keyword.arg != "required_if":
                    raise
                keywords["required_if"] = lambda values, arguments: False  # unknown condition: not required
        if function == "Contract" and "reads" in keywords:
            keywords["reads"] = tuple(var for var in keywords["reads"] if isinstance(var, contract_module.Var))
        return self.CALLABLES[function](*args, **keywords)


def declared_contract(source: str, contracts: Optional[Dict[str, Any]] = None) -> Optional[contract_module.Contract]:
    """The ``CONTRACT`` a module's source declares at module level, or None (none, or not readable).
    ``contracts`` (library script module -> its CONTRACT) lets it build on a library script's,
    as in ``reads=start_docker_service.CONTRACT.reads + (Var(READY_LOG), ...)``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    reader = _ContractReader(tree, contracts or {})
    declared = None  # the last assignment wins, as when the module runs
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == "CONTRACT" for target in targets) and node.value:
                declared = node.value
    if declared is None:
        return None
    try:
        found = reader.value(declared)
    except (_Unknown, TypeError, ValueError):
        return None
    return found if isinstance(found, contract_module.Contract) else None


def called_scripts(source: str, script_modules: Dict[str, str]) -> Tuple[str, ...]:
    """The library scripts a module imports (and so runs): catalog names, in import order.
    ``script_modules`` maps each script's module (``psa_scripts.scripts.start_docker_service``)
    to its catalog name."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()
    found = []
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found += [script_modules[module] for module in modules if module in script_modules]
    return tuple(dict.fromkeys(found))


def author_needs(module: str, search_path: Sequence[Path], script_modules: Dict[str, str],
                 contracts: Optional[Dict[str, Any]] = None) -> AuthorNeeds:
    """What the author's script ``module`` (found in ``search_path``) declares and calls; an
    empty answer when its source is not found (``psa bundle`` reports that). ``script_modules``:
    each library script's module -> its catalog name; ``contracts``: catalog name -> CONTRACT."""
    try:
        closure = module_closure([module], search_path=search_path)
    except (InputError, OSError, SyntaxError, ValueError):  # not found, or not Python: psa bundle says which
        return AuthorNeeds(None)
    if module not in closure.modules:
        return AuthorNeeds(None)
    own = [source for name, (_, source) in closure.modules.items() if name.split(".")[0] != ROOT_PACKAGE]
    calls = tuple(dict.fromkeys(name for source in own for name in called_scripts(source, script_modules)))
    by_module = {path: (contracts or {})[name] for path, name in script_modules.items() if name in (contracts or {})}
    return AuthorNeeds(declared_contract(closure.modules[module][1], by_module), calls)
