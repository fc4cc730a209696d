// Runs the hashing bench built by scripts/bench-hash.sh: the check first, then medians of 3.
import { readFileSync } from 'node:fs';

const [file, mib = '256'] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
const { check, scalar, lanes4 } = instance.exports;
if (check() !== 1) throw new Error('the 4-lane SHA-256 differs from sha2 in wasm');
const median = (f) => {
  const times = [0, 1, 2].map(() => { const t = performance.now(); f(Number(mib)); return performance.now() - t; });
  return times.sort((a, b) => a - b)[1];
};
scalar(4); lanes4(4);
const rate = (ms) => `${(Number(mib) / ms * 1000).toFixed(0)} MiB/s`;
console.log(`check: every lane equals sha2`);
console.log(`sha2 (one stream):            ${rate(median(scalar))}`);
console.log(`Sha256x4 (four streams, sum): ${rate(median(lanes4))}`);
