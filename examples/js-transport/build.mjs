// Builds jsstream.wasm from plugin.js against the contract in wit/ (`aish plugin wit wit`).
import { writeFile } from 'node:fs/promises';
import { componentize } from '@bytecodealliance/componentize-js';

const { component } = await componentize({
  sourcePath: 'plugin.js',
  witPath: 'wit',
  worldName: 'transport-plugin',
  // aish gives plugins no wasi:http (fetch): the network is reached through its own `http`
  // import, so a component asking for wasi:http would not load.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile('jsstream.wasm', component);
