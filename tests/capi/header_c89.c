/* uintx/uintx_c.h is plain C89 (compiled with -std=c89 -pedantic-errors by the BUILD). */
#include "uintx/uintx_c.h"

int uintx_header_c89_check(void) { return (int)sizeof(uintx_format) + (int)UINTX_OK; }
