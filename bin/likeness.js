#!/usr/bin/env node
'use strict';
// The CLI ships compiled in dist/; running from a source checkout without a build falls back to swc on the fly.
const path = require('path');
const fs = require('fs');
const dist = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (fs.existsSync(dist)) {
  require(dist).main(process.argv.slice(2));
} else {
  require('@swc-node/register');
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).main(process.argv.slice(2));
}
