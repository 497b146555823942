/*
 * boundary.hpp
 *	  The one door between C++ and PostgreSQL error handling.
 *
 *	  cxx_phase() runs C++ work that must not call anything that can ereport:
 *	  every exception is caught, copied into fixed POD storage, and reported
 *	  with ereport() only after the catch block has closed. palloc_allocator()
 *	  gives the core memory in a PostgreSQL context without ever longjmp'ing
 *	  (it uses MCXT_ALLOC_NO_OOM and throws std::bad_alloc instead).
 *
 * IDENTIFICATION
 *	  src/pg/boundary.hpp
 */
#pragma once

#include "core/error.hpp"
#include "core/wire.hpp"

#include <exception>
#include <new>
#include <type_traits>

namespace uu::pg {

/* Copies the exception in flight into the POD error box; called only from catch blocks. */
void capture_core_error(const core::Error &e) noexcept;
void capture_out_of_memory() noexcept;
void capture_internal_error(const char *what) noexcept;

/* ereport()s the captured error; `function` names the SQL function for internal errors. */
[[noreturn]] void report_captured_error(const char *function);

/* An Allocator handing out memory from `context` (a MemoryContext). */
core::Allocator palloc_allocator(void *context);

enum class CxxOutcome { Done, Refused, Failed };

/* Runs `work`, storing its result; any exception is captured in the POD error box instead. */
template <typename F, typename Result>
CxxOutcome
run_cxx(F &&work, Result *result) noexcept {
	static_assert(std::is_trivially_destructible_v<Result>,
	              "data leaving a C++ phase must survive a longjmp: make it POD");
	try {
		*result = work();
		return CxxOutcome::Done;
	} catch (const core::Error &e) {
		capture_core_error(e);
		return CxxOutcome::Refused;
	} catch (const std::bad_alloc &) {
		capture_out_of_memory();
	} catch (const std::exception &e) {
		capture_internal_error(e.what());
	} catch (...) {
		capture_internal_error("unknown exception");
	}
	return CxxOutcome::Failed;
}

template <typename F>
auto
cxx_phase(const char *function, F &&work) -> decltype(work()) {
	decltype(work()) result{};
	if (run_cxx(work, &result) != CxxOutcome::Done)
		report_captured_error(function);
	return result;
}

/*
 * cxx_phase() for work whose refusal (a core::Error) the caller handles by
 * taking another path: returns false then, reporting nothing. Any other
 * failure is reported as cxx_phase() reports it.
 */
template <typename F>
bool
cxx_phase_unless_refused(const char *function, F &&work, decltype(work()) *result) {
	CxxOutcome outcome = run_cxx(work, result);
	if (outcome == CxxOutcome::Failed)
		report_captured_error(function);
	return outcome == CxxOutcome::Done;
}

} // namespace uu::pg
