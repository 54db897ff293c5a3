#!/bin/bash
# `make test-cgroup2`: the cgroup test files, run for real on cgroup v2 inside a cgroup2-only VM
# (this host is cgroup v1). Builds the VM pieces once (test/vm/build.sh), boots the VM once
# (test/vm/run.sh) and runs test/vm/guest/suite.sh there, then judges what came back:
#   - the self-check passes as is, and FAILS when the core's pids.max write is sent to a wrong file
#     name (otherwise the harness could be hiding failures),
#   - every selected test file (test/vm/cgroup2-tests.txt) passes.
# Exit status 0 only when all three hold. Needs `make build` first (the Makefile target does it).
#
# Environment: SHOAL_VM_TIMEOUT (s, whole VM run, default 540), SHOAL_VM_TIMEOUT_SCALE (jest
# timeouts in the guest, default 10), SHOAL_VM_FILES (space-separated test files instead of the
# list), SHOAL_VM_JSON (copy the suite's jest JSON report there), SHOAL_VM_CPUS, SHOAL_VM_MEMORY.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -n "${SHOAL_VM_FILES:-}" ]]; then
  read -ra files <<<"$SHOAL_VM_FILES"
else
  # Globs, one per line, from the repository root; a glob with no match selects nothing (the
  # list names files other parts of the project add over time).
  files=()
  while read -r pattern; do
    [[ -z "$pattern" ]] && continue
    for f in $pattern; do [[ -f "$f" ]] && files+=("$f"); done
  done < <(sed 's/#.*//; s/[[:space:]]*$//' test/vm/cgroup2-tests.txt)
fi
echo "cgroup2 VM: ${#files[@]} test files: ${files[*]:-none}"

# Each run's reports, console log and statuses stay in a directory of its own (runs may overlap),
# `runs/last` pointing at the newest, for a look after a failure; the five newest are kept.
runs=${SHOAL_VM_CACHE:-$PWD/.cache/vm}/runs
mkdir -p "$runs"
out=$(mktemp -d "$runs/run.XXXXXX")
chmod 0755 "$out"
[[ -L "$runs/last" || ! -e "$runs/last" ]] || rm -rf "$runs/last"
ln -sfn "$(basename "$out")" "$runs/last"
ls -dt "$runs"/run.* | tail -n +6 | xargs -r rm -rf
set +e
test/vm/run.sh --timeout "${SHOAL_VM_TIMEOUT:-540}" --out "$out" -- bash test/vm/guest/suite.sh "${files[@]}"
vm_rc=$?
set -e

# One line per jest run: "<passed> passed, <failed> failed" from its JSON report.
summary() {
  [[ -s "$out/$1.json" ]] || { echo "no report"; return; }
  node -e '
    const r = require(process.argv[1]);
    const failedFiles = r.testResults.filter((t) => t.status !== "passed").map((t) => t.name);
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` +
      (failedFiles.length ? ` (failing: ${failedFiles.join(" ")})` : ""));
  ' "$out/$1.json"
}
status_of() { cat "$out/$1.status" 2>/dev/null || echo missing; }

ok=1
echo "cgroup2 VM: guest exit $vm_rc"
echo "cgroup2 VM: self-check as is: $(summary canary-ok)"
if [[ "$(status_of canary-ok)" != 0 ]]; then
  echo "cgroup2 VM: FAIL the self-check failed without any fault injected (status $(status_of canary-ok))"
  ok=0
fi
echo "cgroup2 VM: self-check with pids.max broken: $(summary canary-broken)"
# The broken run must fail, and because of the broken write: its report must name pids.max.
if [[ "$(status_of canary-broken)" == 0 || "$(status_of canary-broken)" == missing ]] ||
  ! grep -q 'pids\.max' "$out/canary-broken.json" 2>/dev/null; then
  echo "cgroup2 VM: FAIL a broken pids.max write went unnoticed: the harness cannot be trusted"
  ok=0
fi
echo "cgroup2 VM: suite: $(summary suite)"
if [[ "$(status_of suite)" != 0 ]]; then
  echo "cgroup2 VM: FAIL the cgroup suite failed on cgroup v2 (status $(status_of suite))"
  ok=0
fi
[[ -n "${SHOAL_VM_JSON:-}" && -s "$out/suite.json" ]] && cp "$out/suite.json" "$SHOAL_VM_JSON"
if ((ok)); then
  echo "cgroup2 VM: PASS"
  exit 0
fi
exit 1
