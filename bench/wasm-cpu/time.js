// Times the hit path compiled to wasm: node time.js <pkg dir> <token>
const pkg = require(require("path").resolve(process.argv[2], "tollgate_wasm_cpu.js"));
const auth = "Bearer " + process.argv[3];
const entry = pkg.sample_entry();
if (pkg.hit_path(auth, entry, 1) === 0) throw new Error("the hit path refused its input");
pkg.hit_path(auth, entry, 20000); // warm up: compiled by the tiers
const runs = [];
for (let r = 0; r < 5; r++) {
  const n = 50000;
  const t0 = process.hrtime.bigint();
  pkg.hit_path(auth, entry, n);
  runs.push(Number(process.hrtime.bigint() - t0) / n);
}
runs.sort((a, b) => a - b);
console.log(runs[2].toFixed(0));
