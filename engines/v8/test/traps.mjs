// Provokes every trap the trap table names that this V8 can raise without
// experimental flags, in a fresh instance each, and checks that the table
// reads V8's error as the expected faultbox code. Run:
//   node engines/v8/test/traps.mjs   (also with --liftoff-only, --wasm-enforce-bounds-checks)
import { module, T, sleb } from '../wasmgen.mjs';
import { trapCode } from '../traps.mjs';

const ty = [{ params: [], results: [T.i32] }, { params: [], results: [T.i64] }];
const cases = {
  unreachable: [[0x00, 0x41, 0], 'unreachable_code_reached'],
  load_oob: [[0x41, ...sleb(-4), 0x28, 2, 0], 'memory_out_of_bounds'],
  store_oob: [[0x41, ...sleb(65536), 0x41, 1, 0x36, 2, 0, 0x41, 0], 'memory_out_of_bounds'],
  fill_oob: [[0x41, 0, 0x41, 0, 0x41, ...sleb(65537), 0xfc, 11, 0, 0x41, 0], 'memory_out_of_bounds'],
  misaligned_atomic: [[0x41, 1, 0xfe, 0x10, 2, 0], 'heap_misaligned'],
  div_zero: [[0x41, 1, 0x41, 0, 0x6d], 'integer_division_by_zero'],
  rem_zero: [[0x41, 1, 0x41, 0, 0x6f], 'integer_division_by_zero'],
  div_overflow: [[0x41, ...sleb(-2147483648), 0x41, ...sleb(-1), 0x6d], 'integer_overflow'],
  trunc_nan: [[0x43, 0, 0, 0xc0, 0x7f, 0xa8], 'bad_conversion_to_integer'],
  trunc_big: [[0x43, 0, 0, 0x80, 0x5f, 0xa8], 'bad_conversion_to_integer'],
  call_indirect_oob: [[0x41, 50, 0x11, 0, 0], 'table_out_of_bounds'],
  call_indirect_null: [[0x41, 3, 0x11, 0, 0], 'bad_signature'],
  call_indirect_sig: [[0x41, 1, 0x11, 0, 0], 'bad_signature'],
  recursion: [[0x10, 13, 0x41, 1, 0x6a], 'stack_overflow'],
};
const names = Object.keys(cases);
const funcs = names.map((n) => ({ type: 0, body: cases[n][0] }));
funcs.push({ type: 1, body: [0x42, 1] });
let bad = 0;
const m = module({ types: ty, funcs, memory: { min: 1 }, table: { min: 5 }, elems: [{ offset: 0, funcs: [0, names.length] }], exports: names.map((n, i) => ({ name: n, func: i })) });
const check = (what, want, f) => {
  try { f(); console.log(`FAIL ${what}: no error`); bad++; } catch (e) {
    const got = trapCode(e);
    console.log(`${got === want ? 'ok  ' : 'FAIL'} ${what}: ${e.constructor.name} "${e.message}" -> ${got}`);
    if (got !== want) bad++;
  }
};
const inst = new WebAssembly.Instance(new WebAssembly.Module(m));
for (const n of names) check(n, cases[n][1], () => inst.exports[n]());
// Segments that do not fit, at instantiation.
check('data segment at instantiation', 'memory_out_of_bounds', () => new WebAssembly.Instance(new WebAssembly.Module(module({ memory: { min: 1 }, datas: [{ offset: 65535, bytes: [1, 2] }] }))));
check('element segment at instantiation', 'table_out_of_bounds', () => new WebAssembly.Instance(new WebAssembly.Module(module({ types: ty, funcs: [{ type: 0, body: [0x41, 0] }], table: { min: 1 }, elems: [{ offset: 1, funcs: [0] }] }))));
// An uncaught wasm exception (legacy EH: tag section, throw).
{
  const base = module({ types: [{ params: [], results: [] }], funcs: [{ type: 0, body: [0x08, 0] }], exports: [{ name: 'throw', func: 0 }] });
  // Insert a tag section (id 13, after the function section) by hand.
  const b = [...base];
  const at = b.indexOf(7, 8) > 0 ? b.lastIndexOf(7, b.length) : -1;
  const funcSecEnd = (() => { let p = 8; while (p < b.length) { const id = b[p], len = b[p + 1]; if (id === 3) return p + 2 + len; p += 2 + len; } return -1; })();
  b.splice(funcSecEnd, 0, 13, 3, 1, 0, 0);
  check('uncaught exception', 'uncaught_exception', () => new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(b))).exports.throw());
}
console.log(bad ? `${bad} FAILED` : 'all rows hold');
process.exit(bad ? 1 : 0);
