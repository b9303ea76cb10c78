# S3Gateway — developer entry points. Each target is a thin wrapper over scripts/.
#   make run     build (release) and start s3gw + nginx on 127.0.0.1:8443/8080, state in .state/
#   make demo    like run, with a demo catalog: a filesystem zone and two moto_server providers
#   make stop    stop what `make run` / `make demo` started
#   make test    build, unit tests, end-to-end tests (real nginx, real S3 clients)
#   make bench   throughput through nginx -> s3gw vs plain nginx (release build)
.PHONY: all build release run demo stop test e2e bench format format-check clean

CONFIG ?= debug

all: build

build:
	swift build -c $(CONFIG)

release:
	swift build -c release

run:
	scripts/run.sh

# make run with three zones in three countries: one filesystem, two moto_server providers.
demo:
	scripts/demo.sh

stop:
	scripts/stop.sh

test:
	scripts/test.sh

# Only the end-to-end tier, against an existing debug build.
e2e:
	S3GW_BIN=$(CURDIR)/.build/debug/s3gw python3 -m pytest -q Tests/e2e $(ARGS)

bench:
	bench/run.sh

format:
	swift format -i -r Sources Tests

# Fails when `make format` would change anything.
format-check:
	swift format lint --strict -r Sources Tests

clean: stop
	rm -rf .state
	swift package clean
