# Tsumugi — the two commands a newcomer needs:
#   make run    install dependencies if missing, build, open the annotator on the sample workspace
#   make test   install dependencies if missing, build, run the whole suite (not bench/fuzz/gpu)
BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS      ?= $(shell nproc)
CTEST_ARGS ?=
CMAKE_ARGS ?=

.PHONY: all deps configure build test run demo bench format install deb sanitize clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -LE 'bench|fuzz|gpu' -j $(JOBS) $(CTEST_ARGS)

# The annotator is not built yet: until it is, `make run` builds the demo workspace.
run: build
	@echo "make run: the annotator is not built yet; making the demo workspace instead (make demo)"
	@$(MAKE) --no-print-directory demo

demo: build
	@rm -f $(BUILD)/demo.tsumugi $(BUILD)/demo.tsumugi-wal $(BUILD)/demo.tsumugi-shm
	@$(BUILD)/cli/tsumugi init $(BUILD)/demo.tsumugi --admin admin
	@for f in resources/samples/*.jsonl; do \
	  $(BUILD)/cli/tsumugi import $(BUILD)/demo.tsumugi $$f --format tree \
	    --source tsumugi-samples --licence CC0-1.0 --redistributable || exit 1; done
	@$(BUILD)/cli/tsumugi stats $(BUILD)/demo.tsumugi

bench: build
	cd $(BUILD) && ctest --output-on-failure -L bench -j 1 $(CTEST_ARGS)

format:
	@find core datastore export cli tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

install: build
	cmake --install $(BUILD)

deb: build
	cd $(BUILD) && cpack -G DEB

# The datastore tests again under AddressSanitizer and UndefinedBehaviorSanitizer (only
# their targets are built: the rest of the tree is not what this run checks).
SANITIZE_TESTS = test_consensus test_workspace test_roles test_messages test_queue test_search \
                 test_snapshots test_concurrency test_crash test_import_export test_samples \
                 test_formats test_quality test_quality_workspace
sanitize: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTSUMUGI_SANITIZE=ON -DTSUMUGI_BENCH=OFF
	cmake --build build-asan -j $(JOBS) --target $(SANITIZE_TESTS)
	cd build-asan && ctest --output-on-failure -L datastore -LE 'bench|fuzz|gpu' -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan
