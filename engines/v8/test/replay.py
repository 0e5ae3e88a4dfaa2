#!/usr/bin/env python3
"""Replays the `wasm` requests of a protocol trace against faultbox's own
wasmtime worker and the V8 adapter, side by side, and prints where the
replies differ. Usage: replay.py TRACE [V8 model] [filter substring]"""
import json, subprocess, sys, os

trace = sys.argv[1]
model = sys.argv[2] if len(sys.argv) > 2 else 'v8'
filt = sys.argv[3] if len(sys.argv) > 3 else ''
here = os.path.dirname(os.path.abspath(__file__))
flags = {'v8': [], 'v8-explicit': ['--wasm-enforce-bounds-checks'], 'v8-liftoff': ['--liftoff-only']}[model]

def start(cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    hello = json.loads(p.stdout.readline())
    return p, hello

def ask(p, req):
    p.stdin.write(json.dumps(req) + '\n'); p.stdin.flush()
    extra = []
    while True:
        line = p.stdout.readline()
        if not line:
            return {'type': 'LOST'}, extra
        m = json.loads(line)
        if m['type'] in ('host_call', 'compiled', 'progress'):
            extra.append(m['type'] if m['type'] != 'host_call' else 'host_call:' + m['op'])
            continue
        return m, extra

reqs = []
seen = set()
for line in open(trace):
    m = json.loads(line)
    if m.get('type') == 'wasm' and m.get('model') == 'wasm':
        m['module'] = m['module']
        if m['module']['type'] == 'path' and not os.path.exists(m['module']['path']):
            m['module']['path'] = '/work/adapter-kit/rust-guest.wasm'
        k = json.dumps(m, sort_keys=True)
        if k in seen: continue
        seen.add(k)
        reqs.append(m)

wt, _ = start(['/work/main/target/release/faultbox', 'worker', 'wasm'])
v8, hello = start(['node', *flags, os.path.join(here, '..', 'adapter.mjs'), model])

def summary(r):
    if r['type'] != 'wasm':
        return {'type': r['type'], 'message': r.get('message', '')[:200]}
    e = r['ending']
    s = {'ending': e['type'] + ':' + str(e.get('trap') or e.get('value') or e.get('code') or e.get('message', ''))[:140]}
    s['progress'] = r['progress']; s['guest_panic'] = r['guest_panic']; s['host_call'] = r['host_call']
    s['deadline'] = r['deadline']
    s['out'] = (r['output']['total_bytes'], r['output']['tail'][-80:]); s['err'] = (r['stderr']['total_bytes'], r['stderr']['tail'][-80:])
    f = r['reuse']
    if f:
        s['health'] = f['health']; s['sp'] = f['stack_pointer']; s['globals'] = f['globals_changed']
        s['mem'] = (f['memory_changed_bytes'], f['memory_changed_runs']); s['dead'] = (f['dead_stack_changed_bytes'], f['dead_stack_changed_runs'])
        s['size'] = f['memory_size']; s['rounds'] = (f['rounds_healthy'], f['rounds_broke'])
    s['fresh'] = r.get('fresh_context_us') is not None
    s['refused'] = len(r['refused_growth'])
    return s

for req in reqs:
    name = req['export'] + ' ' + (req['module'].get('path', 'bytes')[-30:])
    if filt and filt not in name: continue
    a, ea = ask(wt, req)
    if a['type'] == 'LOST':
        wt, _ = start(['/work/main/target/release/faultbox', 'worker', 'wasm'])
    r2 = dict(req); r2['model'] = model
    b, eb = ask(v8, r2)
    if b['type'] == 'LOST':
        v8, _ = start(['node', *flags, os.path.join(here, '..', 'adapter.mjs'), model])
    sa, sb = summary(a), summary(b)
    diffs = [k for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k)]
    print(('SAME ' if not diffs else 'DIFF ') + name, 'limits', req['limits']['timeout_ms'], req['limits']['memory_mib'], 'rounds', req['reuse_rounds'])
    for k in diffs:
        print('   ', k, '\n      wasmtime:', json.dumps(sa.get(k))[:400], '\n      v8      :', json.dumps(sb.get(k))[:400])
    if ea != eb: print('    extra lines: wasmtime', ea, 'v8', eb)
