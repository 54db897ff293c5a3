# shoal: `make run` sets up this host and starts the daemon; `make test` sets up and runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := build

BIN := $(CURDIR)/bin
NODE_MODULES_STAMP := node_modules/.package-lock.json
TS_SOURCES := $(shell find src -name '*.ts' 2>/dev/null)
CNI_CONF_DIR ?= /etc/cni/net.d

.PHONY: deps build native ts typecheck proto run test test-unit test-e2e test-cgroup2 clean

## deps: install the missing Debian packages (as root, with apt) and the npm dependencies.
deps:
	@./deploy/install-deps.sh

$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## build: the native core (bin/shoal-runtime, bin/shoal-monitor, bin/shoal-init, bin/libshoal.so)
## and the daemon (dist/, bin/shoald).
build: native ts

native:
	$(MAKE) -C native OUT=$(BIN)

ts: dist/.stamp $(BIN)/shoald

# Compiled beside dist/ and swapped in, so a daemon or test using dist/ never sees it half-built.
dist/.stamp: $(TS_SOURCES) tsconfig.json $(NODE_MODULES_STAMP)
	rm -rf dist.new dist.old
	node_modules/.bin/tsc -p tsconfig.json --outDir dist.new
	@touch dist.new/.stamp
	@if [ -d dist ]; then mv dist dist.old; fi; mv dist.new dist; rm -rf dist.old

$(BIN)/shoald: deploy/shoald.sh
	@mkdir -p $(BIN)
	install -m 0755 deploy/shoald.sh $@

## typecheck: the whole tree, tests and benches included.
typecheck: $(NODE_MODULES_STAMP)
	node_modules/.bin/tsc -p tsconfig.test.json

## proto: regenerate src/gen from proto/ (the output is committed).
proto: $(NODE_MODULES_STAMP)
	rm -rf src/gen
	./proto/generate.sh src/gen

## run: set up, build, install the default CNI config if none, start shoald in the foreground.
run: deps build
	@if ! ls $(CNI_CONF_DIR)/*.conflist $(CNI_CONF_DIR)/*.conf >/dev/null 2>&1; then \
	  mkdir -p $(CNI_CONF_DIR) && install -m 0644 deploy/cni/10-shoal-bridge.conflist $(CNI_CONF_DIR)/ && \
	  echo "installed deploy/cni/10-shoal-bridge.conflist into $(CNI_CONF_DIR)"; fi
	$(BIN)/shoald $(SHOALD_FLAGS)

## test: set up, build, type-check, then the whole suite (unit and end-to-end, as root), then the
## cgroup tests again inside the cgroup2-only VM; fails when either part fails.
test: deps build typecheck
	@status=0; \
	node_modules/.bin/jest --ci $(JEST_FLAGS) || status=1; \
	$(MAKE) --no-print-directory test-cgroup2 || status=1; \
	exit $$status

## test-cgroup2: the cgroup test files on cgroup v2, inside a cgroup2-only VM (QEMU, software
## emulation; test/vm/README.md). Runs after the host suite, whose jest cache it reuses.
test-cgroup2: deps build
	test/vm/test-cgroup2.sh

test-unit: build
	node_modules/.bin/jest --ci test/unit $(JEST_FLAGS)

clean:
	rm -rf dist dist.new dist.old bin native/build
