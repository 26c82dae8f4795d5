// N-API surface of the native kernels. The TS wrapper (index.ts) validates arguments and allocates the outputs; the
// checks here only keep a wrong call from reading or writing out of bounds. Every kernel can run synchronously (tiny
// inputs) or on the libuv pool through an AsyncWorker that resolves a Promise, keeping the JS thread free.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels.h"

namespace {

template <typename T>
napi_typedarray_type kindOf();
template <> napi_typedarray_type kindOf<float>() { return napi_float32_array; }
template <> napi_typedarray_type kindOf<double>() { return napi_float64_array; }
template <> napi_typedarray_type kindOf<int32_t>() { return napi_int32_array; }
template <> napi_typedarray_type kindOf<int8_t>() { return napi_int8_array; }
template <> napi_typedarray_type kindOf<uint8_t>() { return napi_uint8_array; }
template <> napi_typedarray_type kindOf<uint32_t>() { return napi_uint32_array; }

template <typename T>
Napi::TypedArrayOf<T> arr(const Napi::CallbackInfo& info, size_t i, const char* what, size_t minLen = 0) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a typed array");
  const napi_typedarray_type kind = v.As<Napi::TypedArray>().TypedArrayType();
  // A Uint8Array and a Buffer (or a Uint8ClampedArray) hold the same bytes.
  const bool ok = kind == kindOf<T>() || (kindOf<T>() == napi_uint8_array && kind == napi_uint8_clamped_array);
  if (!ok) throw Napi::TypeError::New(info.Env(), std::string(what) + " has the wrong element type");
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  if (a.ElementLength() < minLen) throw Napi::RangeError::New(info.Env(), std::string(what) + " is too short");
  return a;
}

double numArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool boolArg(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

/** Runs `work` on the libuv pool and settles a Promise; references keep the typed arrays alive meanwhile. */
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, std::function<void()> work, const std::vector<Napi::Value>& keep)
      : Napi::AsyncWorker(env, "likeness_native"), work_(std::move(work)), deferred_(Napi::Promise::Deferred::New(env)) {
    for (const Napi::Value& v : keep) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::function<void()> work_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

Napi::Value run(const Napi::CallbackInfo& info, bool async, std::function<void()> work, std::vector<Napi::Value> keep) {
  if (!async) {
    work();
    return info.Env().Undefined();
  }
  Job* job = new Job(info.Env(), std::move(work), keep);
  Napi::Promise p = job->promise();
  job->Queue();
  return p;
}

// fbank(samples, window, melStart, melLen, melOffset, melWeights, params, out, async, threads)
Napi::Value Fbank(const Napi::CallbackInfo& info) {
  auto samples = arr<float>(info, 0, "samples");
  auto params = arr<double>(info, 6, "params", 10);
  lk::FbankArgs a{};
  a.windowSize = static_cast<int32_t>(params[0]);
  a.windowShift = static_cast<int32_t>(params[1]);
  a.paddedSize = static_cast<int32_t>(params[2]);
  a.bins = static_cast<int32_t>(params[3]);
  a.scale = params[4];
  a.preemph = params[5];
  a.removeDc = params[6] != 0;
  a.snipEdges = params[7] != 0;
  a.usePower = params[8] != 0;
  a.frames = static_cast<int64_t>(params[9]);
  if (a.windowSize < 2 || a.windowShift < 1 || a.paddedSize < 4 || a.paddedSize < a.windowSize || (a.paddedSize & (a.paddedSize - 1)) != 0 ||
      a.bins < 1 || a.frames < 0 || (a.frames > 0 && samples.ElementLength() == 0))
    throw Napi::RangeError::New(info.Env(), "fbank: inconsistent plan");
  auto window = arr<double>(info, 1, "window", a.windowSize);
  auto melStart = arr<int32_t>(info, 2, "melStart", a.bins);
  auto melLen = arr<int32_t>(info, 3, "melLen", a.bins);
  auto melOffset = arr<int32_t>(info, 4, "melOffset", a.bins);
  auto melWeights = arr<double>(info, 5, "melWeights");
  auto out = arr<float>(info, 7, "out", static_cast<size_t>(a.frames * a.bins));
  for (int32_t b = 0; b < a.bins; b++) {
    if (melStart[b] < 0 || melLen[b] < 0 || melStart[b] + melLen[b] > a.paddedSize / 2 + 1 || melOffset[b] < 0 ||
        static_cast<size_t>(melOffset[b]) + melLen[b] > melWeights.ElementLength())
      throw Napi::RangeError::New(info.Env(), "fbank: mel table out of range");
  }
  a.samples = samples.Data();
  a.numSamples = static_cast<int64_t>(samples.ElementLength());
  a.window = window.Data();
  a.melStart = melStart.Data();
  a.melLen = melLen.Data();
  a.melOffset = melOffset.Data();
  a.melWeights = melWeights.Data();
  a.out = out.Data();
  const int threads = info[9].IsNumber() ? info[9].As<Napi::Number>().Int32Value() : 1;
  return run(info, boolArg(info, 8), [a, threads] { lk::fbank(a, threads); }, {samples, window, melStart, melLen, melOffset, melWeights, out});
}

// crops(image, width, height, inverse, [outW, outH, validW, validH, pad, mean, std, round?], flip, out, async, threads)
Napi::Value Crops(const Napi::CallbackInfo& info) {
  lk::CropArgs a{};
  a.width = static_cast<int32_t>(numArg(info, 1, "width"));
  a.height = static_cast<int32_t>(numArg(info, 2, "height"));
  auto geometry = arr<double>(info, 4, "geometry", 7);
  const double outW = geometry[0], outH = geometry[1], validW = geometry[2], validH = geometry[3];
  const bool sizesOk = outW >= 1 && outH >= 1 && outW <= 16384 && outH <= 16384 && validW >= 0 && validH >= 0 && validW <= outW && validH <= outH;
  if (a.width < 1 || a.height < 1 || !sizesOk) throw Napi::RangeError::New(info.Env(), "crops: bad sizes");
  a.outW = static_cast<int32_t>(outW);
  a.outH = static_cast<int32_t>(outH);
  a.validW = static_cast<int32_t>(validW);
  a.validH = static_cast<int32_t>(validH);
  a.pad = geometry[4];
  a.mean = geometry[5];
  a.stdev = geometry[6];
  a.round = geometry.ElementLength() < 8 || geometry[7] != 0;
  a.flip = boolArg(info, 5);
  auto image = arr<uint8_t>(info, 0, "image", static_cast<size_t>(a.width) * a.height * 3);
  auto inverse = arr<double>(info, 3, "inverse");
  a.faces = static_cast<int32_t>(inverse.ElementLength() / 6);
  auto out = arr<float>(info, 6, "out", static_cast<size_t>(a.faces) * 3 * a.outW * a.outH);
  for (size_t i = 0; i < inverse.ElementLength(); i++)
    if (!std::isfinite(inverse[i])) throw Napi::RangeError::New(info.Env(), "crops: transform is not finite");
  a.image = image.Data();
  a.inverse = inverse.Data();
  a.out = out.Data();
  const int threads = info[8].IsNumber() ? info[8].As<Napi::Number>().Int32Value() : 1;
  return run(info, boolArg(info, 7), [a, threads] { lk::crops(a, threads); }, {image, inverse, geometry, out});
}

// detect(scores, boxes, params[minScore, detW, detH, scale, rx, ry, iou, minSize, limit]) -> Float64Array rows of 5
Napi::Value Detect(const Napi::CallbackInfo& info) {
  auto scores = arr<float>(info, 0, "scores");
  auto params = arr<double>(info, 2, "params", 9);
  lk::DetectArgs a{};
  a.n = static_cast<int64_t>(scores.ElementLength() / 2);
  auto boxes = arr<float>(info, 1, "boxes", static_cast<size_t>(a.n) * 4);
  a.scores = scores.Data();
  a.boxes = boxes.Data();
  a.minScore = params[0];
  a.detW = params[1];
  a.detH = params[2];
  a.scale = params[3];
  a.rx = params[4];
  a.ry = params[5];
  a.iou = params[6];
  a.minSize = params[7];
  a.limit = params[8] > 9e15 ? INT64_MAX : static_cast<int64_t>(params[8]);
  double* rows = nullptr;
  int64_t count = 0;
  lk::detect(a, &rows, &count);
  std::unique_ptr<double[]> owned(rows);
  Napi::Float64Array res = Napi::Float64Array::New(info.Env(), static_cast<size_t>(count) * 5);
  if (count > 0) std::memcpy(res.Data(), rows, static_cast<size_t>(count) * 5 * sizeof(double));
  return res;
}

// blazeface(logits, regressors, anchors, params[size, minScore, iou, limit]) -> Float64Array rows of 6
Napi::Value BlazeFace(const Napi::CallbackInfo& info) {
  auto logits = arr<float>(info, 0, "logits");
  auto params = arr<double>(info, 3, "params", 4);
  lk::BlazeFaceArgs a{};
  a.n = static_cast<int64_t>(logits.ElementLength());
  auto regressors = arr<float>(info, 1, "regressors", static_cast<size_t>(a.n) * 16);
  auto anchors = arr<float>(info, 2, "anchors", static_cast<size_t>(a.n) * 2);
  a.logits = logits.Data();
  a.regressors = regressors.Data();
  a.anchors = anchors.Data();
  a.size = params[0];
  a.minScore = params[1];
  a.iou = params[2];
  a.limit = params[3] > 9e15 ? INT64_MAX : static_cast<int64_t>(params[3]);
  if (!(a.size > 0)) throw Napi::RangeError::New(info.Env(), "blazeface: bad input size");
  std::vector<double> rows;
  lk::blazeface(a, rows);
  Napi::Float64Array res = Napi::Float64Array::New(info.Env(), rows.size());
  if (!rows.empty()) std::memcpy(res.Data(), rows.data(), rows.size() * sizeof(double));
  return res;
}

// meshCrops(image, width, height, params[7 per crop], size, divisor, out, async)
Napi::Value MeshCrops(const Napi::CallbackInfo& info) {
  lk::MeshCropArgs a{};
  a.width = static_cast<int32_t>(numArg(info, 1, "width"));
  a.height = static_cast<int32_t>(numArg(info, 2, "height"));
  a.size = static_cast<int32_t>(numArg(info, 4, "size"));
  a.divisor = static_cast<float>(numArg(info, 5, "divisor"));
  if (a.width < 1 || a.height < 1 || a.size < 2 || a.size > 4096 || !(a.divisor != 0)) throw Napi::RangeError::New(info.Env(), "meshCrops: bad sizes");
  auto image = arr<uint8_t>(info, 0, "image", static_cast<size_t>(a.width) * a.height * 3);
  auto params = arr<double>(info, 3, "params");
  a.crops = static_cast<int32_t>(params.ElementLength() / 7);
  for (size_t i = 0; i < params.ElementLength(); i++)
    if (!std::isfinite(params[i])) throw Napi::RangeError::New(info.Env(), "meshCrops: parameters are not finite");
  auto out = arr<float>(info, 6, "out", static_cast<size_t>(a.crops) * 3 * a.size * a.size);
  a.image = image.Data();
  a.params = params.Data();
  a.out = out.Data();
  return run(info, boolArg(info, 7), [a] { lk::meshCrops(a); }, {image, params, out});
}

// searchF32(gallery, dim, queries, k, outIndices, outScores, async)
Napi::Value SearchF32(const Napi::CallbackInfo& info) {
  auto gallery = arr<float>(info, 0, "gallery");
  const int32_t dim = static_cast<int32_t>(numArg(info, 1, "dim"));
  auto queries = arr<float>(info, 2, "queries");
  const int32_t k = static_cast<int32_t>(numArg(info, 3, "k"));
  if (dim < 1 || k < 0) throw Napi::RangeError::New(info.Env(), "search: bad dim or k");
  lk::SearchF32Args a{gallery.Data(), static_cast<int64_t>(gallery.ElementLength() / dim), dim, queries.Data(),
                      static_cast<int32_t>(queries.ElementLength() / dim)};
  auto idx = arr<int32_t>(info, 4, "indices", static_cast<size_t>(a.numQueries) * k);
  auto sc = arr<float>(info, 5, "scores", static_cast<size_t>(a.numQueries) * k);
  lk::TopKOut o{idx.Data(), sc.Data(), k};
  return run(info, boolArg(info, 6), [a, o] { lk::searchF32(a, o); }, {gallery, queries, idx, sc});
}

// quantizeRows(vectors, dim, outQ, outScale, async)
Napi::Value QuantizeRows(const Napi::CallbackInfo& info) {
  auto v = arr<float>(info, 0, "vectors");
  const int32_t dim = static_cast<int32_t>(numArg(info, 1, "dim"));
  if (dim < 1) throw Napi::RangeError::New(info.Env(), "quantize: bad dim");
  const int64_t rows = static_cast<int64_t>(v.ElementLength() / dim);
  auto q = arr<int8_t>(info, 2, "out", static_cast<size_t>(rows) * dim);
  auto s = arr<float>(info, 3, "scales", static_cast<size_t>(rows));
  const float* vp = v.Data();
  int8_t* qp = q.Data();
  float* sp = s.Data();
  return run(info, boolArg(info, 4), [=] { lk::quantizeRows(vp, rows, dim, qp, sp); }, {v, q, s});
}

// searchI8(gallery, scales, dim, queries, k, outIndices, outScores, async)
Napi::Value SearchI8(const Napi::CallbackInfo& info) {
  auto gallery = arr<int8_t>(info, 0, "gallery");
  const int32_t dim = static_cast<int32_t>(numArg(info, 2, "dim"));
  if (dim < 1) throw Napi::RangeError::New(info.Env(), "search: bad dim");
  const int64_t rows = static_cast<int64_t>(gallery.ElementLength() / dim);
  auto scales = arr<float>(info, 1, "scales", static_cast<size_t>(rows));
  auto queries = arr<float>(info, 3, "queries");
  const int32_t k = static_cast<int32_t>(numArg(info, 4, "k"));
  const int32_t nq = static_cast<int32_t>(queries.ElementLength() / dim);
  if (k < 0) throw Napi::RangeError::New(info.Env(), "search: bad k");
  auto idx = arr<int32_t>(info, 5, "indices", static_cast<size_t>(nq) * k);
  auto sc = arr<float>(info, 6, "scores", static_cast<size_t>(nq) * k);
  const int8_t* gp = gallery.Data();
  const float* sp = scales.Data();
  const float* qp = queries.Data();
  lk::TopKOut o{idx.Data(), sc.Data(), k};
  auto work = [=] {
    std::vector<int16_t> q16(static_cast<size_t>(nq) * dim);
    std::vector<double> qs(nq);
    lk::quantizeQueries(qp, nq, dim, q16.data(), qs.data());
    lk::SearchI8Args a{gp, sp, rows, dim, q16.data(), qs.data(), nq};
    lk::searchI8(a, o);
  };
  return run(info, boolArg(info, 7), work, {gallery, scales, queries, idx, sc});
}

// resample(input, taps, phases, numTaps, half, up, down, out, async)
Napi::Value Resample(const Napi::CallbackInfo& info) {
  auto in = arr<float>(info, 0, "input");
  auto taps = arr<double>(info, 1, "taps");
  lk::ResampleArgs a{};
  a.phases = static_cast<int32_t>(numArg(info, 2, "phases"));
  a.numTaps = static_cast<int32_t>(numArg(info, 3, "numTaps"));
  a.half = static_cast<int32_t>(numArg(info, 4, "half"));
  a.up = static_cast<int64_t>(numArg(info, 5, "up"));
  a.down = static_cast<int64_t>(numArg(info, 6, "down"));
  auto out = arr<float>(info, 7, "out");
  if (a.phases < 1 || a.numTaps < 1 || a.up < 1 || a.down < 1 || a.phases > a.up ||
      taps.ElementLength() < static_cast<size_t>(a.phases) * a.numTaps)
    throw Napi::RangeError::New(info.Env(), "resample: inconsistent plan");
  a.in = in.Data();
  a.inLen = static_cast<int64_t>(in.ElementLength());
  a.taps = taps.Data();
  a.out = out.Data();
  a.outLen = static_cast<int64_t>(out.ElementLength());
  return run(info, boolArg(info, 8), [a] { lk::resample(a); }, {in, taps, out});
}

// i420ToRgb(src, width, height, tables, out, async)
Napi::Value I420ToRgb(const Napi::CallbackInfo& info) {
  lk::I420Args a{};
  a.width = static_cast<int32_t>(numArg(info, 1, "width"));
  a.height = static_cast<int32_t>(numArg(info, 2, "height"));
  if (a.width < 2 || a.height < 2 || (a.width & 1) || (a.height & 1) || a.width > 65536 || a.height > 65536)
    throw Napi::RangeError::New(info.Env(), "i420ToRgb: width and height must be even and positive");
  const size_t px = static_cast<size_t>(a.width) * a.height;
  auto src = arr<uint8_t>(info, 0, "frame", px * 3 / 2);
  auto tables = arr<int32_t>(info, 3, "tables", 5 * 256);
  auto out = arr<uint8_t>(info, 4, "out", px * 3);
  a.src = src.Data();
  a.tables = tables.Data();
  a.out = out.Data();
  return run(info, boolArg(info, 5), [a] { lk::i420ToRgb(a); }, {src, tables, out});
}

// probePostings(filter, filterMask, offsets, shift, keys, entry, frame, probes, count, cap, out) -> total hits.
// Synchronous: one call per looked-up segment, well under a millisecond.
Napi::Value ProbePostings(const Napi::CallbackInfo& info) {
  auto filter = arr<uint32_t>(info, 0, "filter");
  const double mask = numArg(info, 1, "filterMask");
  auto offsets = arr<uint32_t>(info, 2, "offsets");
  const double shift = numArg(info, 3, "shift");
  auto keys = arr<uint32_t>(info, 4, "keys");
  auto entry = arr<uint32_t>(info, 5, "entry", keys.ElementLength());
  auto frame = arr<uint32_t>(info, 6, "frame", keys.ElementLength());
  auto probes = arr<uint32_t>(info, 7, "probes");
  const double count = numArg(info, 8, "count");
  const double cap = numArg(info, 9, "cap");
  auto out = arr<uint32_t>(info, 10, "out");
  const bool hasFilter = filter.ElementLength() > 0;
  if (!(shift >= 1 && shift <= 31) || !(count >= 0 && count <= static_cast<double>(probes.ElementLength())) || !(cap >= 0 && cap <= 4294967295.0) ||
      offsets.ElementLength() != (static_cast<size_t>(1) << (32 - static_cast<int>(shift))) + 1 ||
      keys.ElementLength() > 4294967295u ||
      (hasFilter && (!(mask >= 31 && mask <= 4294967295.0) || static_cast<double>(filter.ElementLength()) * 32 != mask + 1)))
    throw Napi::RangeError::New(info.Env(), "probePostings: inconsistent table");
  lk::PostingsArgs a{hasFilter ? filter.Data() : nullptr, static_cast<uint32_t>(mask), offsets.Data(), static_cast<uint32_t>(shift),
                     keys.Data(), entry.Data(), frame.Data(), static_cast<uint32_t>(keys.ElementLength()), probes.Data(),
                     static_cast<uint32_t>(count), static_cast<uint32_t>(cap)};
  return Napi::Number::New(info.Env(), static_cast<double>(lk::probePostings(a, out.Data(), static_cast<int64_t>(out.ElementLength() / 3))));
}

Napi::Value Simd(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), lk::hasAvx2Fma() ? "avx2+fma" : "portable");
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("fbank", Napi::Function::New(env, Fbank));
  exports.Set("crops", Napi::Function::New(env, Crops));
  exports.Set("detect", Napi::Function::New(env, Detect));
  exports.Set("blazeface", Napi::Function::New(env, BlazeFace));
  exports.Set("meshCrops", Napi::Function::New(env, MeshCrops));
  exports.Set("searchF32", Napi::Function::New(env, SearchF32));
  exports.Set("quantizeRows", Napi::Function::New(env, QuantizeRows));
  exports.Set("searchI8", Napi::Function::New(env, SearchI8));
  exports.Set("resample", Napi::Function::New(env, Resample));
  exports.Set("i420ToRgb", Napi::Function::New(env, I420ToRgb));
  exports.Set("probePostings", Napi::Function::New(env, ProbePostings));
  exports.Set("simd", Napi::Function::New(env, Simd));
  return exports;
}

}  // namespace

NODE_API_MODULE(likeness_native, Init)
