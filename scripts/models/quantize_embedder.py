#!/usr/bin/env python3
"""Quantises the faceplugin 512-d embedder (faceplugin-mfn512) to int8: models/faceplugin/fr_feature-int8.onnx.

Static QDQ quantisation with onnxruntime's own tooling: int8 weights per output channel, uint8 activations per
tensor, ranges from the 99.99th percentile of each tensor over calibration inputs. The 1x1 and full convolutions
and the residual adds are quantised; the depthwise convolutions, the first convolution and the last two (the 7x7
global depthwise and the 512-d projection) stay float32, where int8 cost the most accuracy for the least time
(benchmarks/RESULTS.md). On this machine's AVX-512 VNNI cores the model runs about 3x faster than float32.

Calibration inputs: scripts/models/face-calibration-crops.ts (run by this script) records the exact embedder inputs
(aligned crops and mirrors, small faces blurred) of every face in the photos shipped inside npm packages
(@vladmandic/face-api demo photos, @vladmandic/human assets) and degraded copies of them made there. Nothing from
../shared/eval is used. Every other input goes to the numerical check: the cosine between the float32 and the int8
embedding of each held-out view (mean, 1st percentile and minimum are reported; the script fails below
MIN_MEAN_COSINE).

What it writes: models/faceplugin/fr_feature-int8.onnx and scripts/models/reports/faceplugin-int8.json (sha256 of
the float32 input, of the calibration inputs and of the output, the tools' versions, the check, CPU ms per run).

Environment: a venv outside the repository with requirements-quant.txt (onnx 1.17.0, onnxruntime 1.20.1, numpy
1.26.4); Node and the repository's dev dependencies for the calibration crops:
    python3.11 -m venv /work/venvs/quant && /work/venvs/quant/bin/pip install -r scripts/models/requirements-quant.txt
    /work/venvs/quant/bin/python scripts/models/quantize_embedder.py
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import shape_inference
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from common import session, sha256  # noqa: E402  (one copy for every conversion script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = "models/faceplugin/fr_feature.onnx"
SOURCE_SHA256 = "8bf0f473a4556ddfd3ea6aba774bbe5e0bd76c113ef8409629873985a0b67d9f"
OUT = "models/faceplugin/fr_feature-int8.onnx"
# QDQ with per-channel weights needs opset 13; the float32 model's ops (Conv, PRelu, Add, Reshape) mean the same in 9 and 13.
OPSET = 13
PERCENTILE = 99.999
# One calibration view in CALIB_EVERY; the others are the held-out check.
CALIB_EVERY = 4
MIN_MEAN_COSINE = 0.985




class Views(CalibrationDataReader):
    def __init__(self, views):
        self.it = iter([{"input": v[None]} for v in views])

    def get_next(self):
        return next(self.it, None)


def embed(sess, views):
    out = np.concatenate([sess.run(None, {"input": v[None]})[0] for v in views])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def cpu_ms_per_run(sess, x):
    for _ in range(3):
        sess.run(None, {"input": x})
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for _ in range(10):
            sess.run(None, {"input": x})
        best = min(best, (time.process_time() - t) / 10)
    return round(best * 1000, 2)


def excluded_nodes(model):
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    depthwise = [n.name for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
    return sorted(set(depthwise + [convs[0].name, convs[-2].name, convs[-1].name]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", default=os.path.join(ROOT, "scripts", "models", "reports", "faceplugin-int8.json"))
    args = ap.parse_args()
    src = os.path.join(ROOT, SOURCE)
    got = sha256(src)
    if got != SOURCE_SHA256:
        sys.exit(f"{SOURCE}: sha256 {got}, expected {SOURCE_SHA256} (run scripts/models/flush_denormals.py first)")
    with tempfile.TemporaryDirectory() as work:
        crops = os.path.join(work, "crops.f32")
        subprocess.run(["node", "-r", "@swc-node/register", os.path.join(ROOT, "scripts", "models", "face-calibration-crops.ts"), crops], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        with open(crops[: -len(".f32")] + ".json") as f:
            index = json.load(f)
        views = np.fromfile(crops, dtype=np.float32).reshape(-1, 3, 112, 112)
        if views.shape[0] != index["views"] or sha256(crops) != index["sha256"]:
            sys.exit("calibration crops do not match their index")
        calib = views[::CALIB_EVERY]
        held = np.delete(views, np.arange(0, len(views), CALIB_EVERY), axis=0)

        m = onnx.load(src)
        m.opset_import[0].version = OPSET
        onnx.checker.check_model(m)
        f13 = os.path.join(work, "fp32-opset13.onnx")
        onnx.save(m, f13)
        pre = os.path.join(work, "pre.onnx")
        quant_pre_process(f13, pre)
        excluded = excluded_nodes(shape_inference.infer_shapes(onnx.load(pre)))
        out = os.path.join(work, "int8.onnx")
        quantize_static(
            pre,
            out,
            Views(calib),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": PERCENTILE},
            nodes_to_exclude=excluded,
            op_types_to_quantize=["Conv", "Add"],
        )
        q = onnx.load(out)
        q.metadata_props.add(key="source", value=f"{SOURCE} sha256 {SOURCE_SHA256}")
        q.metadata_props.add(key="quantization", value=f"onnxruntime {ort.__version__} quantize_static QDQ, per-channel int8 weights, uint8 activations, percentile {PERCENTILE}")
        onnx.save(q, out)

        fp, iq = session(src), session(out)
        cos = (embed(fp, held) * embed(iq, held)).sum(axis=1)
        check = {"heldOutViews": int(len(held)), "calibrationViews": int(len(calib)), "cosineMean": round(float(cos.mean()), 5), "cosineP1": round(float(np.percentile(cos, 1)), 5), "cosineMin": round(float(cos.min()), 5)}
        if check["cosineMean"] < MIN_MEAN_COSINE:
            sys.exit(f"int8 embeddings too far from float32: {check}")
        timing = {"float32CpuMsPerRun": cpu_ms_per_run(fp, views[:1]), "int8CpuMsPerRun": cpu_ms_per_run(iq, views[:1])}
        dst = os.path.join(ROOT, OUT)
        with open(out, "rb") as f, open(dst + ".tmp", "wb") as g:
            g.write(f.read())
        os.replace(dst + ".tmp", dst)
    report = {
        "tools": {"onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__},
        "source": {"path": SOURCE, "sha256": SOURCE_SHA256},
        "calibration": {"script": "scripts/models/face-calibration-crops.ts", "views": index["views"], "sha256": index["sha256"], "photos": index["photos"], "facesPerVariant": index["facesPerVariant"], "every": CALIB_EVERY, "percentile": PERCENTILE},
        "excludedNodes": excluded,
        "check": check,
        "timing": timing,
        "output": {"path": OUT, "bytes": os.path.getsize(dst), "sha256": sha256(dst)},
    }
    os.makedirs(os.path.dirname(args.report), exist_ok=True)
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(json.dumps({"check": check, "timing": timing, "sha256": report["output"]["sha256"]}))


if __name__ == "__main__":
    main()
