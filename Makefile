# nook — `make run` and `make test` do all set-up on a fresh Debian machine.

SHELL       := /bin/bash
GO          ?= go
# Headers llama.cpp's cgo build needs but Go module zips leave out. They
# live outside the checkout so that every checkout passes the same
# CGO_CPPFLAGS and shares Go's build cache of llama.cpp (minutes to rebuild).
export NOOK_INCLUDE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/nook/include
INCLUDE     := $(NOOK_INCLUDE)
export CGO_CPPFLAGS := -I$(INCLUDE) $(CGO_CPPFLAGS)
export CGO_ENABLED  := 1
# llama.cpp's CPU kernels need the machine's vector units (AVX2, FMA, F16C,
# NEON...): build for this machine, as llama.cpp's GGML_NATIVE does.
# NATIVE=0 gives a portable binary (much slower quantized matmuls).
NATIVE      ?= 1
ifeq ($(NATIVE),1)
export CGO_CFLAGS   := -O3 -march=native $(CGO_CFLAGS)
export CGO_CXXFLAGS := -O3 -march=native $(CGO_CXXFLAGS)
endif
# Real small models shipped beside the repo (see ../shared/models/SOURCES.md).
export NOOK_TEST_MODELS ?= $(abspath $(CURDIR)/../shared/models)
OLLAMA_VERSION := $(shell awk '$$1=="github.com/ollama/ollama"{print $$2}' go.mod)
# make run's model: MODEL=name-or-path; else NOOK_MODEL or the config's; else,
# in a checkout with ../shared/models, its TinyStories model; else the largest
# installed catalog model (nook pulls only a model you name).
MODEL       ?= $(or $(NOOK_MODEL),$(wildcard $(NOOK_TEST_MODELS)/stories260K.gguf))
TEST_FLAGS  ?= -count=1 -timeout 20m

.PHONY: all setup build run test test-short fuzz bench bench-engine bench-serve bench-embed bench-sync bench-ledger cuda vet fmt clean contracts

all: build

# Idempotent: after the first run each script only checks (a second or two).
setup:
	@bash .ci/setup
	@bash .ci/setup-solc
	@bash .ci/setup-geth
	@bash .ci/setup-clients

# The identity registry: pinned npm solc, then ABI, bytecode and Go bindings
# (committed; a test fails when they are stale).
contracts:
	@bash .ci/setup-solc
	$(GO) run ./ledgerclient/contracts/internal/cmd/contractgen -dir ledgerclient/contracts

build: setup
	$(GO) build -o bin/nook ./cmd/nook

# The main job: nook's terminal app (chat with sources, sessions, commands).
# MODEL=name-or-path picks the model; `make run ARGS="run -p hi"` runs a subcommand.
run: build
	$(if $(MODEL),NOOK_MODEL="$(MODEL)") ./bin/nook $(ARGS)

# Every package once: with -race unless it links llama.cpp (see .ci/test);
# then kill -9 at 100 seeded points of add, remember, session save and
# repair without the detector (the race run does 12: its children are slow
# under it; this takes about 40 s); then every fuzz target for a second.
test: setup
	$(GO) vet ./...
	@TEST_FLAGS="$(TEST_FLAGS)" bash .ci/test
	NOOK_KILLPOINTS=100 $(GO) test -count=1 -run '^TestKillNineAtRandomPointsLosesNothing$$' ./vault/
	@bash .ci/fuzz

# Every fuzz target (decoders of untrusted bytes) for FUZZTIME each
# (default 1s: `make test` runs them all in under a minute).
fuzz:
	@bash .ci/fuzz

test-short: setup
	$(GO) test -short -count=1 ./...

# Benchmarks print ratios against their peer measured in the same run.
bench: bench-engine bench-serve bench-embed bench-sync bench-ledger

bench-engine: setup
	$(GO) run ./bench/engine $(ARGS)

# nook serve vs ollama serve, 1 and 4 clients streaming at once.
bench-serve: setup
	$(GO) run ./bench/serve $(ARGS)

# Embedding models: nook vs ollama's /api/embed, and `nook add` of notes.
bench-embed: setup
	$(GO) run ./bench/embed $(ARGS)

# A new device's first sync and a small second one, vs raw copies.
bench-sync: setup
	$(GO) run ./bench/sync $(ARGS)

# NVIDIA: build ggml's CUDA backend from the pinned ollama module into
# lib/ollama/ beside bin/, where ggml's loader looks for it.
cuda: build
	bash .ci/build-cuda

bench-ledger: setup
	$(GO) test -run '^$$' -bench Check -benchtime 2s ./ledgerclient

vet: setup
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin build lib
