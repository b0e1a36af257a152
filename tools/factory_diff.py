"""`make factory-diff`: psa validate's PA1xx verdict against ProActive's own job factory.

For the developers' own use, not part of `make test` (it needs a JDK and downloads the
`proactive` package from PyPI). It takes real workflows, makes seeded structural mutants of
them (an element duplicated, deleted, renamed or moved; stray text; an attribute added,
dropped or given a bad value; a reference to no task), and asks two judges about each:

- ProActive's job factory (scheduler-api, in the jars of the `proactive` PyPI package):
  ``JobFactory.getFactory().createJob(path, variables, null)``, which validates against the
  jobdescriptor schema and then builds the job (variables, models, references); the variables
  are those a server defines for every job (``PA_CATALOG_REST_URL``...), which script URLs use.
  Then ``FlowChecker.validate(job)``, the control-flow check the scheduler runs at submission
  (ow2-proactive/scheduling, ``InternalJobFactory``): a loop or if naming no task fails there.
  A small Java class, written out from this file and compiled with javac at run time, calls
  them for every file and prints ACCEPT or REJECT with the reason.
- ``psa validate``: does it report an error with a PA1xx code?

It prints the counts (rejected by the factory, flagged by us, missed, false alarms), by kind of
mutation, and the first disagreements. Exit 0 when the judges agree on every mutant, 1 when they
do not, 2 on a usage or set-up error.

    python tools/factory_diff.py --seed 7 --count 300 DIR_OR_XML...
    python tools/factory_diff.py --plain DIR...        # the files themselves, no mutation
    python tools/factory_diff.py --jars DIR ...        # reuse an unpacked download (no pip)

Notes on the factory the package ships (scheduler-api 13.0.3): it knows the namespaces up to
``urn:proactive:jobdescriptor:3.13``, so each workflow is first rewritten to 3.13 and loses its
job ``tags`` attribute (3.14's one addition) — both judges then see the same bytes; and its
validator registry lists providers with ImageIO's ServiceRegistry, which Java 9+ refuses for
other classes: a stand-in registry of the same name (below, using java.util.ServiceLoader) is put
first on the class path. Everything is made in one temporary directory, removed on any ending.
"""

from __future__ import annotations

import argparse
import collections
import copy
import hashlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from psa_scripts.validate import Known, validate_file  # noqa: E402

PROACTIVE = "proactive==13.0.3"
NAMESPACE = "urn:proactive:jobdescriptor:3.13"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PIP_TIMEOUT, JAVAC_TIMEOUT, JAVA_TIMEOUT = 600, 300, 1800

PROBE_JAVA = """
import java.io.BufferedReader;
import java.io.InputStreamReader;
import org.ow2.proactive.scheduler.common.job.Job;
import org.ow2.proactive.scheduler.common.job.TaskFlowJob;
import org.ow2.proactive.scheduler.common.job.factories.FlowChecker;
import org.ow2.proactive.scheduler.common.job.factories.FlowError;
import org.ow2.proactive.scheduler.common.job.factories.JobFactory;

/** Reads workflow paths on stdin; prints ACCEPT or REJECT and the reason, one line each. */
public class FactoryProbe {
  /** What a ProActive server defines for every job (the probe runs without one). */
  static final java.util.Map<String, String> SERVER_VARIABLES = new java.util.HashMap<>();
  static {
    SERVER_VARIABLES.put("PA_CATALOG_REST_URL", "http://localhost:8080/catalog");
    SERVER_VARIABLES.put("PA_SCHEDULER_REST_URL", "http://localhost:8080/rest");
    SERVER_VARIABLES.put("PA_CATALOG_REST_PUBLIC_URL", "http://localhost:8080/catalog");
    SERVER_VARIABLES.put("PA_SCHEDULER_REST_PUBLIC_URL", "http://localhost:8080/rest");
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    for (String path = in.readLine(); path != null; path = in.readLine()) {
      String verdict;
      try {
        Job job = JobFactory.getFactory().createJob(path, SERVER_VARIABLES, null);
        FlowError flow = job instanceof TaskFlowJob ? FlowChecker.validate((TaskFlowJob) job) : null;
        verdict = flow == null ? "ACCEPT\\t" + path
                : "REJECT\\t" + path + "\\tFlowError: " + flow.getMessage() + " (task " + flow.getTask() + ")";
      } catch (Throwable problem) {
        verdict = "REJECT\\t" + path + "\\t" + String.valueOf(problem).replaceAll("\\\\s+", " ");
      }
      System.out.println(verdict);
      System.out.flush();
    }
  }
}
"""

REGISTRY_JAVA = """
package org.ow2.proactive.scheduler.common.job.factories.spi;

import java.util.ServiceLoader;
import com.google.common.collect.ImmutableMap;

/** Stand-in for the shipped registry: lists the job validators with java.util.ServiceLoader. */
public class JobValidatorRegistry {
  private static JobValidatorRegistry instance;
  private final ImmutableMap<String, JobValidatorService> validators;

  private JobValidatorRegistry() {
    ImmutableMap.Builder<String, JobValidatorService> found = ImmutableMap.builder();
    for (JobValidatorService validator : ServiceLoader.load(JobValidatorService.class)) {
      found.put(validator.getClass().getName(), validator);
    }
    validators = found.build();
  }

  public static synchronized JobValidatorRegistry getInstance() {
    if (instance == null) {
      instance = new JobValidatorRegistry();
    }
    return instance;
  }

  public ImmutableMap<String, JobValidatorService> getRegisteredFactories() {
    return validators;
  }
}
"""


class SetupError(Exception):
    """A missing tool or a failed download: one line for the user."""


# --- the factory ----------------------------------------------------------------------------------------
def fetch_jars(work: Path) -> Path:
    """Download the proactive package with pip and unpack its jars under ``work/jars``."""
    download = work / "download"
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                           "-d", str(download), PROACTIVE], capture_output=True, text=True, timeout=PIP_TIMEOUT)
    if done.returncode != 0:
        raise SetupError(f"pip download {PROACTIVE} failed: {done.stderr.strip().splitlines()[-1:]}")
    jars = work / "jars"
    jars.mkdir()
    for archive in download.iterdir():
        with zipfile.ZipFile(archive) if archive.suffix == ".zip" else _tar(archive) as unpacked:
            for name in unpacked.namelist():
                if name.endswith(".jar"):
                    (jars / Path(name).name).write_bytes(unpacked.read(name))
    if not any(jars.glob("scheduler-api-*.jar")):
        raise SetupError(f"{PROACTIVE} holds no scheduler-api jar")
    return jars


def _tar(archive: Path):
    import tarfile

    class _Tar:  # the zipfile API the caller uses, over a tar archive
        def __init__(self) -> None:
            self.tar = tarfile.open(archive)

        def __enter__(self) -> "_Tar":
            return self

        def __exit__(self, *_: object) -> None:
            self.tar.close()

        def namelist(self) -> List[str]:
            return self.tar.getnames()

        def read(self, name: str) -> bytes:
            member = self.tar.extractfile(name)
            return member.read() if member else b""

    return _Tar()


def compile_probe(work: Path, jars: Path) -> str:
    """Compile the probe and the stand-in registry; the class path to run them with."""
    for tool in ("javac", "java"):
        if shutil.which(tool) is None:
            raise SetupError(f"{tool} is not installed: a JDK 17 is needed (apt-get install openjdk-17-jdk-headless)")
    sources = work / "src"
    registry = sources / "org/ow2/proactive/scheduler/common/job/factories/spi/JobValidatorRegistry.java"
    registry.parent.mkdir(parents=True)
    registry.write_text(REGISTRY_JAVA)
    (sources / "FactoryProbe.java").write_text(PROBE_JAVA)
    classes = work / "classes"
    library = ":".join(str(jar) for jar in sorted(jars.rglob("*.jar")))
    done = subprocess.run(["javac", "-nowarn", "-cp", library, "-d", str(classes), str(registry),
                           str(sources / "FactoryProbe.java")], capture_output=True, text=True, timeout=JAVAC_TIMEOUT)
    if done.returncode != 0:
        raise SetupError(f"javac failed: {done.stderr.strip()[:500]}")
    return f"{classes}:{library}"


def factory_verdicts(class_path: str, paths: Sequence[Path]) -> Dict[Path, Optional[str]]:
    """Each path -> None when the factory accepts it, else its reason (one JVM for all)."""
    done = subprocess.run(["java", "-cp", class_path, "FactoryProbe"], input="\n".join(map(str, paths)) + "\n",
                          capture_output=True, text=True, timeout=JAVA_TIMEOUT)
    verdicts: Dict[Path, Optional[str]] = {}
    for line in done.stdout.splitlines():
        verdict, _, rest = line.partition("\t")
        path, _, reason = rest.partition("\t")
        if verdict in ("ACCEPT", "REJECT"):
            verdicts[Path(path)] = None if verdict == "ACCEPT" else reason
    missing = [p for p in paths if p not in verdicts]
    if missing:
        raise SetupError(f"the factory gave no verdict on {len(missing)} files (java exit {done.returncode}): "
                         f"{done.stderr.strip()[-300:]}")
    return verdicts


# --- our verdict ----------------------------------------------------------------------------------------
def our_verdict(path: Path) -> Optional[str]:
    """None when psa validate reports no PA1xx error, else the first one."""
    for finding in validate_file(path, Known()):
        if finding.code.startswith("PA1") and finding.severity == "error":
            return f"{finding.code} {finding.message}"
    return None


# --- mutants --------------------------------------------------------------------------------------------
def as_factory_reads(data: bytes) -> bytes:
    """The workflow rewritten to the newest namespace the shipped factory knows, without 3.14's tags."""
    text = data.decode("utf-8")
    text = re.sub(r"urn:proactive:jobdescriptor:3\.1[0-9]", NAMESPACE, text)
    job = re.search(r"<job\b[^>]*>", text, re.S)
    if job:
        text = text[:job.start()] + re.sub(r"\s+tags\s*=\s*\"[^\"]*\"", "", job.group(0)) + text[job.end():]
    return text.encode("utf-8")


@dataclass
class Mutant:
    kind: str
    source: Path
    what: str
    data: bytes


def _elements(root: ET.Element) -> List[Tuple[ET.Element, ET.Element]]:
    return [(parent, child) for parent in root.iter() for child in parent]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _rename(tag: str, rng: random.Random, known_tags: Sequence[str]) -> str:
    namespace, local = tag[:tag.rfind("}") + 1], _local(tag)
    choices = [local[:-1], local.lower() if local != local.lower() else local.capitalize(), rng.choice(known_tags)]
    return namespace + rng.choice([c for c in choices if c and c != local] or ["renamed"])


BAD_VALUES = ("", "maybe", "-1", "0", "x y", "${UNDEFINED}", "none", "12:99", "1.5")


def mutate(root: ET.Element, kind: str, rng: random.Random, known_tags: Sequence[str],
           attribute_names: Sequence[str]) -> Optional[str]:
    """Apply one mutation of ``kind`` to ``root`` in place; what was done, or None if not possible."""
    pairs = _elements(root)
    if kind == "duplicate":
        parent, child = rng.choice(pairs)
        parent.insert(list(parent).index(child) + 1, copy.deepcopy(child))
        return f"<{_local(child.tag)}> duplicated in <{_local(parent.tag)}>"
    if kind == "delete":
        parent, child = rng.choice(pairs)
        parent.remove(child)
        return f"<{_local(child.tag)}> deleted from <{_local(parent.tag)}>"
    if kind == "rename":
        _, child = rng.choice(pairs)
        old, child.tag = child.tag, _rename(child.tag, rng, known_tags)
        return f"<{_local(old)}> renamed <{_local(child.tag)}>"
    if kind == "move":
        parent, child = rng.choice(pairs)
        inside = set(map(id, child.iter()))
        targets = [e for e in root.iter() if id(e) not in inside]
        target = rng.choice(targets)
        parent.remove(child)
        position = rng.randint(0, len(target))
        target.insert(position, child)
        return f"<{_local(child.tag)}> moved from <{_local(parent.tag)}> to <{_local(target.tag)}> at {position}"
    if kind == "text":
        element = rng.choice([root] + [c for _, c in pairs])
        children = list(element)
        if children and rng.random() < 0.5:
            child = rng.choice(children)
            child.tail = (child.tail or "") + "stray"
        else:
            element.text = "stray" + (element.text or "")
        return f"stray text in <{_local(element.tag)}>"
    if kind == "add-attribute":
        element = rng.choice([root] + [c for _, c in pairs])
        name = rng.choice(list(attribute_names) + ["colour", "Name", "id"])
        if name in element.attrib:
            return None
        element.set(name, rng.choice(("true", "x", "1", "")))
        return f"attribute {name} added to <{_local(element.tag)}>"
    with_attributes = [e for e in root.iter() if any(not n.startswith("{") for n in e.attrib)]
    if kind in ("drop-attribute", "bad-value") and with_attributes:
        element = rng.choice(with_attributes)
        name = rng.choice([n for n in element.attrib if not n.startswith("{")])
        if kind == "drop-attribute":
            del element.attrib[name]
            return f"attribute {name} dropped from <{_local(element.tag)}>"
        value = rng.choice([v for v in BAD_VALUES if v != element.get(name)])
        element.set(name, value)
        return f"<{_local(element.tag)}> {name}={value!r}"
    if kind == "dangling":
        holders = [(e, n) for e in root.iter() for n in ("ref", "target", "else", "continuation") if n in e.attrib]
        if not holders:
            return None
        element, name = rng.choice(holders)
        element.set(name, "No_Such_Task")
        return f"<{_local(element.tag)}> {name} names no task"
    return None


KINDS = ("duplicate", "delete", "rename", "move", "text", "add-attribute", "drop-attribute", "bad-value", "dangling")


def mutants(bases: Dict[Path, bytes], count: int, seed: int) -> List[Mutant]:
    """``count`` distinct mutants of ``bases``, the same for the same seed and bases."""
    rng = random.Random(seed)
    trees = {path: ET.fromstring(data) for path, data in bases.items()}
    known_tags = sorted({_local(e.tag) for tree in trees.values() for e in tree.iter()})
    attribute_names = sorted({n for tree in trees.values() for e in tree.iter() for n in e.attrib
                              if not n.startswith("{")})
    ET.register_namespace("", NAMESPACE)
    ET.register_namespace("xsi", XSI)
    made: List[Mutant] = []
    seen = {hashlib.sha256(data).digest() for data in bases.values()}
    sources = sorted(trees)
    attempts = 0
    while len(made) < count and attempts < count * 20:
        attempts += 1
        source, kind = rng.choice(sources), rng.choice(KINDS)
        root = copy.deepcopy(trees[source])
        what = mutate(root, kind, rng, known_tags, attribute_names)
        if what is None:
            continue
        data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
        digest = hashlib.sha256(data).digest()
        if digest in seen:
            continue
        seen.add(digest)
        made.append(Mutant(kind, source, what, data))
    return made


# --- the comparison -------------------------------------------------------------------------------------
def workflow_files(paths: Iterable[Path]) -> List[Path]:
    found: List[Path] = []
    for path in paths:
        found += sorted(path.rglob("*.xml")) if path.is_dir() else [path]
    return [p for p in found if b"urn:proactive:jobdescriptor" in p.read_bytes()[:4000]]


def compare(work: Path, class_path: str, files: Sequence[Path], *, plain: bool, seed: int, count: int,
            show: int, out=sys.stdout) -> int:
    bases_dir = work / "bases"
    bases_dir.mkdir()
    bases: Dict[Path, bytes] = {}
    for index, path in enumerate(files):
        copied = bases_dir / f"{index:04d}_{path.name}"
        copied.write_bytes(as_factory_reads(path.read_bytes()))
        bases[copied] = copied.read_bytes()
    names = {copied: original for copied, original in zip(bases, files)}
    base_factory = factory_verdicts(class_path, list(bases))
    base_ours = {path: our_verdict(path) for path in bases}
    alarms = [p for p in bases if base_factory[p] is None and base_ours[p]]
    print(f"Workflows: {len(bases)}; the factory accepts {sum(v is None for v in base_factory.values())}, "
          f"rejects {sum(v is not None for v in base_factory.values())}; psa validate flags "
          f"{sum(bool(v) for v in base_ours.values())}; false alarms (accepted, flagged): {len(alarms)}", file=out)
    for path in alarms[:show]:
        print(f"  false alarm: {names[path]}: {base_ours[path]}", file=out)
    if plain:
        for path in [p for p in bases if base_factory[p] is not None and not base_ours[p]][:show]:
            print(f"  rejected by the factory only: {names[path]}: {base_factory[path][:200]}", file=out)
        return 1 if alarms else 0
    usable = {p: d for p, d in bases.items() if base_factory[p] is None and not base_ours[p]}
    if not usable:
        raise SetupError("no workflow is accepted by both judges: nothing to mutate")
    made = mutants(usable, count, seed)
    mutants_dir = work / "mutants"
    mutants_dir.mkdir()
    paths = []
    for index, mutant in enumerate(made):
        path = mutants_dir / f"{index:05d}_{mutant.kind}.xml"
        path.write_bytes(mutant.data)
        paths.append(path)
    factory = factory_verdicts(class_path, paths)
    ours = {path: our_verdict(path) for path in paths}
    by_kind: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    misses, false_alarms = [], []
    for path, mutant in zip(paths, made):
        rejected, flagged = factory[path] is not None, ours[path] is not None
        counts = by_kind[mutant.kind]
        counts["mutants"] += 1
        counts["rejected"] += rejected
        counts["flagged"] += flagged
        if rejected and not flagged:
            counts["missed"] += 1
            misses.append((path, mutant))
        if flagged and not rejected:
            counts["false alarms"] += 1
            false_alarms.append((path, mutant))
    total: collections.Counter = collections.Counter()
    for counts in by_kind.values():
        total.update(counts)
    columns = ("mutants", "rejected", "flagged", "missed", "false alarms")
    print(f"\nMutants (seed {seed}) of {len(usable)} workflows both judges accept:", file=out)
    print(f"  {'kind':<16}" + "".join(f"{c:>14}" for c in columns), file=out)
    for kind in sorted(by_kind) + ["all"]:
        counts = total if kind == "all" else by_kind[kind]
        print(f"  {kind:<16}" + "".join(f"{counts[c]:>14}" for c in columns), file=out)
    for label, found, reason in (("missed", misses, lambda p: factory[p]), ("false alarm", false_alarms, lambda p: ours[p])):
        for path, mutant in found[:show]:
            print(f"  {label}: {path.name} ({names[mutant.source].name}: {mutant.what}): {str(reason(path))[:220]}",
                  file=out)
    return 0 if not misses and not false_alarms else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="factory_diff", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[ROOT / "bundles"],
                        help="workflow files or directories (default: bundles/)")
    parser.add_argument("--seed", type=int, default=1, help="the mutants' random seed (default 1)")
    parser.add_argument("--count", type=int, default=300, help="how many mutants (default 300)")
    parser.add_argument("--plain", action="store_true", help="judge the files themselves, no mutants")
    parser.add_argument("--jars", type=Path, help="a directory holding the proactive jars (skips the download)")
    parser.add_argument("--show", type=int, default=20, help="disagreements printed (default 20)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"factory_diff: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = workflow_files(args.paths)
    if not files:
        print("factory_diff: no ProActive workflow among the paths given", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="psa-factory-diff-") as temporary:
            work = Path(temporary)
            jars = args.jars if args.jars else fetch_jars(work)
            class_path = compile_probe(work, jars)
            return compare(work, class_path, files, plain=args.plain, seed=args.seed, count=args.count,
                           show=args.show)
    except SetupError as error:
        print(f"factory_diff: {error}", file=sys.stderr)
        return 2
    except subprocess.TimeoutExpired as error:
        print(f"factory_diff: {error.cmd[0]} took more than {error.timeout:.0f} s", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
