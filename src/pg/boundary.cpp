/*
 * boundary.cpp
 *	  Exception capture and reporting, and the palloc-backed core allocator.
 *
 * IDENTIFICATION
 *	  src/pg/boundary.cpp
 */
#include "pg/boundary.hpp"

#include <cstring>

extern "C" {
#include "postgres.h"

#include "utils/memutils.h"
}

#include "pg/errors.hpp"

namespace uu::pg {

namespace {

/* Fixed storage: filling it can neither allocate nor fail. */
struct CapturedError {
	int sqlstate;
	bool internal;
	char field[128];
	char message[512];
	char detail[1024];
	char hint[512];
};
static_assert(std::is_trivially_destructible_v<CapturedError>);

CapturedError captured;

void
copy_bounded(char *dst, std::size_t size, const char *src) noexcept {
	std::size_t n = std::strlen(src);
	if (n >= size)
		n = size - 1;
	std::memcpy(dst, src, n);
	dst[n] = '\0';
}

void *
palloc_no_longjmp(void *context, std::size_t size) {
	if (size == 0)
		size = 1;
	if (size > MaxAllocSize)
		throw std::bad_alloc();
	void *p = MemoryContextAllocExtended(static_cast<MemoryContext>(context), size, MCXT_ALLOC_NO_OOM);
	if (p == nullptr)
		throw std::bad_alloc();
	return p;
}

} // namespace

void
capture_core_error(const core::Error &e) noexcept {
	captured.sqlstate = sqlstate_of(e.code);
	captured.internal = false;
	copy_bounded(captured.field, sizeof captured.field, e.field.c_str());
	copy_bounded(captured.message, sizeof captured.message, e.message.c_str());
	copy_bounded(captured.detail, sizeof captured.detail, e.detail.c_str());
	copy_bounded(captured.hint, sizeof captured.hint, e.hint.c_str());
}

void
capture_out_of_memory() noexcept {
	captured.sqlstate = ERRCODE_OUT_OF_MEMORY;
	captured.internal = false;
	copy_bounded(captured.message, sizeof captured.message, "out of memory");
	captured.field[0] = captured.detail[0] = captured.hint[0] = '\0';
}

void
capture_internal_error(const char *what) noexcept {
	captured.sqlstate = ERRCODE_INTERNAL_ERROR;
	captured.internal = true;
	copy_bounded(captured.message, sizeof captured.message, what ? what : "unknown");
	captured.field[0] = captured.detail[0] = captured.hint[0] = '\0';
}

void
report_captured_error(const char *function) {
	if (captured.internal)
		ereport(ERROR, (errcode(captured.sqlstate),
		                errmsg("internal error in %s: %s", function, captured.message)));
	ereport(ERROR, (errcode(captured.sqlstate), errmsg("%s", captured.message),
	                captured.detail[0] ? errdetail("%s", captured.detail) : 0,
	                captured.hint[0] ? errhint("%s", captured.hint) : 0));
	pg_unreachable();
}

core::Allocator
palloc_allocator(void *context) {
	return core::Allocator{palloc_no_longjmp, context};
}

} // namespace uu::pg
