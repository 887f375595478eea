# kast: `make run` builds and starts the server, `make test` installs what
# the tests need and runs them all. See README.md.

GO      ?= go
BIN     := bin/kast

.PHONY: all build assets run test test-deps vet bench day fuzz fuzz-long clean

all: build

# The player (hls.js) comes from npm and is embedded into the binary. When
# npm is missing the binary still builds; its watch page then says so.
assets:
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -f node_modules/hls.js/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
			npm ci --no-audit --no-fund --loglevel=error; fi; \
		sh web/assets/build.sh; \
	else \
		echo "npm not found: building without the embedded player (apt-get install npm, then make)"; \
	fi

build: assets
	$(GO) build -o $(BIN) ./cmd/kast

run: build
	./$(BIN)

test-deps:
	sh scripts/test-deps.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Every package runs under the race detector: nearly all of them have
# goroutines (hub, packager, HTTP, bench viewers).
test: test-deps vet
	$(GO) test -race -timeout 12m ./...

# Speed and memory figures: Go benchmarks next to the code, then the load
# program against an in-process kast. See docs/benchmarks.md.
bench: build
	$(GO) test -run XXX -bench . -benchmem ./packager/
	$(GO) build -o bin/bench ./bench
	sh bench/run.sh

# A conference day end to end, about ten minutes, not part of make test:
# publishers, viewers, accounts, a websocket audience, junk on every port,
# kast restarted with SIGTERM and killed with SIGKILL. Prints a table of
# what happened and what was lost (exit 1 when something was). See README.
day: build
	$(GO) build -o bin/bench ./bench
	$(GO) run ./bench/day -kast $(BIN) -bench bin/bench $(DAYFLAGS)

# Every fuzz target (found with go test -list), a minute each; fuzz-long:
# ten minutes each. Crashers become regression seeds in testdata/fuzz.
fuzz:
	sh scripts/fuzz.sh

fuzz-long:
	FUZZTIME=10m sh scripts/fuzz.sh

clean:
	rm -rf bin
