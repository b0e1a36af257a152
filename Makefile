# The two commands of the README, and the rest. Each sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo bench engine venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The whole suite. The engine tier needs a Docker API: tools/engine-up.sh provisions
# Podman's when none answers (Debian, root). Without one, engine tests skip with a
# message saying how to get one -- except under CI=true, where a missing engine fails.
test: venv
	@host=$$(tools/engine-up.sh) || { \
	  if [ "$${CI:-}" = "true" ]; then echo "make test: no container engine (tools/engine-up.sh failed)" >&2; exit 1; fi; \
	  echo "make test: no container engine; engine tests will skip" >&2; host=; }; \
	if [ -n "$$host" ]; then export $$host; fi; \
	$(PY) -m pytest -ra $(PYTEST_ARGS)

demo: venv
	$(PY) -m psa_scripts.demo

bench: venv
	@host=$$(tools/engine-up.sh) && export $$host && $(PY) -m benchmarks

engine:
	@tools/engine-up.sh

clean:
	rm -rf $(VENV) dist build *.egg-info .pytest_cache
