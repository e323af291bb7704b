// Builds {{name}}.wasm from plugin.js against the contract in wit/.
import { writeFile } from 'node:fs/promises';
import { componentize } from '@bytecodealliance/componentize-js';

const { component } = await componentize({
  sourcePath: 'plugin.js',
  witPath: 'wit',
  worldName: 'stage-plugin',
  // aish gives plugins no wasi:http (and no incoming requests); a component asking for it
  // would not load.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile('{{name}}.wasm', component);
