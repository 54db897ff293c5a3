#!/bin/sh
# Installed as bin/shoald: runs the compiled daemon with the Node found on PATH.
#
# V8's heap is kept small by how it grows rather than by memory-reducing collections.
# --max-semi-space-size=1: the young generation stays at 2 × 1 MiB. By default V8 grows it to
#   2 × 16 MiB while the daemon allocates quickly (a burst of pod starts), and that stays resident.
#   At 2 MiB, ListContainers measured 1.27–1.41× containerd against 1.06–1.07× (bench/cri.ts).
# --heap-growing-percent=20: after a full collection the old generation may grow to 1.2× what was
#   live before the next one, so the heap stays close to the daemon's live data (about 17 MB).
# --no-memory-reducer: no extra full collections when the daemon turns idle.
# These replace --optimize-for-size (with --initial-old-space-size=64), used until 2026-12. Under it
# every full collection ran in V8's "reduce memory" mode, which discards optimized code whose
# embedded objects it frees: V8 traced 90–95 functions of the gRPC and HTTP/2 call path deoptimized
# in one such collection, and calls 50 ms apart, as kubelet's come, did not make them hot again
# (Node's http2 `respond` was not optimized again in the 800 calls traced after it). bench/cri.ts
# on this 2-CPU VM, these flags against the old ones: Version calls 50 ms apart 1.30–1.42×
# containerd against 1.46–1.60×, the daemon's CPU per such call 1.24–1.52× containerd's against
# 1.45–2.06×; ListContainers within the same noise
# (0.87–1.28× against 1.08–1.23×); RSS at 50 pods after a full run 97–99 MiB against 119 MiB.
# A 200 MB pull (bench/image_pull.ts, in-process, run with each set of flags) took 1011–1090
# against 780–1068 ms p50, the same within its spread.
# --enable-source-maps stays (≈4 MiB): errors in the log then name the TypeScript source lines.
here=$(dirname "$(readlink -f "$0")")
exec node --enable-source-maps --max-semi-space-size=1 --heap-growing-percent=20 --no-memory-reducer "$here/../dist/main.js" "$@"
