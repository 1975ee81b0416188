# saltmesh: `make test` and `make demo` work on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV3007 := .venv-3007
SALT_VERSION ?= 3008.3
SALT3007_VERSION ?= 3007.15
PIP_FLAGS := --quiet --disable-pip-version-check
PYTEST_FLAGS ?=
APT_PACKAGES := openvswitch-switch docker.io nagios4 nagios-nrpe-server nagios-nrpe-plugin \
	monitoring-plugins ethtool nftables iproute2 busybox-static graphviz procps mmdebstrap vagrant \
	dnsmasq-base dnsutils iperf3

.PHONY: test test-3008 test-3007 demo demo-clean minion-image system daemons venv venv-3007 lint bench bench-ovs bench-mesh bench-containers graph-examples clean

# `make test` is strict: a skipped integration test fails it (a missing daemon proves nothing).
test: export SALTMESH_NO_SKIP = 1
test: system venv venv-3007 daemons lint
	@mkdir -p build && rm -f build/test-3008.xml build/test-3007.xml
	$(VENV)/bin/pytest --junitxml=build/test-3008.xml $(PYTEST_FLAGS) || true
	$(VENV3007)/bin/pytest -m smoke --junitxml=build/test-3007.xml $(PYTEST_FLAGS) || true
	@$(PYTHON) scripts/test-summary --strict build/test-3008.xml build/test-3007.xml

test-3008: system venv daemons
	$(VENV)/bin/pytest $(PYTEST_FLAGS)

test-3007: system venv-3007 daemons
	$(VENV3007)/bin/pytest -m smoke $(PYTEST_FLAGS)

# The operator's day in nine steps (demo/day.py), a few minutes; KEEP=1 leaves the lab running.
demo: system venv daemons
	$(VENV)/bin/python -m demo $(if $(KEEP),--keep)

# Removes what a kept or crashed demo left: its processes, containers, image, namespaces, /tmp dir.
demo-clean:
	$(PYTHON) -m demo.clean

# saltmesh/minion:$(SALT_VERSION), the image of containers that are minions (README); cached.
minion-image: system venv daemons
	$(VENV)/bin/python scripts/build-minion-image --salt $(SALT_VERSION)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# apt packages, installed only when one is missing.
system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
	fi
	@# Debian's packages try to start system daemons; the tests run their own instances.
	@true

daemons:
	@bash scripts/dockerd-up

venv: $(VENV)/.stamp
$(VENV)/.stamp: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) "salt==$(SALT_VERSION)" -e ".[tests]" 2>&1 | grep -v "^WARNING: Location" || true
	$(VENV)/bin/python -c "import salt.version, saltfactories, docker"
	touch $@

venv-3007: $(VENV3007)/.stamp
$(VENV3007)/.stamp: pyproject.toml
	test -x $(VENV3007)/bin/python || $(PYTHON) -m venv $(VENV3007)
	$(VENV3007)/bin/pip install $(PIP_FLAGS) "salt==$(SALT3007_VERSION)" -e ".[tests]" 2>&1 | grep -v "^WARNING: Location" || true
	$(VENV3007)/bin/python -c "import salt.version, saltfactories; assert salt.version.__version__.startswith('3007')"
	touch $@

bench: bench-mesh bench-ovs bench-containers

bench-mesh: system venv
	$(VENV)/bin/python bench/mesh_plan.py
	$(VENV)/bin/python bench/mesh_state.py

bench-ovs: system venv venv-3007
	$(VENV)/bin/python bench/ovs.py

bench-containers: system venv daemons
	$(VENV)/bin/python bench/containers.py -n 50 --runs 5 --dockermod-runs 1

# docs/mesh-3-hosts.svg (pillar.example) and docs/mesh-12-hosts.svg, drawn by the core's
# saltmesh.mesh.graph as `salt-run mesh.graph` draws them (scripts/mesh-graph; no Salt needed).
graph-examples: system venv
	$(VENV)/bin/python scripts/mesh-graph pillar.example/servers.sls pillar.example/mesh.sls \
		--status docs/examples/mesh-3-hosts-status.yaml -o docs/mesh-3-hosts.svg
	$(VENV)/bin/python scripts/mesh-graph docs/examples/mesh-12-hosts.yaml \
		--status docs/examples/mesh-12-hosts-status.yaml -o docs/mesh-12-hosts.svg

clean:
	rm -rf $(VENV) $(VENV3007) .pytest_cache build *.egg-info
