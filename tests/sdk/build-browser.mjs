// Bundles the real browser SDKs from node_modules into dist/ (no CDN): dist/segment.js, dist/rudder.js.
// Used by BrowserSdkTests before it opens the storefront page in Chromium.
import { build } from 'esbuild';

for (const name of ['segment', 'rudder']) {
  await build({
    entryPoints: [new URL(`./browser/${name}-entry.mjs`, import.meta.url).pathname],
    outfile: new URL(`./dist/${name}.js`, import.meta.url).pathname,
    bundle: true, format: 'iife', platform: 'browser', target: 'es2020', logLevel: 'error',
  });
}
console.log(JSON.stringify({ built: ['dist/segment.js', 'dist/rudder.js'] }));
