"""Helpers shared by the model conversion scripts in this folder (run as scripts: their folder is on sys.path)."""
import hashlib


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
