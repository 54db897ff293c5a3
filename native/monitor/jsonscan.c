#include "jsonscan.h"

#include <stdbool.h>
#include <string.h>

/* Nesting deeper than this is refused rather than followed (the skipper recurses). */
#define MAX_DEPTH 64

struct scan {
  const char *p, *end;
};

enum { STR_OK = 0, STR_TRUNCATED = 1, STR_BAD = -1 };

static void skip_ws(struct scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static bool take(struct scan *s, char c) {
  skip_ws(s);
  if (s->p >= s->end || *s->p != c) return false;
  s->p++;
  return true;
}

static int hex4(struct scan *s, unsigned *v) {
  if (s->end - s->p < 4) return -1;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *s->p++;
    unsigned d;
    if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
    else return -1;
    *v = *v << 4 | d;
  }
  return 0;
}

static size_t utf8_encode(unsigned cp, char *b) {
  if (cp < 0x80) {
    b[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    b[0] = (char)(0xC0 | cp >> 6);
    b[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    b[0] = (char)(0xE0 | cp >> 12);
    b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  b[0] = (char)(0xF0 | cp >> 18);
  b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  b[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The code point of a \u escape (s->p just after the 'u'), a surrogate pair joined. */
static int unicode_escape(struct scan *s, unsigned *cp) {
  if (hex4(s, cp) < 0) return -1;
  if (*cp >= 0xDC00 && *cp < 0xE000) return -1;
  if (*cp >= 0xD800 && *cp < 0xDC00) {
    unsigned lo;
    if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') return -1;
    s->p += 2;
    if (hex4(s, &lo) < 0 || lo < 0xDC00 || lo >= 0xE000) return -1;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  /* A NUL would cut the C string short: such a value cannot be a path. */
  return *cp == 0 ? -1 : 0;
}

/* A string at s->p, decoded into out (when out is not NULL). STR_TRUNCATED: well-formed but longer
 * than cap - 1 bytes (out then holds nothing usable). */
static int scan_string(struct scan *s, char *out, size_t cap) {
  if (!take(s, '"')) return STR_BAD;
  size_t n = 0;
  bool fits = true;
  while (s->p < s->end) {
    unsigned char c = (unsigned char)*s->p++;
    char b[4];
    size_t blen = 1;
    if (c == '"') {
      if (out != NULL && fits) out[n] = '\0';
      return fits ? STR_OK : STR_TRUNCATED;
    }
    if (c < 0x20) return STR_BAD;
    b[0] = (char)c;
    if (c == '\\') {
      if (s->p >= s->end) return STR_BAD;
      char e = *s->p++;
      switch (e) {
        case '"': case '\\': case '/': b[0] = e; break;
        case 'b': b[0] = '\b'; break;
        case 'f': b[0] = '\f'; break;
        case 'n': b[0] = '\n'; break;
        case 'r': b[0] = '\r'; break;
        case 't': b[0] = '\t'; break;
        case 'u': {
          unsigned cp;
          if (unicode_escape(s, &cp) < 0) return STR_BAD;
          blen = utf8_encode(cp, b);
          break;
        }
        default: return STR_BAD;
      }
    }
    if (out == NULL || !fits) continue;
    if (n + blen < cap) {
      memcpy(out + n, b, blen);
      n += blen;
    } else {
      fits = false;
    }
  }
  return STR_BAD;
}

static int skip_value(struct scan *s, int depth);

/* The members of an object or elements of an array, s->p just after its opening bracket. */
static int skip_container(struct scan *s, char close, int depth) {
  if (depth > MAX_DEPTH) return -1;
  if (take(s, close)) return 0;
  for (;;) {
    if (close == '}' && (scan_string(s, NULL, 0) == STR_BAD || !take(s, ':'))) return -1;
    if (skip_value(s, depth) < 0) return -1;
    if (take(s, close)) return 0;
    if (!take(s, ',')) return -1;
  }
}

/* Any value. Numbers and literals are only checked for their characters: what is skipped here is
 * not what is read, and the runtime parses the whole document properly. */
static int skip_value(struct scan *s, int depth) {
  skip_ws(s);
  if (s->p >= s->end) return -1;
  switch (*s->p) {
    case '"': return scan_string(s, NULL, 0) == STR_BAD ? -1 : 0;
    case '{': s->p++; return skip_container(s, '}', depth + 1);
    case '[': s->p++; return skip_container(s, ']', depth + 1);
    default: break;
  }
  const char *start = s->p;
  while (s->p < s->end && strchr("0123456789+-.eEtrufalsn", *s->p) != NULL && *s->p != '\0') s->p++;
  return s->p > start ? 0 : -1;
}

int json_scan_string(const char *text, size_t len, const char *const *keys, size_t nkeys, char *out,
                     size_t cap) {
  struct scan s = {text, text + len};
  if (cap == 0) return -1;
  for (size_t i = 0; i < nkeys; i++) {
    if (!take(&s, '{')) return -1;
    if (take(&s, '}')) return -1;
    for (;;) {
      char key[256];
      int k = scan_string(&s, key, sizeof key);
      if (k == STR_BAD || !take(&s, ':')) return -1;
      if (k == STR_OK && strcmp(key, keys[i]) == 0) break;
      if (skip_value(&s, 1) < 0) return -1;
      if (take(&s, '}')) return -1;
      if (!take(&s, ',')) return -1;
    }
  }
  return scan_string(&s, out, cap) == STR_OK ? 0 : -1;
}
