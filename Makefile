# bufev — one Makefile for every module of the workspace.
#
# `make demo` and `make test` are all a fresh machine needs: the targets they depend on install
# what is missing (Debian packages through apt-get, Go tools pinned by version).

SHELL      := /bin/bash
GO         ?= go
GOBIN      := $(shell $(GO) env GOPATH)/bin
export PATH := $(PATH):$(GOBIN)

# Every directory holding a go.mod is a module; the list follows the tree, not this file.
MODULES    := $(shell find . -name go.mod -not -path './.git/*' -not -path '*/testdata/*' -printf '%h\n' | sed 's|^\./||' | sort)

# Pinned tools.
STATICCHECK_VERSION := v0.8.2
BENCHSTAT_VERSION   := v0.0.0-20260908200009-22c9c6c9d4da

RACE       ?= -race
TESTFLAGS  ?=
FUZZTIME   ?= 10s
BENCHTIME  ?= 1s
BENCH      ?= .
CROSS      ?= darwin/amd64 darwin/arm64 freebsd/amd64 windows/amd64

.PHONY: all help deps tools test test-allocs test-windows test-short test-gowork-off bench fuzz lint fmt vet staticcheck \
        modules doccheck cross demo list

all: test lint cross

help:
	@echo "make demo        the demo: servers and their clients on loopback, with a summary table"
	@echo "make test        every module's tests with -race"
	@echo "make test-short  the same with -short"
	@echo "make test-windows GOOS=windows tests under Wine (WINDOWS_MODULES=...)"
	@echo "make bench       benchmarks of every module (BENCH=regexp BENCHTIME=1s)"
	@echo "make fuzz        a bounded run of every fuzz target (FUZZTIME=10s)"
	@echo "make lint        gofmt, go vet, staticcheck, GOWORK=off builds of each module, and doc comments (doccheck)"
	@echo "make cross       build and vet for $(CROSS)"

list:
	@printf '%s\n' $(MODULES)

# Debian packages the tests use (openssl and curl as real TLS peers), installed when missing.
deps:
	@bash .ci/deps

# Go tools pinned by version, installed when missing or at another version.
tools:
	@if ! staticcheck -version 2>/dev/null | grep -q '($(STATICCHECK_VERSION:v%=%))'; then \
		echo "installing staticcheck $(STATICCHECK_VERSION)"; \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); fi
	@if ! command -v benchstat >/dev/null; then \
		echo "installing benchstat $(BENCHSTAT_VERSION)"; \
		$(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION); fi

# each_module runs a shell command in every module and fails at the end if any failed.
define each_module
	@fail=""; for m in $(MODULES); do \
		echo "=== $$m"; \
		( cd $$m && $(1) ) || fail="$$fail $$m"; \
	done; \
	if [ -n "$$fail" ]; then echo "FAILED in:$$fail"; exit 1; fi
endef

# The race detector makes sync.Pool drop items on purpose, so the zero-allocation guards
# (tests named *Allocs*) skip under -race; test-allocs runs them without it.
test: deps
	$(call each_module,$(GO) test $(RACE) -count=1 $(TESTFLAGS) ./...)
	@$(MAKE) --no-print-directory test-allocs

test-allocs:
	$(call each_module,$(GO) test -count=1 -run 'Allocs' ./...)

# Windows (amd64) tests under Wine: .ci/windows/test installs wine64 and mingw-w64 when missing,
# builds the bcryptprimitives shim Go needs under Debian's Wine, and runs each module's tests
# through the go_windows_amd64_exec wrapper (no -race: it needs cgo).
WINDOWS_MODULES ?= eventbase evbuffer ratelimit bufferevent backends/async backends/pair backends/filter filters

test-windows:
	@WINDOWS_MODULES="$(WINDOWS_MODULES)" bash .ci/windows/test

test-short: deps
	$(call each_module,$(GO) test $(RACE) -short -count=1 $(TESTFLAGS) ./...)

# Each module on its own, as a user who imports only it would build it.
test-gowork-off: deps
	$(call each_module,GOWORK=off $(GO) test -count=1 -short $(TESTFLAGS) ./...)

bench: tools
	$(call each_module,$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) ./...)

fuzz:
	@bash .ci/fuzz $(FUZZTIME)

lint: tools fmt vet staticcheck modules doccheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

vet:
	$(call each_module,$(GO) vet ./...)

staticcheck: tools
	$(call each_module,staticcheck ./...)

# Every exported identifier has a doc comment that says whether it is goroutine-safe.
doccheck:
	GOWORK=off $(GO) run .ci/doccheck.go .

# go.work and the replace directives must agree: every module builds and vets on its own.
modules:
	$(call each_module,GOWORK=off $(GO) vet ./...)

cross:
	@fail=""; for target in $(CROSS); do \
		os=$${target%/*}; arch=$${target#*/}; \
		for m in $(MODULES); do \
			echo "=== $$os/$$arch $$m"; \
			( cd $$m && GOOS=$$os GOARCH=$$arch $(GO) build ./... && GOOS=$$os GOARCH=$$arch $(GO) vet ./... ) \
				|| fail="$$fail $$os/$$arch:$$m"; \
		done; \
	done; \
	if [ -n "$$fail" ]; then echo "FAILED:$$fail"; exit 1; fi

# The main job: an echo server, a TLS le-proxy, a compressing tunnel and a rate-limited path,
# driven by concurrent clients on loopback, printing live progress and a summary table.
# It needs nothing beyond Go.
demo:
	@cd examples && $(GO) run ./demo
