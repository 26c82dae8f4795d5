import { onnx } from 'onnx-proto';

/** What the generated model looks like: the input layout of sherpa-onnx's general (WeSpeaker/3D-Speaker) or NeMo exports. */
export interface TinySpeakerModelSpec {
  /** 'general': input `feats` [N,T,80] -> `embs`. 'nemo': `audio_signal` [N,80,T] + `length` [N] -> `logits`, `embs`. */
  flavour: 'general' | 'nemo';
  dim: number;
  /** Row-major [80, dim] projection. */
  weights: Float32Array;
  /** metadata_props to write, as sherpa-onnx's export scripts do. */
  metadata: Record<string, string>;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * A tiny speaker "model" with the same interface as the sherpa-onnx exports: mean over time of x*x + x, then a
 * fixed linear projection to `dim` values. Its output can be recomputed exactly in a test, which proves that the
 * adapter feeds the right layout and features and reads the right output.
 */
export function tinySpeakerModel(spec: TinySpeakerModelSpec): Uint8Array {
  const F = onnx.TensorProto.DataType.FLOAT;
  const nemo = spec.flavour === 'nemo';
  const input = nemo ? 'audio_signal' : 'feats';
  const nodes: onnx.INodeProto[] = [
    // x*x + x: the second moment and the mean both reach the output, so any feature normalisation shows in it.
    { opType: 'Mul', input: [input, input], output: ['sq'] },
    { opType: 'Add', input: ['sq', input], output: ['moments'] },
    {
      opType: 'ReduceMean',
      input: ['moments'],
      output: ['pooled'],
      attribute: [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [nemo ? 2 : 1] }, { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
    },
    { opType: 'MatMul', input: ['pooled', 'W'], output: ['embs'] },
  ];
  const inputs = [valueInfo(input, F, nemo ? ['N', 80, 'T'] : ['N', 'T', 80])];
  const outputs = [valueInfo('embs', F, ['N', spec.dim])];
  if (nemo) {
    // NeMo exports take the frame count as a second input and emit logits before the embedding.
    inputs.push(valueInfo('length', onnx.TensorProto.DataType.INT64, ['N']));
    nodes.push({ opType: 'ReduceSum', input: ['embs'], output: ['logits'], attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] });
    outputs.unshift(valueInfo('logits', F, ['N', 1]));
  }
  const model: onnx.IModelProto = {
    irVersion: 7,
    producerName: 'likeness-guard tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny_speaker',
      node: nodes,
      input: inputs,
      output: outputs,
      initializer: [
        {
          name: 'W',
          dataType: F,
          dims: [80, spec.dim],
          rawData: new Uint8Array(spec.weights.buffer, spec.weights.byteOffset, spec.weights.byteLength),
        },
      ],
    },
    metadataProps: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(model).finish();
}
