#!/usr/bin/env python3
"""Converts the face detector and landmark models that exist only as TFJS graph models to ONNX.

The models are the ones the `accurate` preset has run through @vladmandic/human: MediaPipe BlazeFace (back-camera
variant, 256x256) and MediaPipe FaceMesh (192x192, 468 points), Apache-2.0, as converted to TFJS by vladmandic and
shipped in @vladmandic/human@3.3.6 models/. Converting these exact files (rather than the .tflite files of the
`mediapipe` wheel, which are other releases of the models) keeps every result of the pipeline where it was.

Run from the repository root after `npm ci` (the TFJS files are read from node_modules):
    python3.11 -m venv /work/venvs/face && /work/venvs/face/bin/pip install -r scripts/models/requirements-face.txt
    /work/venvs/face/bin/python scripts/models/convert_face_tfjs.py
then check the result against the TFJS originals (no Python needed):
    node -r @swc-node/register scripts/models/check-face-onnx.ts

What the conversion does, and nothing else:
- verifies the TFJS files against their sha256 in models/manifest.json (entries human-blazeface, human-facemesh);
- adds the `TArgs` attribute that TensorFlow >= 2.13 requires on `_FusedConv2D` nodes (the TFJS converter of the
  time did not write it; its value is implied by `num_args` and `T`, so the graph's meaning does not change);
- runs tf2onnx (pinned in requirements-face.txt) with the input transposed to NCHW (what the native letterbox and
  crop kernels write) and stable input/output names; float16-stored FaceMesh weights are widened to float32 exactly
  as tfjs widens them at load time;
- stamps the source and the converter versions into the ONNX metadata, and prints sha256 of every input and output.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from common import sha256  # noqa: E402  (one copy for every conversion script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HUMAN_PACKAGE = "@vladmandic/human"
HUMAN_VERSION = "3.3.6"
OPSET = 17

# manifest id of the TFJS source -> conversion settings
MODELS = [
    {
        "source_id": "human-blazeface",
        "id": "mediapipe-blazeface-back",
        "out": "models/mediapipe-blazeface-back/blazeface-back.onnx",
        "tfjs_input": "input:0",
        "input": "input",
        # TFJS output -> ONNX name. Rows: 512 anchors of the 16x16 grid (2 per cell), 384 of the 8x8 grid (6 per cell).
        "outputs": {"Identity:0": "scores_512", "Identity_1:0": "scores_384", "Identity_2:0": "boxes_512", "Identity_3:0": "boxes_384"},
    },
    {
        "source_id": "human-facemesh",
        "id": "mediapipe-facemesh",
        "out": "models/mediapipe-facemesh/facemesh.onnx",
        "tfjs_input": "input_1:0",
        "input": "input",
        "outputs": {"Identity_2:0": "mesh", "Identity_1:0": "faceflag", "Identity:0": "contours"},
    },
]




def manifest_entry(model_id):
    with open(os.path.join(ROOT, "models", "manifest.json")) as f:
        for e in json.load(f)["models"]:
            if e["id"] == model_id:
                return e
    sys.exit(f"models/manifest.json has no entry {model_id}")


def human_models_dir():
    pkg = os.path.join(ROOT, "node_modules", "@vladmandic", "human")
    with open(os.path.join(pkg, "package.json")) as f:
        version = json.load(f)["version"]
    if version != HUMAN_VERSION:
        sys.exit(f"{HUMAN_PACKAGE} is {version}; this conversion is pinned to {HUMAN_VERSION} (npm ci)")
    return os.path.join(pkg, "models")


def verified_sources(entry, src_dir):
    """[(name, path, sha256)] of the model.json and its weight shards, each checked against the manifest."""
    files = [(os.path.basename(entry["source"]["path"]), entry["sha256"])]
    files += [(x["path"], x["sha256"]) for x in entry.get("extraFiles", [])]
    out = []
    for name, want in files:
        path = os.path.join(src_dir, name)
        got = sha256(path)
        if got != want:
            sys.exit(f"{path}: sha256 {got} is not the manifest's {want}")
        out.append((name, path, got))
    return out


def add_fused_targs(model_json_path):
    """Adds TArgs to _Fused* nodes that lack it (TensorFlow >= 2.13 rejects them otherwise). Returns nodes changed."""
    with open(model_json_path) as f:
        model = json.load(f)
    changed = 0
    for node in model["modelTopology"]["node"]:
        if node["op"].startswith("_Fused") and "TArgs" not in node.get("attr", {}):
            n = int(node["attr"].get("num_args", {}).get("i", "0"))
            node["attr"]["TArgs"] = {"list": {"type": [node["attr"]["T"]["type"]] * n}}
            changed += 1
    with open(model_json_path, "w") as f:
        json.dump(model, f)
    return changed


def tool_versions():
    import onnx
    import tensorflow as tf
    import tf2onnx

    return {"tf2onnx": tf2onnx.__version__, "tensorflow": tf.__version__, "onnx": onnx.__version__}


def canonical_names(m):
    """Names every node, intermediate tensor and folded constant by its position in the graph's node order.

    tf2onnx numbers folded constants in an order that varies between runs, and its optimizer merges identical
    nodes (two MaxPools of one tensor) keeping either one's name, so the same input gave different bytes. With
    positional names (graph inputs and outputs keep theirs) one input always gives the same file.
    """
    keep = {v.name for v in m.graph.input} | {v.name for v in m.graph.output}
    init = {t.name: t for t in m.graph.initializer}
    rename = {}
    order = []
    for k, node in enumerate(m.graph.node):
        for name in node.input:
            if name in init and name not in rename:
                rename[name] = f"const_{len(order)}"
                order.append(name)
        node.name = f"{node.op_type}_{k}"
        for j, name in enumerate(node.output):
            if name not in keep:
                rename[name] = f"t{k}" if j == 0 else f"t{k}_{j}"
    for node in m.graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    tensors = [init[n] for n in order] + [t for n, t in init.items() if n not in rename]
    for t in tensors:
        t.name = rename.get(t.name, t.name)
    del m.graph.initializer[:]
    m.graph.initializer.extend(tensors)
    del m.graph.value_info[:]
    # The dynamic batch dimension gets a run-dependent "unk__N" name too.
    for v in list(m.graph.input) + list(m.graph.output):
        for d in v.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                d.dim_param = "batch"


def stamp_metadata(onnx_path, props):
    import onnx

    m = onnx.load(onnx_path)
    canonical_names(m)
    del m.metadata_props[:]
    for k, v in props.items():
        m.metadata_props.add(key=k, value=v)
    m.producer_name = "likeness-guard scripts/models/convert_face_tfjs.py"
    # tf2onnx writes the (temporary) source path here; the metadata names the source instead.
    m.graph.doc_string = ""
    onnx.checker.check_model(m)
    onnx.save(m, onnx_path)


def convert(spec, src_dir, work, versions):
    entry = manifest_entry(spec["source_id"])
    sources = verified_sources(entry, src_dir)
    patched_dir = os.path.join(work, spec["id"])
    os.makedirs(patched_dir)
    for name, path, _ in sources:
        shutil.copyfile(path, os.path.join(patched_dir, name))
    model_json = os.path.join(patched_dir, sources[0][0])
    changed = add_fused_targs(model_json)
    out = os.path.join(ROOT, spec["out"])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tf_outputs = list(spec["outputs"].keys())
    cmd = [
        sys.executable, "-m", "tf2onnx.convert",
        "--tfjs", model_json,
        "--output", out,
        "--opset", str(OPSET),
        "--inputs", spec["tfjs_input"],
        "--inputs-as-nchw", spec["tfjs_input"],
        "--outputs", ",".join(tf_outputs),
        "--rename-inputs", spec["input"],
        "--rename-outputs", ",".join(spec["outputs"][o] for o in tf_outputs),
    ]
    # Facemesh's signature names its outputs; --outputs must use graph tensor names, which both models accept.
    # tf2onnx names folded constants in set-iteration order: a fixed hash seed makes the output byte-identical.
    log = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if log.returncode != 0:
        sys.stderr.write(log.stdout + log.stderr)
        sys.exit(f"tf2onnx failed for {spec['id']}")
    stamp_metadata(out, {
        "source": f"{HUMAN_PACKAGE}@{HUMAN_VERSION} models/{sources[0][0]}",
        "source_sha256": ",".join(f"{n}:{h}" for n, _, h in sources),
        "converter": " ".join(f"{k}=={v}" for k, v in versions.items()) + f" opset={OPSET}",
        "layout": "input NCHW (transposed from the TFJS NHWC input by tf2onnx)",
        "license": "Apache-2.0 (Google MediaPipe); see LICENSE and NOTICE beside this file",
    })
    return {
        "id": spec["id"],
        "source": {"package": f"{HUMAN_PACKAGE}@{HUMAN_VERSION}", "files": {n: h for n, _, h in sources}},
        "fusedNodesGivenTArgs": changed,
        "output": {"path": spec["out"], "bytes": os.path.getsize(out), "sha256": sha256(out)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--report", default=os.path.join(ROOT, "scripts", "models", "reports", "face-convert.json"))
    args = ap.parse_args()
    src_dir = human_models_dir()
    versions = tool_versions()
    results = []
    with tempfile.TemporaryDirectory() as work:
        for spec in MODELS:
            results.append(convert(spec, src_dir, work, versions))
    report = {"converter": versions, "opset": OPSET, "models": results}
    os.makedirs(os.path.dirname(args.report), exist_ok=True)
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    for r in results:
        for name, h in r["source"]["files"].items():
            print(f"in   {h}  {r['source']['package']} models/{name}")
        print(f"out  {r['output']['sha256']}  {r['output']['path']} ({r['output']['bytes']} bytes)")
    print(f"report: {os.path.relpath(args.report, ROOT)}")


if __name__ == "__main__":
    main()
