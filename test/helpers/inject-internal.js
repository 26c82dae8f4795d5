// Preloaded into a `likeness` process (node -r) by tests that need an unexpected, non-LikenessError failure on one
// input: the first fstat of a file whose path contains LIKENESS_TEST_INJECT_INTERNAL throws a plain TypeError, as a
// bug in the scanner would. Nothing in src/ knows about it.
'use strict';
const fs = require('fs');
const marker = process.env.LIKENESS_TEST_INJECT_INTERNAL;
if (marker) {
  const marked = new Set();
  const openSync = fs.openSync;
  fs.openSync = function (p, ...rest) {
    const fd = openSync.call(this, p, ...rest);
    if (typeof p === 'string' && p.includes(marker)) marked.add(fd);
    return fd;
  };
  const fstatSync = fs.fstatSync;
  fs.fstatSync = function (fd, ...rest) {
    if (marked.delete(fd)) throw new TypeError(`injected failure reading fd ${fd}`);
    return fstatSync.call(this, fd, ...rest);
  };
}
