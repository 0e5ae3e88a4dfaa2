;; Unbounded recursion by `return_call`: every call replaces its caller's
;; frame, so the stack never grows. Progress reports the depth reached
;; every 2^20 calls.
(module
  (import "fb" "progress" (func $progress (param i64)))
  (func $descend (param $depth i64) (result i64)
    (if (i64.eqz (i64.and (local.get $depth) (i64.const 0xFFFFF)))
      (then (call $progress (local.get $depth))))
    (return_call $descend (i64.add (local.get $depth) (i64.const 1))))
  (func (export "fb_tail_call_unbounded") (param $arg i64) (result i64)
    (return_call $descend (local.get $arg)))
  (func (export "fb_health") (result i64) (i64.const 0x600DF00D)))
