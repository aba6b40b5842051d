# Makefile — builds leakwatch and runs every check.  README.md lists the
# targets; this file only knows how.  Sources are found by wildcard so a new
# file in pkg/<area>/, cmd/leakwatch/, tests/unit/ or hack/fuzz/ needs no
# edit here.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Every library is linked statically but glibc, libcurl and libmicrohttpd
# built with only what leakwatch uses (hack/vendor-libs.sh says why and
# how).  The flags are asked for at the first recipe that uses them, after
# `deps` installed the -dev packages and built the two (not when make reads
# this file), and then kept: the script runs once per make, not per object.
VENDOR_LIBS = ./hack/vendor-libs.sh
PKG_CFLAGS  = $(eval PKG_CFLAGS := $$(shell $(VENDOR_LIBS) cflags 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS    = $(eval PKG_LIBS := $$(shell $(VENDOR_LIBS) libs 2>/dev/null))$(PKG_LIBS)
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
           -Wmissing-prototypes -Wno-missing-field-initializers
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -Ipkg $(PKG_CFLAGS) \
           -DLW_VERSION='"$(VERSION)"' -MMD -MP
LDLIBS  += $(PKG_LIBS)

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC   := $(sort $(wildcard pkg/*/*.c))
CMD_SRC   := $(sort $(wildcard cmd/leakwatch/*.c))
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TESTSUP_SRC := $(filter-out $(TEST_SRC),$(sort $(wildcard tests/unit/*.c)))
# Files under tests/support/ serve both the unit tests and the e2e drivers
# (the local servers they run), so they are linked into each.
SHARED_SUP_SRC := $(sort $(wildcard tests/support/*.c))
FUZZ_SRC  := $(sort $(wildcard hack/fuzz/fuzz_*.c))
# Small C drivers that e2e shell suites run against the live cluster.
# Files under tests/e2e/support/ and tests/support/ are linked into every
# driver.
E2E_SRC   := $(sort $(wildcard tests/e2e/*.c))
E2E_BIN   := $(E2E_SRC:tests/e2e/%.c=$(BUILD)/e2e/%)
# Programs the benchmarks run (hack/bench/sections say which).
BENCH_SRC := $(sort $(wildcard hack/bench/*.c))
BENCH_BIN := $(BENCH_SRC:hack/bench/%.c=$(BUILD)/bench/%)
E2E_SUP_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard tests/e2e/support/*.c)) \
                 $(SHARED_SUP_SRC))

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ   := $(CMD_SRC:%.c=$(BUILD)/%.o)
TESTSUP_OBJ := $(TESTSUP_SRC:%.c=$(BUILD)/%.o) $(SHARED_SUP_SRC:%.c=$(BUILD)/%.o)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIB       := $(BUILD)/libleakwatch.a
BIN       := $(BUILD)/leakwatch
DEPS_OK   := $(BUILD)/.deps-ok
# Its path names the build recipe, so a changed recipe is a new target.
VENDOR_OK := $(shell $(VENDOR_LIBS) prefix)/.done

.PHONY: all deps test test-unit test-e2e test-asan test-valgrind bench fuzz \
        fuzz-smoke lint clean demo demo-down demo-contain fixtures cluster-up \
        cluster-down image install

all: $(BIN) $(TEST_BIN) $(E2E_BIN) $(BENCH_BIN)

# Keep test and driver objects: they are intermediates of pattern rules,
# which make would otherwise delete (and rebuild next time).
.SECONDARY:

# Installing packages is slow only the first time; the stamp makes later
# runs skip even the dpkg check.
deps: $(DEPS_OK) $(VENDOR_OK)
# SKIP_DEPS=1 is for image builds whose Dockerfile installed them already.
$(DEPS_OK): hack/install-deps.sh
	@mkdir -p $(@D)
	@if [ "$(SKIP_DEPS)" != 1 ]; then ./hack/install-deps.sh; fi
	@touch $@

# Built once into the cache (not the clone), also under SKIP_DEPS=1.
$(VENDOR_OK): | $(DEPS_OK)
	$(VENDOR_LIBS) build

$(BUILD)/%.o: %.c | $(DEPS_OK) $(VENDOR_OK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# -DLW_VERSION is not a file make can see, so the objects that use it
# depend on a stamp rewritten only when `git describe` changes: a binary
# never names the commit before the one it was built from.
# (Written as make reads this file: .SECONDARY would let make skip a
# stamp rule whose dependents look up to date.)
VERSION_STAMP := $(BUILD)/version.stamp
VERSION_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(shell grep -l LW_VERSION $(LIB_SRC) $(CMD_SRC)))
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = "$(VERSION)" ] || \
        echo "$(VERSION)" >$(VERSION_STAMP); })
$(VERSION_OBJ): $(VERSION_STAMP)

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIB) $(VENDOR_OK)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TESTSUP_OBJ) $(LIB) $(VENDOR_OK)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(TESTSUP_OBJ) $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/e2e/%: $(BUILD)/tests/e2e/%.o $(E2E_SUP_OBJ) $(LIB) $(VENDOR_OK)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(E2E_SUP_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/hack/bench/%.o $(LIB) $(VENDOR_OK)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# README's test command.  Unit suites, CLI and fixture suites, then the
# end-to-end suites against a local control plane that tests bring up.
test: all
	./tests/run.sh --build $(BUILD)

test-unit: all
	./tests/run.sh --build $(BUILD) --only unit

test-e2e: all
	./tests/run.sh --build $(BUILD) --only e2e

# ASan+UBSan build of everything, in its own tree, running the suites that
# exercise C code directly.
test-asan:
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ./tests/run.sh --build build/asan --only unit,cli

test-valgrind: all
	./tests/run.sh --build $(BUILD) --only unit,cli --valgrind

# Every target for FUZZ_SECONDS, one per core at a time (FUZZ_JOBS);
# prints executions, exec/s, edges and crashes per target.  fuzz-smoke is
# the short pass that make test runs (tests/cli/fuzz_smoke.sh).
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
fuzz: deps
	FUZZ_JOBS=$(FUZZ_JOBS) ./hack/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-smoke: deps
	./hack/fuzz/run.sh 3

bench: all
	./hack/bench/run.sh

fixtures:
	./hack/record-fixtures.sh

# Every shell script under hack/ and tests/ (.shellcheckrc holds the
# settings), the include layering of pkg/ (DESIGN.md), then the C sources.
lint: deps
	shellcheck $$(find hack tests -name '*.sh' | sort)
	./hack/check-layers.sh
	cppcheck --quiet --error-exitcode=1 --inline-suppr \
	  --enable=warning,performance,portability --std=c11 \
	  --suppress=missingIncludeSystem -Ipkg pkg cmd tests/unit tests/support hack/fuzz hack/bench

# README's first command: a local cluster, leaky and healthy workloads, the
# controller, and the finding shown by kubectl describe.
demo:
	./hack/demo.sh up

demo-down:
	./hack/demo.sh down

# The opt-in variant: one containment restart shown by kubectl describe.
demo-contain:
	./hack/demo-contain.sh up

cluster-up:
	./hack/cluster.sh up

# The controller image, from the Dockerfile, as
# $(BUILD)/leakwatch-image-<git describe>.oci.tar (hack/image.sh says how).
image:
	BUILD=$(BUILD) ./hack/image.sh build

# The binary and its kubectl plugin name (`kubectl leakwatch ...`): kubectl
# runs any kubectl-<name> on PATH, and leakwatch needs no wrapper for it.
PREFIX ?= /usr/local
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/leakwatch
	ln -sf leakwatch $(DESTDIR)$(PREFIX)/bin/kubectl-leakwatch

cluster-down:
	./hack/cluster.sh down

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(TESTSUP_OBJ:.o=.d) \
         $(E2E_SUP_OBJ:.o=.d) \
         $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d) \
         $(E2E_SRC:tests/e2e/%.c=$(BUILD)/tests/e2e/%.d) \
         $(BENCH_SRC:%.c=$(BUILD)/%.d)
