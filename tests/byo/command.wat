;; A WASI command for tests/bring_your_own.rs: writes "hello from a command\n"
;; to stdout (fd_write), then looks at its first argument:
;;   "trap" -> `unreachable`;   "exit" -> proc_exit(3);   none or else -> returns (exit 0).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello from a command\n")
  ;; 64: iovec; 80: argc; 84: argv buffer size; 128: argv pointers; 512: argv strings
  (func $starts_with (param $p i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32) (result i32)
    (i32.and
      (i32.and (i32.eq (i32.load8_u (local.get $p)) (local.get $a))
               (i32.eq (i32.load8_u offset=1 (local.get $p)) (local.get $b)))
      (i32.and (i32.eq (i32.load8_u offset=2 (local.get $p)) (local.get $c))
               (i32.eq (i32.load8_u offset=3 (local.get $p)) (local.get $d)))))
  (func (export "_start")
    (local $arg i32)
    (i32.store (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 21))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72)))
    (drop (call $args_sizes_get (i32.const 80) (i32.const 84)))
    (if (i32.lt_u (i32.load (i32.const 80)) (i32.const 2)) (then (return)))
    (drop (call $args_get (i32.const 128) (i32.const 512)))
    (local.set $arg (i32.load (i32.const 132)))
    ;; "trap"
    (if (call $starts_with (local.get $arg) (i32.const 116) (i32.const 114) (i32.const 97) (i32.const 112))
      (then unreachable))
    ;; "exit"
    (if (call $starts_with (local.get $arg) (i32.const 101) (i32.const 120) (i32.const 105) (i32.const 116))
      (then (call $proc_exit (i32.const 3))))))
