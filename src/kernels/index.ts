/**
 * `likeness-guard/kernels`: the native kernels the pipelines run, for callers who build their own. Each one runs the
 * C++ addon when it loaded and its TypeScript twin otherwise (same results; `nativeInfo()` says which).
 * @packageDocumentation
 */
export { nativeAvailable, nativeInfo, type NativeInfo, type NativeOptions, type NativeSource } from './addon';
export { computeFbank, type Fbank, type FbankOptions, type FbankWindow } from './fbank';
export { cropFacesNchw, letterboxNchw, meshCropsNchw, type CropOptions, type LetterboxOptions, type MeshCrop } from './image';
export { postprocessDetections, decodeBlazeFace, type BlazeFaceBox, type BlazeFaceParams, type DetectionParams, type ScoredBox } from './detect';
export { searchTopK, searchTopKInt8, quantizeGallery, type QuantizedGallery, type TopK } from './search';
export { resampleAudio } from './resample';
