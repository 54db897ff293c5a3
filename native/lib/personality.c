/* linux.personality → personality(2). The spec defines the LINUX and LINUX32 domains and no flags. */
#include <errno.h>
#include <string.h>
#include <sys/personality.h>

#include "procattr.h"

int personality_parse(json_t *p, struct proc_attrs *a, struct sh_err *e) {
  if (!p || json_is_null(p)) return 0;
  if (!json_is_object(p)) return sh_errf(e, "linux.personality: must be an object");
  const char *domain = json_string_value(json_object_get(p, "domain"));
  if (!domain) return sh_errf(e, "linux.personality.domain: required (LINUX or LINUX32)");
  if (!strcmp(domain, "LINUX")) a->persona = PER_LINUX;
  else if (!strcmp(domain, "LINUX32")) a->persona = PER_LINUX32;
  else return sh_errf(e, "linux.personality.domain: unknown domain %s (LINUX or LINUX32)", domain);
  json_t *flags = json_object_get(p, "flags");
  if (flags && !json_is_array(flags)) return sh_errf(e, "linux.personality.flags: must be an array");
  if (json_array_size(flags) > 0) {
    const char *f = json_string_value(json_array_get(flags, 0));
    return sh_errf(e, "linux.personality.flags: %s: the runtime spec defines no personality flags", f ? f : "(not a string)");
  }
  a->has_personality = 1;
  return 0;
}

int personality_apply(const struct proc_attrs *a, struct sh_err *e) {
  if (!a->has_personality) return 0;
  if (personality(a->persona) < 0) return sh_errno(e, errno, "linux.personality: personality(0x%lx)", a->persona);
  return 0;
}
