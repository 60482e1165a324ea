/* Checks for the C API tests, in C: count, report the failing line and the library's
 * message, and end with the "N passed, N failed" line and a nonzero exit on any failure. */
#ifndef UINTX_TESTS_CAPI_C_CHECK_H
#define UINTX_TESTS_CAPI_C_CHECK_H

#include <stdio.h>
#include <string.h>

#include "uintx/uintx_c.h"

static int checks_passed = 0, checks_failed = 0;

static inline void check_result(int ok, const char* file, int line, const char* what) {
  if (ok) {
    ++checks_passed;
  } else {
    ++checks_failed;
    fprintf(stderr, "%s:%d: FAILED: %s (last error: '%s')\n", file, line, what, uintx_last_error());
  }
}

#define CHECK(cond) check_result((cond) ? 1 : 0, __FILE__, __LINE__, #cond)

/* The call returns `expected`; when it is an error, the message names `keyword`. */
static inline void check_status(uintx_status got, uintx_status expected, const char* keyword, const char* file,
                         int line, const char* call) {
  int ok = got == expected;
  if (ok && expected != UINTX_OK) ok = keyword == NULL || strstr(uintx_last_error(), keyword) != NULL;
  if (ok && expected == UINTX_OK) ok = uintx_last_error()[0] == '\0';
  if (!ok)
    fprintf(stderr, "%s:%d: %s returned %s, expected %s (message should name '%s')\n", file, line, call,
            uintx_status_name(got), uintx_status_name(expected), keyword ? keyword : "");
  check_result(ok, file, line, call);
}

#define CHECK_OK(call) check_status((call), UINTX_OK, NULL, __FILE__, __LINE__, #call)
#define CHECK_FAILS(call, status, keyword) check_status((call), (status), (keyword), __FILE__, __LINE__, #call)
#define CHECK_REJECTS(call, keyword) CHECK_FAILS(call, UINTX_ERROR_INVALID_ARGUMENT, keyword)

static inline int check_summary(void) {
  printf("%d passed, %d failed\n", checks_passed, checks_failed);
  return checks_failed == 0 ? 0 : 1;
}

#endif
