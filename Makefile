# Sésame developer tasks. `make test` is what the README and .ci/run call.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO ?= go
TEST_TIMEOUT ?= 30m
# Extra flags for go test, e.g. make test TESTFLAGS='-run Seat -v'
TESTFLAGS ?=
# The browser agent's js/wasm tests under Node; set once wasm/ has them, e.g.
# WASM_TEST = PATH="$$($(GO) env GOROOT)/lib/wasm:$$PATH" GOOS=js GOARCH=wasm $(GO) test -timeout $(TEST_TIMEOUT) ./wasm/...
WASM_TEST ?=
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tests skipped for a missing component (see infra/testenv) are listed here,
# because `go test ./...` hides the output of passing packages.
SKIP_LOG := .cache/skipped-tests.log

.PHONY: test bench lint build run dynamodb-local

test:
	@mkdir -p .cache; rm -f '$(SKIP_LOG)'
	@echo '$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...'; \
	status=0; \
	SESAME_SKIP_LOG='$(CURDIR)/$(SKIP_LOG)' $(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./... || status=$$?; \
	if [ -s '$(SKIP_LOG)' ]; then \
		printf '\n!!! %s test(s) SAUTÉ(S) faute de composant (ils échoueraient avec CI=true) :\n' "$$(wc -l < '$(SKIP_LOG)')"; \
		cat '$(SKIP_LOG)'; \
	fi; \
	exit $$status
	$(if $(strip $(WASM_TEST)),$(WASM_TEST))

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout $(TEST_TIMEOUT) ./...

lint:
	$(GO) vet ./...
	@if [ -n "$$(find wasm -name '*.go' -print -quit 2>/dev/null)" ]; then \
		echo 'GOOS=js GOARCH=wasm $(GO) vet ./wasm/...'; \
		GOOS=js GOARCH=wasm $(GO) vet ./wasm/...; \
	fi
	$(GO) run $(STATICCHECK) ./...
	cfn-lint template.yaml

build:
	$(GO) build ./...

run:
	$(GO) run ./cmd/sesame serve --demo

# Installs DynamoDB Local into .cache/dynamodb-local (tests start it themselves).
dynamodb-local:
	$(GO) run ./infra/dynamolocal/cmd/fetch
