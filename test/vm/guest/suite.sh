#!/bin/bash
# Runs inside the cgroup2 VM (test/vm/test-cgroup2.sh boots it through test/vm/run.sh), in the
# repository, on the guest's cgroup2-only /sys/fs/cgroup. Four jest runs, each leaving its JSON
# report and exit status in /vm-results for the host to judge:
#   canary-ok      the self-check as is: must pass
#   canary-broken  the self-check with the core's pids.max write sent to a wrong file name: must fail
#   suite-all      the selected test files that run whole: must pass
#   suite-named    the selected test files of which only the tests whose names match run: must pass
# $1 is the selection (written by test-cgroup2.sh): "<file>\t<name regex>" per line.
set -u
out=/vm-results
shim=${SHOAL_VM_CACHE:-$PWD/.cache/vm}/break_cgroup_file.so
scale=${SHOAL_VM_TIMEOUT_SCALE:-10}
export SHOAL_VM_TIMEOUT_SCALE=$scale FORCE_COLOR=0
jest=(node_modules/.bin/jest --ci --maxWorkers=2 --testTimeout=$((120000 * scale))
  --setupFilesAfterEnv "$PWD/test/vm/guest/scale_timeouts.ts")
[[ -d /vm-jest-cache ]] && jest+=(--cacheDirectory=/vm-jest-cache)
canary=(--testMatch '**/test/vm/canary/*.vmtest.ts')
# The suite: the project's tests plus the VM-only ones of test/vm/cgroup2/.
suite=(--testMatch '**/test/**/*.test.ts' '**/test/vm/cgroup2/*.vmtest.ts')

# The guest sees the host's files live: a rebuild on the host during the run (rm -rf dist, a
# relinked binary) would pull the floor from under the tests. Use the copy of the built artifacts
# the host froze into the results share before boot (test-cgroup2.sh), else freeze them now.
for built in bin dist; do
  [[ -d $built ]] || continue
  source=$built
  [[ -d /vm-results/frozen/$built ]] && source=/vm-results/frozen/$built
  # Copied into the guest's tmpfs: the results share is uncached, every read would go to the host.
  mkdir -p "/run/vm-frozen/$built"
  cp -a "$source/." "/run/vm-frozen/$built/" && mount --bind "/run/vm-frozen/$built" "$built"
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
# The selection file: "<test file>\t<name regex or empty>" per line. Files without a regex run
# whole in one jest run; the others share a second run whose name pattern is the union of theirs.
whole=() named=() regexes=()
while IFS=$'\t' read -r file regex; do
  [[ -n "$file" ]] || continue
  if [[ -z "$regex" ]]; then
    whole+=("$file")
  else
    named+=("$file")
    regexes+=("$regex")
  fi
done <"${1:-/dev/null}"
if ((${#whole[@]})); then
  phase suite-all "${jest[@]}" "${suite[@]}" --runTestsByPath "${whole[@]}"
else
  echo 0 >"$out/suite-all.status"
fi
if ((${#named[@]})); then
  union=$(IFS='|'; echo "${regexes[*]}")
  phase suite-named "${jest[@]}" "${suite[@]}" --testNamePattern "$union" --runTestsByPath "${named[@]}"
else
  echo 0 >"$out/suite-named.status"
fi
