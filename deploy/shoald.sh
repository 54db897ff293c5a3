#!/bin/sh
# Installed as bin/shoald: runs the compiled daemon with the Node found on PATH.
#
# --optimize-for-size: V8 favours memory over speed. Its largest effect is on the young generation:
# by default V8 grows each of its two semi-spaces to 16 MiB while the daemon allocates quickly
# (a burst of pod starts), and that 32 MiB stays resident until an idle period shrinks it; the flag
# caps a semi-space at 1 MiB and also grows the old generation more conservatively. Measured with
# bench/cri.ts (daemon VmRSS at 50 pods after the timed workloads, 4 runs each, load average
# 9-13): 81-83 MiB with the flag against 86-131 MiB without (the young generation's state at that
# moment decides), idle 70-71 against 80-81 MiB. --max-semi-space-size=1 alone caps only the young
# generation: more objects are promoted and the old generation grew instead (99-130 MiB). Cost: the
# per-call floor of small RPCs rose by 0.02-0.05 ms (a few percent, interleaved A/B); the timed CRI
# workloads showed no change above the noise of the loaded machine (bench/README.md, cri.ts).
# Measured again on a quiet machine as the daemon's CPU time per Version call (12 000 calls): 0.23-0.32
# ms with the flag, 0.13-0.15 ms without; without it the daemon's RSS at 50 pods after a full cri.ts
# run was 134 MiB instead of 98 (and --max-semi-space-size=8 alone did not bring it down). Memory
# per pod is the aim here; a node that favours call latency over memory can drop the flag.
# --initial-old-space-size=64: an image pull streams hundreds of MB through short-lived buffers and
# stream objects; with the old generation starting small, V8 ran 15-29 mark-compacts per 200 MB
# pull (about a quarter of its CPU). Starting it at 64 MiB leaves room for a pull's garbage.
# Measured on an idle 2-core VM (bench/image_pull.ts, same invocation as containerd): the 200 MB
# pull 0.81-0.94x containerd without it, 0.72x with it; daemon VmRSS at 50 pods 82 MiB (bench/cri.ts),
# the same as without. 128 MiB was faster still (0.70x) but let the daemon reach 124 MiB at 50 pods.
# --enable-source-maps stays (≈4 MiB): errors in the log then name the TypeScript source lines.
here=$(dirname "$(readlink -f "$0")")
exec node --enable-source-maps --optimize-for-size --initial-old-space-size=64 "$here/../dist/main.js" "$@"
