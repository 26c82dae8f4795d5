#!/usr/bin/env python3
"""Rewrites every PRelu node of the face models as Max(x, 0) + slope * Min(x, 0), which is the same function.

onnxruntime 1.30 (the onnxruntime-node the library runs on) computes PRelu with per-channel slopes several times
slower than 1.20 did: on one core the int8 embedder spent 5.4 of its 8.9 ms in its 33 PRelu nodes, FaceMesh about
half its time in its 28. Four elementwise nodes give the same values (for x >= 0: x + slope * 0 = x; for x < 0:
0 + slope * x; both exact in float32) and run at the speed of the other elementwise nodes.

Run last, after the scripts that make these files (flush_denormals.py, quantize_embedder.py,
convert_face_tfjs.py); each input is checked against the sha256 those scripts produce (a file that already has the
output's sha256 is left alone). The check: onnxruntime outputs of the rewritten model equal the input model's on 32
inputs (uniform noise over the input range), largest absolute difference 0.

Environment: the quantisation venv (requirements-quant.txt):
    /work/venvs/quant/bin/python scripts/models/rewrite_prelu.py
"""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from common import session, sha256  # noqa: E402  (one copy for every conversion script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = [
    {"path": "models/faceplugin/fr_feature.onnx", "in": "8bf0f473a4556ddfd3ea6aba774bbe5e0bd76c113ef8409629873985a0b67d9f", "shape": [1, 3, 112, 112], "range": (-1.0, 1.0)},
    {"path": "models/faceplugin/fr_feature-int8.onnx", "in": "f7272179d28daa3ab2e7898d4794bfca3483898f3110a88de99e1ed7d7e91800", "shape": [1, 3, 112, 112], "range": (-1.0, 1.0)},
    {"path": "models/mediapipe-facemesh/facemesh.onnx", "in": "4dee7b6de8b02f7ae6a49d3e96d31a1017b9f00e74c3ae822b7f49c5712080e3", "shape": [1, 3, 192, 192], "range": (0.0, 1.0)},
]
REPORT = os.path.join(ROOT, "scripts", "models", "reports", "prelu-rewrite.json")
ZERO = "prelu_rewrite_zero"




def rewrite(model):
    g = model.graph
    g.initializer.append(numpy_helper.from_array(np.zeros((), dtype=np.float32), ZERO))
    nodes, count = [], 0
    for n in g.node:
        if n.op_type != "PRelu":
            nodes.append(n)
            continue
        x, slope = n.input
        y = n.output[0]
        b = (n.name or y) + "_prelu"
        nodes += [
            helper.make_node("Max", [x, ZERO], [b + "_pos"], name=b + "_max"),
            helper.make_node("Min", [x, ZERO], [b + "_neg"], name=b + "_min"),
            helper.make_node("Mul", [b + "_neg", slope], [b + "_scaled"], name=b + "_mul"),
            helper.make_node("Add", [b + "_pos", b + "_scaled"], [y], name=b + "_add"),
        ]
        count += 1
    del g.node[:]
    g.node.extend(nodes)
    # Shapes are re-inferred by the runtime; stale value_info for the removed outputs would only confuse checkers.
    del g.value_info[:]
    # Max/Min with a scalar need opset >= 8 (numpy broadcasting); every model here is opset 9 or newer.
    onnx.checker.check_model(model)
    return count


def main():
    report = {"tools": {"onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__}, "models": []}
    if os.path.exists(REPORT):
        with open(REPORT) as f:
            done = {m["path"]: m for m in json.load(f)["models"]}
    else:
        done = {}
    rng = np.random.default_rng(20261202)
    with tempfile.TemporaryDirectory() as work:
        for spec in MODELS:
            path = os.path.join(ROOT, spec["path"])
            got = sha256(path)
            prev = done.get(spec["path"])
            if prev and prev["output"]["sha256"] == got:
                report["models"].append(prev)
                print(f"{spec['path']}: already rewritten")
                continue
            if got != spec["in"]:
                sys.exit(f"{spec['path']}: sha256 {got}, expected {spec['in']} (run the script that makes it first)")
            model = onnx.load(path)
            count = rewrite(model)
            tmp = os.path.join(work, os.path.basename(path))
            onnx.save(model, tmp)
            a, b = session(path), session(tmp)
            name = a.get_inputs()[0].name
            lo, hi = spec["range"]
            max_diff = 0.0
            for _ in range(32):
                x = rng.uniform(lo, hi, size=spec["shape"]).astype(np.float32)
                for oa, ob in zip(a.run(None, {name: x}), b.run(None, {name: x})):
                    max_diff = max(max_diff, float(np.abs(oa.astype(np.float64) - ob.astype(np.float64)).max()))
            if max_diff != 0.0:
                sys.exit(f"{spec['path']}: rewritten outputs differ by {max_diff}")
            with open(tmp, "rb") as f, open(path + ".tmp", "wb") as g:
                g.write(f.read())
            os.replace(path + ".tmp", path)
            entry = {"path": spec["path"], "input": {"sha256": spec["in"]}, "preluRewritten": count, "check": {"inputs": 32, "maxAbsDiff": max_diff}, "output": {"bytes": os.path.getsize(path), "sha256": sha256(path)}}
            report["models"].append(entry)
            print(f"{spec['path']}: {count} PRelu -> Max/Min/Mul/Add, max |diff| {max_diff}, sha256 {entry['output']['sha256']}")
    with open(REPORT, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
