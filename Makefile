# Sésame developer tasks. `make test` is what the README and .ci/run call.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO ?= go
TEST_TIMEOUT ?= 30m
# Extra flags for go test, e.g. make test TESTFLAGS='-run Seat -v'
TESTFLAGS ?=
# The browser agent's js/wasm tests, under Node through go_js_wasm_exec.
WASM_TEST ?= PATH="$$($(GO) env GOROOT)/lib/wasm:$$PATH" GOOS=js GOARCH=wasm $(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./wasm/...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tests skipped for a missing component (see infra/testenv) are listed here,
# because `go test ./...` hides the output of passing packages.
SKIP_LOG := .cache/skipped-tests.log

.PHONY: test bench lint build run run-hosted dynamodb-local hosted-tools axe-core generate lambdas deploy-web

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

lint: lint-wasm
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cfn-lint template.yaml deploy/waf-example.yaml

build: agent
	$(GO) build ./...

# The agent is built first, so that the server embeds and serves it.
run: agent
	$(GO) run ./cmd/sesame serve --demo

# The hosted deployment on this machine (infra/hostedlocal): DynamoDB
# Local, versitygw, the five functions under RIE and a gateway playing
# CloudFront and the HTTP API. Ctrl-C stops it all.
#   make run-hosted              (with the demo school, as make run)
#   make run-hosted ARGS=        (without)
ARGS ?= --demo
run-hosted: agent
	$(GO) run ./infra/hostedlocal/cmd/run $(ARGS)

# Installs DynamoDB Local into .cache/dynamodb-local (tests start it themselves).
dynamodb-local:
	$(GO) run ./infra/dynamolocal/cmd/fetch

# Builds the Lambda RIE and versitygw (pinned) into .cache/bin; the tests
# that run the functions as deployed and the S3 tests use them.
hosted-tools:
	$(GO) run ./infra/localtool/cmd/fetch

# Installs axe-core into .cache/axe-core, for the pages' accessibility audit
# (the tests install it themselves when missing).
axe-core:
	$(GO) run ./web/internal/axe/cmd/fetch

# Writes the generated pages and labels of web/static from web/pages and
# the domain (a test fails when they drift).
generate:
	$(GO) generate ./web

# ---------------------------------------------------------------- cloud --

# The Lambda functions, for SAM: `sam build` runs `make build-<LogicalId>`
# (template.yaml: BuildMethod: makefile) with ARTIFACTS_DIR set, and zips
# what lands there. By hand, `make build-LoginFunction` writes
# dist/login/bootstrap, and `make lambdas` builds them all.
# The tags are lambdarie.BuildTags (TestMakeBuildsFunctions checks the artifacts).
LAMBDA_GOFLAGS := -tags lambda.norpc,nethttpomithttp2 -trimpath -ldflags='-s -w'

# $(1): the template's logical id; $(2): the folder under functions/.
define lambda_target
.PHONY: build-$(1)
build-$(1):
	@mkdir -p '$$(or $$(ARTIFACTS_DIR),dist/$(2))'
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $$(GO) build $$(LAMBDA_GOFLAGS) -o '$$(or $$(ARTIFACTS_DIR),dist/$(2))/bootstrap' ./functions/$(2)
lambdas: build-$(1)
endef
$(eval $(call lambda_target,LoginFunction,login))
$(eval $(call lambda_target,SeatsFunction,seats))
$(eval $(call lambda_target,AuthorizeFunction,authorize))
$(eval $(call lambda_target,RecoverFunction,recover))
$(eval $(call lambda_target,AdminFunction,admin))

# Uploads web/static/ to the stack's web bucket. Run it after `sam deploy`
# (the bucket is the stack's WebBucketName output), with the stack's name:
#   make deploy-web STACK=sesame-prod
# Each file type gets its Content-Type, the pages last so that they never
# name an asset not yet uploaded; every file is sent "no-cache", as
# `sesame serve` does: the names carry no version, so browsers revalidate
# (ETag) and CloudFront keeps them no longer than its minimum TTL (1 s).
STACK ?= sesame-dev
WEB_DIR := web/static
WEB_CACHE_CONTROL ?= no-cache
AWS ?= aws

deploy-web: agent
	@bucket="$$($(AWS) cloudformation describe-stacks --stack-name '$(STACK)' \
		--query "Stacks[0].Outputs[?OutputKey=='WebBucketName'].OutputValue" --output text)"; \
	if [ -z "$$bucket" ] || [ "$$bucket" = None ]; then \
		echo "deploy-web: stack $(STACK) has no WebBucketName output (run sam deploy first)" >&2; exit 1; \
	fi; \
	declare -A types=( \
		[html]='text/html; charset=utf-8' [css]='text/css; charset=utf-8' \
		[js]='text/javascript; charset=utf-8' [mjs]='text/javascript; charset=utf-8' \
		[json]='application/json' [wasm]='application/wasm' [svg]='image/svg+xml' \
		[png]='image/png' [ico]='image/x-icon' [txt]='text/plain; charset=utf-8' ); \
	echo "s3://$$bucket/agent/ (the browser agent: hashed names, precompressed forms)"; \
	$(GO) run ./web/cmd/webobjects -dir '$(WEB_DIR)' | while IFS='|' read -r key type enc cache; do \
		case "$$key" in agent/*) ;; *) continue ;; esac; \
		$(AWS) s3 cp "$(WEB_DIR)/$$key" "s3://$$bucket/$$key" --only-show-errors \
			--content-type "$$type" --cache-control "$$cache" $${enc:+--content-encoding "$$enc"}; \
	done; \
	known=(--exclude 'agent/*'); \
	for ext in wasm js mjs css json svg png ico txt html; do \
		known+=(--exclude "*.$$ext"); \
		echo "s3://$$bucket/ *.$$ext: $${types[$$ext]}"; \
		$(AWS) s3 sync '$(WEB_DIR)/' "s3://$$bucket/" --delete --only-show-errors \
			--exclude '*' --include "*.$$ext" --exclude 'agent/*' \
			--content-type "$${types[$$ext]}" --cache-control '$(WEB_CACHE_CONTROL)'; \
	done; \
	echo "s3://$$bucket/ other files"; \
	$(AWS) s3 sync '$(WEB_DIR)/' "s3://$$bucket/" --delete --only-show-errors "$${known[@]}" \
		--cache-control '$(WEB_CACHE_CONTROL)'

include wasm/agent.mk
