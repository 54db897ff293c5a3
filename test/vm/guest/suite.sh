#!/bin/bash
# Runs inside the cgroup2 VM (test/vm/test-cgroup2.sh boots it through test/vm/run.sh), in the
# repository, on the guest's cgroup2-only /sys/fs/cgroup. Three jest runs, each leaving its JSON
# report and exit status in /vm-results for the host to judge:
#   canary-ok      the self-check as is: must pass
#   canary-broken  the self-check with the core's pids.max write sent to a wrong file name: must fail
#   suite          the cgroup test files given as arguments: must pass
set -u
out=/vm-results
shim=${SHOAL_VM_CACHE:-$PWD/.cache/vm}/break_cgroup_file.so
scale=${SHOAL_VM_TIMEOUT_SCALE:-10}
export SHOAL_VM_TIMEOUT_SCALE=$scale FORCE_COLOR=0
jest=(node_modules/.bin/jest --ci --maxWorkers=2 --testTimeout=$((120000 * scale))
  --setupFilesAfterEnv "$PWD/test/vm/guest/scale_timeouts.ts")
[[ -d /vm-jest-cache ]] && jest+=(--cacheDirectory=/vm-jest-cache)
canary=(--testMatch '**/test/vm/canary/*.vmtest.ts')

# The guest sees the host's files live: a rebuild on the host during the run (rm -rf dist, a
# relinked binary) would pull the floor from under the tests. Freeze the built artifacts first.
for built in bin dist; do
  [[ -d $built ]] || continue
  mkdir -p "/run/vm-frozen/$built"
  cp -a "$built/." "/run/vm-frozen/$built/" && mount --bind "/run/vm-frozen/$built" "$built"
done

phase() {
  local name=$1; shift
  echo "=== vm: $name"
  # Through a pipe: on the serial console jest would redraw its progress lines as on a terminal.
  "$@" --json --outputFile="$out/$name.json" 2>&1 | cat
  local rc=${PIPESTATUS[0]}
  echo "$rc" >"$out/$name.status"
  echo "=== vm: $name exited with $rc"
}

phase canary-ok "${jest[@]}" "${canary[@]}"
SHOAL_VM_BREAK_CGROUP_FILE=pids.max LD_PRELOAD="$shim" phase canary-broken "${jest[@]}" "${canary[@]}"
if (($# > 0)); then
  phase suite "${jest[@]}" --runTestsByPath "$@"
else
  echo "=== vm: no cgroup test files selected"
  echo 0 >"$out/suite.status"
fi
