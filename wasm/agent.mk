# The browser agent (wasm/). The Makefile includes this file:
#
#   include wasm/agent.mk
#
# make agent        builds the agent into web/static/agent, which the next
#                   go build embeds (sesame serve then serves it)
# make test-wasm    runs the js/wasm tests under Node (go_js_wasm_exec)
# make agent-sizes  the agent beside an empty Go module and safejs alone,
#                   raw, gzip and brotli (the table of BENCHMARKS.md)
# make lint-wasm    go vet and staticcheck for GOOS=js GOARCH=wasm
#
# brotli (Debian's brotli) writes the .br files when installed; without it
# the agent is served in gzip. wasm-opt (binaryen) is only used with
# AGENT_FLAGS=-opt, which measured saves nothing once compressed.

GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
TESTFLAGS ?=
AGENT_DIR ?= web/static/agent
AGENT_FLAGS ?=

.PHONY: agent test-wasm agent-sizes lint-wasm

agent:
	$(GO) run ./wasm/cmd/buildagent -out '$(AGENT_DIR)' $(AGENT_FLAGS)

test-wasm:
	PATH="$$($(GO) env GOROOT)/lib/wasm:$$PATH" GOOS=js GOARCH=wasm $(GO) test $(TESTFLAGS) ./wasm/...

agent-sizes:
	$(GO) run ./wasm/cmd/buildagent -sizes

# staticcheck is built for this machine, then run on the js/wasm build.
lint-wasm:
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/...
	GOBIN='$(CURDIR)/.cache/bin' $(GO) install $(STATICCHECK)
	GOOS=js GOARCH=wasm '$(CURDIR)/.cache/bin/staticcheck' ./wasm/...
