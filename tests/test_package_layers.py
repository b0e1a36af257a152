"""The package's floors: a module never imports, even lazily, one that imports it back.

Low floors (the engine interface, the containers, the script context) must not know about the
tools built on them (``psa run``'s runner and gateway): a host hands what it keeps to the
scripts it starts (the container engine as the ``names.ENGINE_BINDING`` binding).
"""

import ast
from pathlib import Path
from typing import Dict, List, Set

import psa_scripts
from psa_scripts import names
from psa_scripts.workflow import gateway

ROOT = Path(psa_scripts.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("psa_scripts",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports anywhere in its text (functions included)."""
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    found.add(target if target in modules else base)
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_engine_module_knows_nothing_of_psa_run():
    assert not {m for m in import_graph()["psa_scripts.engine"] if m.startswith("psa_scripts.workflow")}


def test_the_gateway_hands_the_engine_under_the_binding_the_context_reads():
    assert gateway.ENGINE_BINDING == names.ENGINE_BINDING


def test_a_script_context_uses_the_engine_handed_as_a_binding():
    from psa_scripts.context import ScriptContext

    engine = object()
    assert ScriptContext({"variables": {}, names.ENGINE_BINDING: engine}).engine is engine


def test_the_runners_gateway_serves_every_call_of_the_engine_interface():
    """What a script can ask the real engine it can ask the run's in-memory engine (Resume's inspect...)."""
    from psa_scripts.engine import ContainerEngine
    from psa_scripts.workflow.gateway_server import _ALLOWED, EngineService

    interface = {name for name in vars(ContainerEngine) if not name.startswith("_")}
    assert interface == {"is_running", "read_logs", "inspect", "deploy", "stop", "start", "remove"}
    assert interface == _ALLOWED["engine"]
    assert all(hasattr(EngineService, name) and hasattr(gateway.RemoteEngine, name) for name in interface)
