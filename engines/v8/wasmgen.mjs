// A minimal wasm binary encoder: enough to build the small wrapper modules
// the spec steps need (calls whose arguments or results a JS number would
// lose: i64 as BigInt is fine, but NaN payloads and v128 are not) and the
// adapter's own tests. Not a general assembler.

export const T = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f };

export function uleb(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

export function sleb(n) {
  const out = [];
  let v = BigInt(n);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

const utf8 = (s) => [...Buffer.from(s, 'utf8')];
export const str = (s) => [...uleb(utf8(s).length), ...utf8(s)];
export const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, body) => (body.length ? [id, ...uleb(body.length), ...body] : []);

// types: [{params:[..], results:[..]}]; imports: [{module, name, type}]
// (function imports only); funcs: [{type, locals:[[count, valtype]], body:[bytes]}];
// exports: [{name, func}]; memory: {min, max?} or null.
// table: {min, max?} funcref; elems: [{offset, funcs:[..]}] active on table 0.
// datas: [{offset, bytes:[..]}] active on memory 0.
export function module({ types = [], imports = [], funcs = [], exports = [], memory = null, table = null, elems = [], datas = [] }) {
  const dataSec = vec(datas.map((d) => [0x00, 0x41, ...sleb(d.offset), 0x0b, ...vec(d.bytes.map((b) => [b]))]));
  const limits = (l) => (l.max === undefined ? [0x00, ...uleb(l.min)] : [0x01, ...uleb(l.min), ...uleb(l.max)]);
  const tableSec = table ? vec([[0x70, ...limits(table)]]) : [];
  const elemSec = vec(elems.map((e) => [0x00, 0x41, ...sleb(e.offset), 0x0b, ...vec(e.funcs.map((f) => uleb(f)))]));
  const typeSec = vec(types.map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))]));
  const importSec = vec(imports.map((i) => [...str(i.module), ...str(i.name), ...(i.global ? [0x03, i.global.type, i.global.mutable ? 1 : 0] : [0x00, ...uleb(i.type)])]));
  const funcSec = vec(funcs.map((f) => uleb(f.type)));
  const memSec = memory ? vec([memory.max === undefined ? [0x00, ...uleb(memory.min)] : [0x01, ...uleb(memory.min), ...uleb(memory.max)]]) : [];
  const exportSec = vec(exports.map((e) => [...str(e.name), e.kind ?? 0x00, ...uleb(e.index ?? e.func)]));
  const codeSec = vec(funcs.map((f) => {
    const body = [...vec((f.locals ?? []).map(([n, t]) => [...uleb(n), t])), ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  }));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types.length ? typeSec : []),
    ...section(2, imports.length ? importSec : []),
    ...section(3, funcs.length ? funcSec : []),
    ...section(4, tableSec),
    ...section(5, memory ? memSec : []),
    ...section(7, exports.length ? exportSec : []),
    ...section(9, elems.length ? elemSec : []),
    ...section(10, funcs.length ? codeSec : []),
    ...section(11, datas.length ? dataSec : []),
  ]);
}
