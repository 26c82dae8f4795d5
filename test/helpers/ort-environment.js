// Jest runs each test file in its own realm, but onnxruntime-node's native binding creates output tensors with the
// main realm's typed arrays, and onnxruntime-common's Tensor rejects them (instanceof fails across realms).
// jest.config.js makes this the environment of every test file: it shares the main realm's typed-array
// constructors with the test realm.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
  'ArrayBuffer',
];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
