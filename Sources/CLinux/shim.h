#ifndef S3GW_CLINUX_SHIM_H
#define S3GW_CLINUX_SHIM_H

#include <sys/prctl.h>

// prctl(2) is variadic, which Swift cannot call: fixed-arity wrappers for the options used.
static inline int s3gw_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }
static inline int s3gw_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

#endif
