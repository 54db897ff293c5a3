/* Just enough JSON for the monitor to read one string out of a bundle's config.json (the OOM
 * probe's linux.cgroupsPath), so that the static monitor needs no JSON library: a library would
 * be linked into, and resident in, every one of the per-container monitors. */
#ifndef SHOAL_MON_JSONSCAN_H
#define SHOAL_MON_JSONSCAN_H
#include <stddef.h>

/* Follows keys[0..nkeys-1] through nested objects from the top-level object of text[0..len) and
 * copies the string found there, decoded (escapes, \u as UTF-8), into out (cap bytes with its
 * NUL). Returns 0, or -1 when the path is absent, leads to something that is not a string, the
 * value does not fit, or the text is not well-formed JSON up to that point. The first of duplicate
 * keys is the one followed. */
int json_scan_string(const char *text, size_t len, const char *const *keys, size_t nkeys, char *out,
                     size_t cap);
#endif
