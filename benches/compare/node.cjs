// Node with Koffi on the operations of benches/compare (see README.md there).
// Usage: node node.cjs <libbench.so> <op|all> [ms]
// Prints one line per op: RESULT koffi <op> <ns per op, CPU> <ns per op, wall> <N>
'use strict';
const assert = require('node:assert');
const koffi = require('koffi');

const [libpath, which = 'all', targetArg = '100'] = process.argv.slice(2);
const targetMs = Number(targetArg);
const lib = koffi.load(libpath);

const Vec3 = koffi.struct('Vec3', { x: 'float', y: 'float', z: 'float' });
koffi.struct('Big', { id: 'int64_t', value: 'double', count: 'int32_t', weight: 'float' });
const Cb = koffi.proto('int Cb(int a, int b)');

const add = lib.func('int b_add(int a, int b)');
const fma = lib.func('double b_fma(double a, double b, double c)');
const mixed10 = lib.func(
  'double b_mixed10(int a, double b, int64_t c, float d, int e, double f, uint8_t g, float h, int16_t i, double j)',
);
const scale = lib.func('Vec3 b_scale(Vec3 v, float s)');
const make = lib.func('Big b_make(int64_t n)');
const strlen = lib.func('size_t b_strlen(const char *s)');
const name = lib.func('const char *b_name(void)');
const drive = lib.func('int64_t b_drive(Cb *cb, int n)');
const cpu = lib.func('double b_cpu_seconds(void)');
const wall = lib.func('double b_wall_seconds(void)');

// C memory for the element and field reads: pointers are BigInts in Koffi 3.
const floats = koffi.alloc('float', 1024);
koffi.encode(floats, 7 * 4, 'float', 1.5);
const floatView = new Float32Array(koffi.view(floats, 1024 * 4));
const vecPtr = koffi.alloc(Vec3, 1);
koffi.encode(vecPtr, Vec3, { x: 1, y: 2, z: 3 });
const offY = BigInt(koffi.offsetof(Vec3, 'y'));
const vec = { x: 1, y: 2, z: 3 };
const s64 = 'a'.repeat(64);
const cb = koffi.register((a, b) => a + b, koffi.pointer(Cb));

// Each op: a check of its result (a broken binding must not produce a number), then a
// loop of n iterations, `x = f(...)`, as in every runtime here.
const ops = [
  ['floor', () => assert.strictEqual([Math.abs][0](-1.5), 1.5), (n) => {
    const f = [Math.abs][0];
    let x;
    for (let i = 1; i <= n; i++) x = f(-1.5);
    return x;
  }],
  ['add', () => assert.ok(add(2, 3) === 5 && add(-7, 3) === -4), (n) => {
    const f = add;
    let x;
    for (let i = 1; i <= n; i++) x = f(i, 2);
    return x;
  }],
  ['fma', () => assert.strictEqual(fma(1.5, 2, 0.25), 3.25), (n) => {
    const f = fma;
    let x;
    for (let i = 1; i <= n; i++) x = f(1.5, 2, 0.25);
    return x;
  }],
  ['mixed10', () => assert.strictEqual(mixed10(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5), 57.5), (n) => {
    const f = mixed10;
    let x;
    for (let i = 1; i <= n; i++) x = f(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5);
    return x;
  }],
  ['vec3', () => assert.deepStrictEqual(scale(vec, 2), { x: 2, y: 4, z: 6 }), (n) => {
    const f = scale, v = vec;
    let x;
    for (let i = 1; i <= n; i++) x = f(v, 2);
    return x;
  }],
  ['big', () => {
    const r = make(40);
    assert.ok(Number(r.id) === 40 && r.value === 20 && r.count === 41 && r.weight === 2.5);
  }, (n) => {
    const f = make;
    let x;
    for (let i = 1; i <= n; i++) x = f(i);
    return x;
  }],
  ['strlen', () => assert.strictEqual(Number(strlen(s64)), 64), (n) => {
    const f = strlen, s = s64;
    let x;
    for (let i = 1; i <= n; i++) x = f(s);
    return x;
  }],
  // A `const char *` return: Koffi decodes it into a JS string per call.
  ['cstring', () => assert.strictEqual(name(), "libbench: the peer comparison's C library"), (n) => {
    const f = name;
    let x;
    for (let i = 1; i <= n; i++) x = f();
    return x;
  }],
  // n calls of a short function through Koffi's async calls (its resident worker
  // threads); the time per call is the total over n. Koffi refuses more than
  // max_async_calls (256 by default) in flight ("Too many asynchronous calls are
  // running"), so the calls go out in a window of one less (a call still counts while its
  // completion callback runs), each completion issuing the next. run() returns a promise.
  ['async', () => {}, (n) => new Promise((resolve, reject) => {
    const window = Math.min(n, koffi.config().max_async_calls - 1);
    let issued = 0, done = 0, sum = 0;
    const issue = () => {
      const i = ++issued;
      add.async(i, 1, (err, r) => {
        if (err) return reject(err);
        sum += r;
        if (++done === n) {
          if (sum !== (n * (n + 1)) / 2 + n) reject(new Error(`wrong sum ${sum}`));
          else resolve(sum);
        } else if (issued < n) {
          issue();
        }
      });
    };
    for (let k = 0; k < window; k++) issue();
  }), 10000],
  ['callback', () => assert.strictEqual(Number(drive(cb, 100)), 5050), (n) => drive(cb, n)],
  // Koffi's per-element read of C memory: the typed decoder (Koffi >= 3.1) at the
  // element's address, computed per read as tp[7] and arr[7] do. The generic
  // koffi.decode(p, 28, 'float') measured about 2x slower here; decode.float on an
  // address hoisted out of the loop about 0.9x (not an element access any more).
  ['f32read', () => assert.strictEqual(koffi.decode.float(floats + 28n), 1.5), (n) => {
    const dec = koffi.decode.float, p = floats;
    let x;
    for (let i = 1; i <= n; i++) x = dec(p + 28n);
    return x;
  }],
  ['fieldread', () => assert.strictEqual(koffi.decode.float(vecPtr + offY), 2), (n) => {
    const dec = koffi.decode.float, p = vecPtr, off = offY;
    let x;
    for (let i = 1; i <= n; i++) x = dec(p + off);
    return x;
  }],
  // Bulk path: a Float32Array over the same C memory (koffi.view), no call per read.
  ['f32bulk', () => assert.strictEqual(floatView[7], 1.5), (n) => {
    const t = floatView;
    let x;
    for (let i = 1; i <= n; i++) x = t[7];
    return x;
  }],
];

function hwmKib() {
  return Number(/VmHWM:\s*(\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]);
}

// fixed: the timed loop runs exactly that many iterations instead of being sized (and
// run may return a promise, awaited inside the timing).
async function measure(name, run, fixed) {
  await run(1000); // warm-up
  // Calibrate (this also lets V8 optimise the loop): grow n until a run takes 10 ms,
  // then size the timed run to targetMs.
  let n = fixed || 1000;
  while (!fixed) {
    const t0 = cpu();
    run(n);
    const dt = cpu() - t0;
    if (dt >= 0.01) {
      n = Math.floor((n * (targetMs / 1000)) / dt);
      break;
    }
    n *= 4;
  }
  const hwm0 = hwmKib();
  const c0 = cpu(), w0 = wall();
  await run(n);
  const c1 = cpu(), w1 = wall();
  console.log(`RESULT koffi ${name} ${(((c1 - c0) * 1e9) / n).toFixed(2)} ${(((w1 - w0) * 1e9) / n).toFixed(2)} ${n}`);
  // Peak resident size before and after the timed loop (KiB).
  console.log(`PEAKRSS koffi ${name} ${hwm0} ${hwmKib()}`);
}

(async () => {
  let found = false;
  for (const [name, check, run, fixed] of ops) {
    if (which === 'all' || which === name) {
      found = true;
      check();
      await measure(name, run, fixed);
    }
  }
  if (!found) throw new Error(`unknown op '${which}'`);
  koffi.unregister(cb);
  koffi.free(vecPtr);
  koffi.free(floats);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
