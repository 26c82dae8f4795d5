/** @type {import('jest').Config} */
module.exports = {
  // onnxruntime-node returns tensors built with the main realm's typed arrays; share them with every test realm.
  testEnvironment: '<rootDir>/test/helpers/ort-environment.js',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // A watchdog against real hangs, not a speed check: the suite must pass with both cores busy (stress-ng --cpu 2).
  testTimeout: 600000,
  // tfjs-wasm and onnxruntime keep worker handles alive after the last test; nothing is pending by then.
  forceExit: true,
};
