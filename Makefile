# user_upsert: PGXS build of the extension (C++17 core + PostgreSQL glue),
# pg_regress and isolation tests against a throwaway instance.

EXTENSION      = user_upsert
MODULE_big     = user_upsert
OBJS           = $(patsubst %.cpp,%.o,$(wildcard src/core/*.cpp src/pg/*.cpp))
DATA           = $(wildcard user_upsert--*.sql)

PG_CPPFLAGS    = -Isrc -isystem $(includedir_server)
PG_CXXFLAGS    = -std=c++17 -Wall -Wextra -Werror -fno-omit-frame-pointer
SHLIB_LINK    += -lstdc++
# Debian's PGXS would also compile bitcode with clang-14, as gnu++14 and without PG_CXXFLAGS.
override with_llvm = no

REGRESS        = $(notdir $(basename $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS   = --temp-instance=./tmp_check --temp-config=test/regress.conf
ISOLATION      = $(notdir $(basename $(sort $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation --temp-instance=./tmp_check_iso \
                 --temp-config=test/regress.conf --load-extension=user_upsert

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

PG_MAJOR := $(shell $(PG_CONFIG) --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
ifneq ($(PG_MAJOR),15)
$(error user_upsert needs PostgreSQL 15; $(PG_CONFIG) is $(PG_MAJOR))
endif

# Track header dependencies of the C++ sources.
override CXXFLAGS += -MMD -MP
-include $(OBJS:.o=.d)
EXTRA_CLEAN    = $(OBJS:.o=.d) tmp_check tmp_check_iso test/isolation/results test/isolation/output_iso

.PHONY: unit format
unit:
	cmake -S . -B build -DUU_SANITIZE=ON >/dev/null && cmake --build build -j2 && cd build && ctest --output-on-failure

format:
	clang-format -i src/core/*.cpp src/core/*.hpp src/pg/*.cpp src/pg/*.hpp test/unit/*.cpp

.PHONY: bench
bench:
	bash bench/run.sh
