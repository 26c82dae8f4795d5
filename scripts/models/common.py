"""Helpers shared by the model conversion scripts in this folder (run as scripts: their folder is on sys.path)."""
import hashlib


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def session(path):
    """A CPU onnxruntime session on one thread (onnxruntime imported here: not every script that uses sha256 has it)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
