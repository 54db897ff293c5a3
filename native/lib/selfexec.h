#ifndef SHOAL_SELFEXEC_H
#define SHOAL_SELFEXEC_H
#include "err.h"

/* Makes the process non-dumpable and, unless already running from one, re-executes it from a
 * sealed memfd copy of its own binary with the same argv. Returns 0 (in the copy) or -1. */
int sh_reexec_sealed(char **argv, struct sh_err *e);
int sh_is_sealed_self(void);
#endif
