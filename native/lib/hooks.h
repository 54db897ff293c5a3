/* OCI hooks: prestart, createRuntime, createContainer, startContainer, poststart, poststop. */
#ifndef SHOAL_HOOKS_H
#define SHOAL_HOOKS_H
#include <jansson.h>

#include "err.h"

/* Runs every hook of `kind` in order with the state JSON on stdin, honouring each timeout.
 * Returns -1 on the first failure (the caller decides whether that is fatal). */
int hooks_run(json_t *spec, const char *kind, const char *state_json, struct sh_err *e);
#endif
