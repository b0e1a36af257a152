# The two commands of the README, and the rest. Each sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo bench engine venv clean mutate factory-diff

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -qq --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# The whole suite. The engine tier needs a Docker API: tools/engine-up.sh provisions
# Podman's when none answers (Debian, root). Without one, engine tests skip with a
# message saying how to get one -- except under CI=true, where a missing engine fails.
test: venv
	@host=$$(tools/engine-up.sh) || { \
	  if [ "$${CI:-}" = "true" ]; then echo "make test: no container engine (tools/engine-up.sh failed)" >&2; exit 1; fi; \
	  echo "make test: no container engine; engine tests will skip" >&2; host=; }; \
	if [ -n "$$host" ]; then export $$host; fi; \
	tools/graphviz-up.sh || { if [ "$${CI:-}" = "true" ]; then exit 1; fi; echo "make test: no Graphviz: the SVG test skips" >&2; }; \
	$(PY) -m pytest -ra $(PYTEST_ARGS)

# A lifecycle through the harness, then the catalog side: build the bundles, validate
# their workflows, and rehearse `psa publish` (dry run, publish, republish) on a loopback
# Catalog -- no ProActive server needed.
demo: venv
	$(PY) -m psa_scripts.demo
	@echo; echo "== psa bundle"
	$(VENV)/bin/psa bundle --out dist
	@echo; echo "== psa validate bundles"
	$(VENV)/bin/psa validate bundles
	$(PY) -m psa_scripts.publish dist

bench: venv
	@host=$$(tools/engine-up.sh) && export $$host && $(PY) -m benchmarks

# Mutation testing (developers' use, not part of `make test`): mutmut, shard by shard, in its own
# venv without psa-scripts installed (mutmut must import the mutated copy). SHARDS=helpers...
MUTATE_VENV := build/mutate-venv
mutate:
	@test -x $(MUTATE_VENV)/bin/mutmut || { $(PYTHON) -m venv $(MUTATE_VENV) && \
	  $(MUTATE_VENV)/bin/pip install --quiet requests tenacity docker pytest pytest-mock 'mutmut==3.8.1'; }
	MUTMUT=$(MUTATE_VENV)/bin/mutmut $(MUTATE_VENV)/bin/python tools/mutate.py $(SHARDS)

# psa validate's PA1xx verdict against ProActive's job factory on seeded mutants of real workflows
# (developers' use, not part of `make test`; needs a JDK 17 and PyPI). FACTORY_DIFF_ARGS="--seed 7 DIR".
factory-diff: venv
	$(PY) tools/factory_diff.py $(FACTORY_DIFF_ARGS)

engine:
	@tools/engine-up.sh

clean:
	rm -rf $(VENV) dist build *.egg-info .pytest_cache
