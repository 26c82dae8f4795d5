#!/usr/bin/python3
"""Makes the fbank golden vectors in test/fixtures/fbank/ with torchaudio.compliance.kaldi.fbank.

Run from the repository root with Debian's python (apt-get install -y python3-torchaudio espeak-ng ffmpeg):
    /usr/bin/python3 scripts/make-fbank-goldens.py

Inputs are made here: espeak-ng speech converted by ffmpeg to 16 kHz int16 and float WAV, and to 8, 44.1 and 48 kHz.
Features are computed on the signal the library itself decodes (scripts/dump-decoded-audio.ts writes it as float32),
so for the resampled inputs the test compares features, not two resamplers. Outputs: the source WAVs, the decoded
signals of the resampled ones (*.decoded.f32), goldens as float32 LE (*.fbank.f32) and goldens.json describing them.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "fbank")
SECONDS = "2.0"

# name, espeak voice, text, ffmpeg output args
INPUTS = [
    ("speech16k-int16", "en-us+m3", "Consent comes first, always.", ["-ar", "16000", "-c:a", "pcm_s16le"]),
    ("speech16k-float", "en+f4", "Every voice belongs to someone.", ["-ar", "16000", "-c:a", "pcm_f32le", "-af", "volume=0.8"]),
    ("speech8k", "en-us", "Telephone quality speech sample.", ["-ar", "8000", "-c:a", "pcm_s16le"]),
    ("speech44k", "en-us+f3", "A recording at forty four kilohertz.", ["-ar", "44100", "-c:a", "pcm_s16le"]),
    ("speech48k", "en+m2", "Studio audio at forty eight kilohertz.", ["-ar", "48000", "-c:a", "pcm_s16le"]),
]

# name, input, options for the TS side (FbankOptions), kwargs for torchaudio
DEFAULT_TS = {}
DEFAULT_TA = dict(num_mel_bins=80, frame_length=25.0, frame_shift=10.0, dither=0.0, energy_floor=0.0,
                  window_type="povey", preemphasis_coefficient=0.97, remove_dc_offset=True, snip_edges=True,
                  use_energy=False, sample_frequency=16000.0, low_freq=20.0, high_freq=0.0)
GOLDENS = [(name, name, DEFAULT_TS, DEFAULT_TA) for name, *_ in INPUTS] + [
    ("speech16k-int16-hamming64", "speech16k-int16", {"window": "hamming", "numBins": 64},
     dict(DEFAULT_TA, window_type="hamming", num_mel_bins=64)),
    ("speech16k-int16-hanning-noedges", "speech16k-int16",
     {"window": "hanning", "snipEdges": False, "preemphasis": 0.0, "lowFreq": 40, "highFreq": -400},
     dict(DEFAULT_TA, window_type="hanning", snip_edges=False, preemphasis_coefficient=0.0, low_freq=40.0,
          high_freq=-400.0)),
    ("speech8k-rectangular-nodc", "speech8k", {"window": "rectangular", "removeDcOffset": False},
     dict(DEFAULT_TA, window_type="rectangular", remove_dc_offset=False)),
]


def run(cmd):
    subprocess.run(cmd, check=True, cwd=ROOT)


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        dump_args = []
        for name, voice, text, args in INPUTS:
            raw = os.path.join(tmp, name + ".espeak.wav")
            run(["espeak-ng", "-v", voice, "-w", raw, text])
            wav = os.path.join(OUT, name + ".wav")
            run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", raw, "-t", SECONDS, "-ac", "1",
                 *args, "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", wav])
            dump_args += [wav, os.path.join(tmp, name + ".f32")]
        run(["node", "-r", "@swc-node/register", "scripts/dump-decoded-audio.ts", *dump_args])
        signals = {}
        for name, *_ in INPUTS:
            signals[name] = np.fromfile(os.path.join(tmp, name + ".f32"), dtype="<f4")
            if not name.startswith("speech16k"):
                signals[name].astype("<f4").tofile(os.path.join(OUT, name + ".decoded.f32"))

    manifest = {"torchaudio": torchaudio.__version__, "torch": torch.__version__, "scale": 32768, "goldens": []}
    for name, src, ts_opts, ta_opts in GOLDENS:
        # float64: torchaudio's float32 arithmetic leaves rounding noise of up to ~0.2 in bins whose energy is
        # ~1e-9 of the frame's loudest (FFT error is relative to the largest bin); the same code in float64 is the
        # exact Kaldi math, which the TS reference computes. The float32 gap is recorded for the record.
        wave = torch.from_numpy(signals[src].astype(np.float64)).unsqueeze(0) * 32768.0
        feats64 = kaldi.fbank(wave, **ta_opts).numpy()
        feats32 = kaldi.fbank(wave.float(), **ta_opts).numpy()
        feats = feats64.astype("<f4")
        feats.tofile(os.path.join(OUT, name + ".fbank.f32"))
        manifest["goldens"].append({
            "name": name,
            "input": src + ".wav",
            "signal": None if src.startswith("speech16k") else src + ".decoded.f32",
            "options": ts_opts,
            "frames": int(feats.shape[0]),
            "bins": int(feats.shape[1]),
            "file": name + ".fbank.f32",
            "torchFloat32MaxAbsDiff": float(np.abs(feats32.astype(np.float64) - feats64).max()),
        })
        print(f"{name}: {feats.shape[0]} frames x {feats.shape[1]} bins; torchaudio float32 vs float64 max abs diff "
              f"{np.abs(feats32.astype(np.float64) - feats64).max():.3g}", file=sys.stderr)
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
