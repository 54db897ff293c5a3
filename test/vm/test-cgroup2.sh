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
# list), SHOAL_VM_REPORT_DIR (copy the jest JSON reports there: canary-*.json, suite-*.json),
# SHOAL_VM_CPUS, SHOAL_VM_MEMORY.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The selection: file -> name regex ("" = every test of the file). A file listed with a regex keeps
# it even when a bare glob matches it too.
declare -A pattern_of=()
files=()
select_file() {
  local f=$1 regex=$2
  [[ -f "$f" ]] || return 0
  if [[ -z "${pattern_of[$f]+set}" ]]; then
    files+=("$f")
    pattern_of[$f]=$regex
  elif [[ -n "$regex" ]]; then
    pattern_of[$f]=$regex
  fi
}
if [[ -n "${SHOAL_VM_FILES:-}" ]]; then
  for f in $SHOAL_VM_FILES; do select_file "$f" ""; done
else
  while IFS= read -r line; do
    glob=${line%% -t *}
    regex=""
    [[ "$line" == *" -t "* ]] && regex=${line#* -t }
    for f in $glob; do select_file "$f" "$regex"; done
  done < <(sed 's/#.*//; s/[[:space:]]*$//' test/vm/cgroup2-tests.txt | grep -v '^$')
fi
echo "cgroup2 VM: ${#files[@]} test files:"
for f in "${files[@]}"; do echo "  $f${pattern_of[$f]:+ (tests matching /${pattern_of[$f]}/)}"; done

# Each run's reports, console log and statuses stay in a directory of its own (runs may overlap),
# `runs/last` pointing at the newest, for a look after a failure; the five newest are kept.
runs=${SHOAL_VM_CACHE:-$PWD/.cache/vm}/runs
mkdir -p "$runs"
out=$(mktemp -d "$runs/run.XXXXXX")
chmod 0755 "$out"
[[ -L "$runs/last" || ! -e "$runs/last" ]] || rm -rf "$runs/last"
ln -sfn "$(basename "$out")" "$runs/last"
ls -dt "$runs"/run.* | tail -n +6 | xargs -r rm -rf
# Freeze the built artifacts the tests run (see guest/suite.sh): on a shared checkout another build
# may be halfway through (dist/ is removed and rewritten by tsc), so wait for a complete one.
for _ in $(seq 60); do
  [[ -f dist/main.js && -x bin/shoal-runtime && -f bin/libshoal.so ]] && break
  sleep 2
done
for f in "${files[@]}"; do printf '%s\t%s\n' "$f" "${pattern_of[$f]}"; done >"$out/selection"
mkdir -p "$out/frozen"
cp -a bin dist "$out/frozen/"

set +e
test/vm/run.sh --timeout "${SHOAL_VM_TIMEOUT:-540}" --out "$out" -- bash test/vm/guest/suite.sh "/vm-results/selection"
vm_rc=$?
set -e

# One line for jest runs: "<passed> passed, <failed> failed" from their JSON reports.
summary() {
  local reports=()
  for r in "$@"; do [[ -s "$out/$r.json" ]] && reports+=("$out/$r.json"); done
  ((${#reports[@]})) || { echo "no report"; return; }
  node -e '
    let passed = 0, failed = 0, skipped = 0;
    const failedFiles = [];
    for (const file of process.argv.slice(1)) {
      const r = require(file);
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests;
      failedFiles.push(...r.testResults.filter((t) => t.status === "failed").map((t) => t.name.replace(process.cwd() + "/", "")));
    }
    console.log(`${passed} passed, ${failed} failed, ${skipped} not selected` +
      (failedFiles.length ? ` (failing: ${failedFiles.join(" ")})` : ""));
  ' "${reports[@]}"
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
# The broken run must fail, and because of the broken write: its report must carry the kernel's
# answer to the wrong name (ENOENT) next to pids.max, as the core reported it.
if [[ "$(status_of canary-broken)" == 0 || "$(status_of canary-broken)" == missing ]] ||
  ! grep -Eq 'pids\.max[^"]*(No such file or directory|ENOENT)' "$out/canary-broken.json" 2>/dev/null; then
  echo "cgroup2 VM: FAIL a broken pids.max write went unnoticed: the harness cannot be trusted"
  ok=0
fi
echo "cgroup2 VM: suite: $(summary suite-all suite-named)"
for run in suite-all suite-named; do
  if [[ "$(status_of $run)" != 0 ]]; then
    echo "cgroup2 VM: FAIL the cgroup suite ($run) failed on cgroup v2 (status $(status_of $run))"
    ok=0
  fi
done
if [[ -n "${SHOAL_VM_REPORT_DIR:-}" ]]; then
  mkdir -p "$SHOAL_VM_REPORT_DIR" && cp "$out"/*.json "$SHOAL_VM_REPORT_DIR/" 2>/dev/null || true
fi
if ((ok)); then
  echo "cgroup2 VM: PASS"
  exit 0
fi
exit 1
