// The kernels' public face in one place: each entry runs the native addon when it loaded and its TS twin otherwise.
export { nativeAvailable, nativeInfo, type NativeInfo, type NativeOptions } from './addon';
export { computeFbank, fbank, fbankFrameCount, fbankTables, applyCmn, type Fbank, type FbankOptions, type FbankTables } from './fbank';
export {
  cropFacesNchw,
  letterboxNchw,
  meshCropsNchw,
  cropInverses,
  cropsToNchwTs,
  letterboxToNchwTs,
  meshCropsToNchwTs,
  type CropOptions,
  type LetterboxOptions,
  type MeshCrop,
} from './image';
export {
  postprocessDetections,
  postprocessDetectionsTs,
  blazeFaceAnchors,
  decodeBlazeFace,
  decodeBlazeFaceTs,
  type BlazeFaceBox,
  type BlazeFaceParams,
  type DetectionParams,
  type ScoredBox,
} from './detect';
export {
  searchTopK,
  searchTopKInt8,
  quantizeGallery,
  quantizeRowsTs,
  quantizeQueriesTs,
  queryQuantMax,
  topK,
  topKGroups,
  topKInt8Ts,
  insertTop,
  type QuantizedGallery,
  type TopK,
} from './search';
export { resampleAudio, resamplePlan, resampledLength, resampleTs, type ResamplePlan } from './resample';
export { normalise } from './vector';
