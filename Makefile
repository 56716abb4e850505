# kpar: two commands on a fresh machine.
#   make run    the main job (about 10 minutes on 2 cores): local broker, every measurement and lab, one report
#   make run-full  the same with the full matrices (longer; each step prints its expected time)
#   make test   the whole suite, race detector on, against a real broker it starts itself
# Point either at your own cluster with KPAR_BROKERS=host:port,...

GO ?= go
# kpar's revision stamped into the binary (scripts/ldflags.sh): results name
# the code that produced them even when the toolchain embeds no VCS data.
LDFLAGS := $(shell ./scripts/ldflags.sh)

.PHONY: build run run-full test test-short vet clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/kpar ./cmd/kpar

run: build
	./scripts/run.sh

run-full: build
	KPAR_FULL=1 ./scripts/run.sh

test:
	./scripts/test.sh

# kfake-only unit tests: no JVM, a few seconds. Every module: `./...` does
# not enter the nested ones (parallel, parallel/kprom, parallel/kotel).
test-short:
	for m in . parallel parallel/kprom parallel/kotel; do $(GO) -C $$m test -race -short ./... || exit 1; done

vet:
	for m in . parallel parallel/kprom parallel/kotel; do $(GO) -C $$m vet ./... || exit 1; done

clean:
	rm -rf bin results .kpar
