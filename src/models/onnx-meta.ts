import * as fs from 'fs';
import { onnx } from 'onnx-proto';
import * as protobuf from 'protobufjs/minimal';
import { LikenessError } from '../errors';

/** ModelProto field number of `metadata_props` (onnx.proto3: `repeated StringStringEntryProto metadata_props = 14`). */
const METADATA_PROPS_FIELD = 14;

/**
 * Reads the `metadata_props` key/value pairs of an ONNX model (what sherpa-onnx's export scripts write: `framework`,
 * `sample_rate`, `output_dim`, `normalize_samples`, `feature_normalize_type`, ...).
 *
 * onnxruntime-node does not expose custom metadata, so the file is parsed with onnx-proto's protobuf reader. Only
 * top-level field 14 is decoded; the graph and its weights are skipped without being materialised.
 */
export function readOnnxMetadata(fileOrBytes: string | Uint8Array): Record<string, string> {
  const bytes = typeof fileOrBytes === 'string' ? readModelBytes(fileOrBytes) : fileOrBytes;
  const where = typeof fileOrBytes === 'string' ? fileOrBytes : 'ONNX bytes';
  const out: Record<string, string> = {};
  try {
    const reader = protobuf.Reader.create(bytes);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === METADATA_PROPS_FIELD && wire === 2) {
        const entry = onnx.StringStringEntryProto.decode(reader, reader.uint32());
        if (entry.key) out[entry.key] = entry.value ?? '';
      } else {
        reader.skipType(wire);
      }
    }
  } catch (e) {
    throw new LikenessError('E_MODEL', `${where} is not a readable ONNX model: ${(e as Error).message}`, {
      file: where,
    });
  }
  return out;
}

function readModelBytes(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new LikenessError('E_MODEL', `cannot read ONNX model ${file}: ${(e as Error).message}`, { file });
  }
}
