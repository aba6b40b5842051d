#!/usr/bin/env bash
# hack/fuzz/ws-seeds.sh — writes the seeds of fuzz_capture_ws: real HTTP
# responses (the fuzz_capture_http seeds, recorded from a kube-apiserver)
# framed as a kube-apiserver port-forward stream frames them for
# v4.channel.k8s.io: a binary message per channel carrying the port number
# (2 bytes little-endian) after the channel byte (0 data, 1 error), then
# data messages "\x00<bytes>", some fragmented into continuation frames,
# a PING between them, an error-channel message, and a CLOSE 1000.
# Run it again after changing those seeds; the output is deterministic.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/fuzz_capture_ws
mkdir -p "$out"
python3 - corpus/fuzz_capture_http "$out" <<'PY'
import os, struct, sys

src, out = sys.argv[1], sys.argv[2]

def frame(op, payload, fin=True):
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    if n < 126:
        hdr = bytes([b0, n])
    elif n < 65536:
        hdr = bytes([b0, 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, 127]) + struct.pack(">Q", n)
    return hdr + payload

def stream(body, piece, fragment):
    s = frame(2, b"\x00" + struct.pack("<H", 6060))
    s += frame(2, b"\x01" + struct.pack("<H", 6060))
    for i in range(0, len(body), piece):
        part = b"\x00" + body[i:i + piece]
        if fragment and len(part) > 8:
            h = len(part) // 2
            s += frame(2, part[:h], fin=False) + frame(9, b"hb") + frame(0, part[h:])
        else:
            s += frame(2, part)
    return s + frame(8, struct.pack(">H", 1000))

for name in sorted(os.listdir(src)):
    if name.startswith("regress-"):
        continue
    body = open(os.path.join(src, name), "rb").read()[:4096]
    base = os.path.splitext(name)[0]
    open(os.path.join(out, base + ".ws"), "wb").write(stream(body, 1024, False))
    open(os.path.join(out, base + "-fragmented.ws"), "wb").write(stream(body, 300, True))
# The error channel, as the kubelet reports a refused port.
err = frame(2, b"\x00" + struct.pack("<H", 6060)) + frame(2, b"\x01" + struct.pack("<H", 6060))
err += frame(2, b"\x01error forwarding port 6060 to pod 1234, uid : failed to execute portforward in network namespace: connection refused")
err += frame(8, struct.pack(">H", 1000))
open(os.path.join(out, "error-channel.ws"), "wb").write(err)
PY
