// WASI preview 1 through node:wasi (uvwasi), one WASI object per instance:
// no preopens, an empty environment, the request's args, stdin /dev/null
// (empty, as wasmtime's closed stdin reads). Two calls are the adapter's
// own, wrapped around node's:
// - fd_write on fds 1 and 2 writes into the bounded tails in the shared
//   reports, not to a file descriptor: node:wasi can only write to real
//   fds, and a guest that floods its output (scenario output_flood) must
//   cost neither memory nor disk beyond the 64 KiB tail;
// - fd_fdstat_get on fds 0, 1 and 2 answers as wasmtime-wasi does for
//   captured streams (filetype unknown, stdin readable, stdout and stderr
//   writable): node's answer describes the stand-in it was given,
//   /dev/null, a character device with file rights (seek, tell...),
//   which is not what the guest writes to;
// - proc_exit is node's (returnOnExit: it throws its private kExitCode
//   symbol); the code is read back from the WASI object.

import fs from 'node:fs';

const origEmit = process.emitWarning;
process.emitWarning = (w, ...rest) => {
  // node:wasi announces itself as experimental on stderr on first use; the
  // adapter must stay quiet there.
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' && String(w).includes('WASI')) return;
  return origEmit.call(process, w, ...rest);
};
const { WASI } = await import('node:wasi');

let devnull = null;
const ERRNO_SUCCESS = 0, ERRNO_FAULT = 21;
const FILETYPE_UNKNOWN = 0, RIGHTS_FD_READ = 1n << 1n, RIGHTS_FD_WRITE = 1n << 6n;

export class Wasi {
  constructor(args, reports, memory) {
    devnull ??= fs.openSync('/dev/null', 'r+');
    this.wasi = new WASI({ version: 'preview1', args, env: {}, preopens: {}, returnOnExit: true, stdin: devnull, stdout: devnull, stderr: devnull });
    const imports = this.wasi.getImportObject();
    const p1 = imports.wasi_snapshot_preview1;
    const nodeWrite = p1.fd_write;
    p1.fd_write = (fd, iovs, n, nwritten) => {
      const tail = fd === 1 ? reports.stdout : fd === 2 ? reports.err : null;
      if (!tail) return nodeWrite(fd, iovs, n, nwritten);
      const mem = memory();
      if (!mem) return ERRNO_FAULT;
      const buf = mem.buffer, view = new DataView(buf);
      iovs >>>= 0; n >>>= 0; nwritten >>>= 0;
      if (iovs + 8 * n > buf.byteLength || nwritten + 4 > buf.byteLength) return ERRNO_FAULT;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const ptr = view.getUint32(iovs + 8 * i, true), len = view.getUint32(iovs + 8 * i + 4, true);
        if (ptr + len > buf.byteLength) return ERRNO_FAULT;
        tail.push(new Uint8Array(buf, ptr, len));
        total += len;
      }
      view.setUint32(nwritten, total >>> 0, true);
      return ERRNO_SUCCESS;
    };
    const nodeFdstat = p1.fd_fdstat_get;
    p1.fd_fdstat_get = (fd, buf) => {
      if (fd !== 0 && fd !== 1 && fd !== 2) return nodeFdstat(fd, buf);
      const mem = memory();
      buf >>>= 0;
      if (!mem || buf + 24 > mem.buffer.byteLength) return ERRNO_FAULT;
      const view = new DataView(mem.buffer, buf, 24);
      const rights = fd === 0 ? RIGHTS_FD_READ : RIGHTS_FD_WRITE;
      view.setUint8(0, FILETYPE_UNKNOWN);
      view.setUint16(2, 0, true);
      view.setBigUint64(8, rights, true);
      view.setBigUint64(16, rights, true);
      return ERRNO_SUCCESS;
    };
    this.imports = imports;
  }

  // The code a proc_exit passed, if `err` is node:wasi's exit.
  exitCode(err) {
    if (typeof err !== 'symbol' || err.description !== 'kExitCode') return null;
    const sym = Object.getOwnPropertySymbols(this.wasi).find((s) => s.description === 'kExitCode');
    return sym ? this.wasi[sym] | 0 : null;
  }
}
