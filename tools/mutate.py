"""`make mutate`: mutation testing of the scripts and helpers with mutmut, shard by shard.

For the developers' own use, not part of `make test`. Each shard mutates a few modules and
runs only the test files that exercise them, in its own copy of the tree under
build/mutate/<shard>/, so that a shard finishes in minutes on two cores. At the end it prints
the score per module: the share of mutants that a test killed.

    python tools/mutate.py                 # every shard
    python tools/mutate.py helpers scripts # some shards
    MUTATE_CHILDREN=2 python tools/mutate.py

It runs mutmut from the venv given by MUTMUT (default build/mutate-venv/bin/mutmut, which
`make mutate` creates with the runtime and test dependencies and mutmut, without installing
psa-scripts itself: mutmut must import the mutated copy, not an installed one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutate"
COPIED = ("psa_scripts", "tests", "bundles", "docs", "tools", "README.md")

# mutmut's exit codes for one mutant: a test failed (killed), the run timed out (killed), or
# no test failed (survived) / no test covers the mutated function (survived, uncovered).
KILLED = {1, 3, 36, -24, 24, -9, -11}
NOT_RUN = {None, 34}  # not tested yet, skipped


@dataclass(frozen=True)
class Shard:
    name: str
    modules: Tuple[str, ...]  # paths under the repository root
    tests: Tuple[str, ...]
    # mutmut's mutant names (fnmatch globs) when only some functions of the modules are to be mutated,
    # e.g. "psa_scripts.workflow.model.x_decode_document__mutmut_*"; empty: every mutant of the modules
    only: Tuple[str, ...] = ()


SHARDS = (
    Shard("helpers", ("psa_scripts/ports.py", "psa_scripts/proxy.py", "psa_scripts/tokens.py",
                      "psa_scripts/statusfiles.py", "psa_scripts/channel.py"),
          ("tests/test_helpers.py", "tests/test_start_scripts.py", "tests/test_trigger_scripts.py")),
    Shard("framing", ("psa_scripts/clients/framing.py",), ("tests/test_framing.py",)),
    Shard("context", ("psa_scripts/context.py", "psa_scripts/names.py", "psa_scripts/instances.py"),
          ("tests/test_context.py", "tests/test_instance_name.py", "tests/test_instances.py",
           "tests/test_http_clients.py", "tests/test_start_scripts.py")),
    Shard("start-scripts", ("psa_scripts/scripts/pre_start_service.py", "psa_scripts/scripts/post_start_service.py",
                            "psa_scripts/scripts/clean_start_service.py"),
          ("tests/test_start_scripts.py",)),
    Shard("loop-scripts", ("psa_scripts/scripts/check_instance_status.py", "psa_scripts/scripts/fetch_logs.py"),
          ("tests/test_loop_scripts.py",)),
    Shard("trigger-scripts", ("psa_scripts/scripts/pre_trigger_action.py", "psa_scripts/scripts/post_trigger_action.py",
                              "psa_scripts/scripts/clean_trigger_action.py"),
          ("tests/test_trigger_scripts.py",)),
    Shard("validate-helpers", ("psa_scripts/suggest.py", "psa_scripts/package_kinds.py", "psa_scripts/author_needs.py",
                               "psa_scripts/workflow/states.py"),
          ("tests/test_suggest_and_kinds.py", "tests/test_author_needs.py", "tests/test_validate.py")),
    Shard("migrate", ("psa_scripts/migration/counterparts.py", "psa_scripts/migration/edits.py",
                      "psa_scripts/workflow/nativeshell.py"),
          ("tests/test_migrate.py", "tests/test_nativeshell.py")),
    Shard("script-layer", ("psa_scripts/numbers.py", "psa_scripts/contract.py", "psa_scripts/containers/outcome.py"),
          ("tests/test_context.py", "tests/test_contracts.py", "tests/test_containers_unit.py",
           "tests/test_multi_deployment_scripts.py")),
    Shard("command", ("psa_scripts/containers/command.py", "psa_scripts/jsontext.py",
                      "psa_scripts/containers/singularity.py"),
          ("tests/test_command.py", "tests/test_jsontext.py", "tests/test_singularity_scripts.py")),
    Shard("run-summary", ("psa_scripts/workflow/summary.py", "psa_scripts/workflow/inline.py"),
          ("tests/test_run_summary.py", "tests/test_inline.py", "tests/test_validate_own_scripts.py")),
    Shard("script-process", ("psa_scripts/workflow/script_process.py",),
          ("tests/test_script_process.py", "tests/test_nativeshell.py", "tests/test_run_bash.py",
           "tests/test_run_stopping.py"),
          only=("psa_scripts.workflow.script_process.x_run_process__mutmut_*",)),
    Shard("decode-document", ("psa_scripts/workflow/model.py",),
          ("tests/test_xml_reader.py", "tests/test_workflow_model.py", "tests/test_migrate.py"),
          only=("psa_scripts.workflow.model.x_decode_document__mutmut_*",)),
)


def _config(shard: Shard, tree: Path) -> str:
    others = sorted(str(path.relative_to(tree)) for path in (tree / "psa_scripts").rglob("*.py")
                    if str(path.relative_to(tree)) not in shard.modules)
    lines = [
        "[tool.mutmut]",
        'source_paths = ["psa_scripts/"]',
        f"do_not_mutate = {json.dumps(others)}",
        # psa-scripts is not installed here (mutmut must import the mutated copy), so its pytest
        # plugin's entry point is not either: load the plugin by name.
        f"pytest_add_cli_args = {json.dumps(['-p', 'no:cacheprovider', '-p', 'psa_scripts.testing.plugin', '-q', *shard.tests])}",
        'also_copy = ["bundles/", "docs/", "tools/", "README.md"]',
        "",
        "[tool.pytest.ini_options]",
        'pythonpath = ["tests"]',
        'markers = ["engine: needs a real Docker-API container engine"]',
        "",
    ]
    return "\n".join(lines)


def prepare(shard: Shard) -> Path:
    tree = WORK / shard.name
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tree / name)
    (tree / "pyproject.toml").write_text(_config(shard, tree), encoding="utf-8")
    return tree


def scores(tree: Path) -> Dict[str, Tuple[int, int]]:
    """Per module: (killed, mutants tested), from mutmut's result files."""
    result: Dict[str, Tuple[int, int]] = {}
    for meta in sorted((tree / "mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {}).values()
        tested = [code for code in codes if code not in NOT_RUN]
        if not tested:
            continue
        module = str(meta.relative_to(tree / "mutants"))[: -len(".meta")]
        result[module] = (sum(code in KILLED for code in tested), len(tested))
    return result


def run(shard: Shard, mutmut: str, children: int) -> Dict[str, Tuple[int, int]]:
    tree = prepare(shard)
    print(f"== shard {shard.name}: {', '.join(shard.modules)}", flush=True)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH",)}
    # A test's subprocess (psa run's script interpreter, `python -m psa_scripts.cli`) imports the
    # copy of the tree unmutated: psa-scripts is not installed in mutmut's venv, and the mutated copy
    # imports mutmut, which cannot start outside the tree. (mutmut takes this path out of its own.)
    env["PYTHONPATH"] = str(tree)
    log = tree / "mutmut.log"
    with log.open("w", encoding="utf-8") as handle:
        completed = subprocess.run([mutmut, "run", "--max-children", str(children), *shard.only], cwd=tree, env=env,
                                   stdout=handle, stderr=subprocess.STDOUT, text=True, timeout=3600)
    if completed.returncode != 0:
        # mutmut says why on its standard output (a failed clean run's pytest output among it)
        print(log.read_text(encoding="utf-8", errors="replace")[-3000:], file=sys.stderr)
        raise SystemExit(f"mutate: mutmut failed on shard {shard.name} (exit {completed.returncode}; "
                         f"its output: {log})")
    return scores(tree)


def main(argv: Sequence[str]) -> int:
    mutmut = str(Path(os.environ.get("MUTMUT", ROOT / "build" / "mutate-venv" / "bin" / "mutmut")).absolute())
    children = int(os.environ.get("MUTATE_CHILDREN", str(os.cpu_count() or 2)))
    wanted = set(argv)
    unknown = wanted - {shard.name for shard in SHARDS}
    if unknown:
        print(f"mutate: no shard named {', '.join(sorted(unknown))}; shards: "
              f"{', '.join(shard.name for shard in SHARDS)}", file=sys.stderr)
        return 2
    table: List[Tuple[str, int, int]] = []
    for shard in SHARDS:
        if wanted and shard.name not in wanted:
            continue
        for module, (killed, tested) in run(shard, mutmut, children).items():
            table.append((module, killed, tested))
    print(f"\n{'module':55} {'killed':>7} {'mutants':>8} {'score':>6}")
    for module, killed, tested in table:
        print(f"{module:55} {killed:7} {tested:8} {killed / tested:6.0%}")
    total_killed, total = sum(row[1] for row in table), sum(row[2] for row in table)
    if total:
        print(f"{'total':55} {total_killed:7} {total:8} {total_killed / total:6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
