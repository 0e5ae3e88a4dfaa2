;; faultbox's own spec-style script for the traps Wasm 3.0 brings: GC,
;; typed function references, tail calls and exception handling. With
;; `--wasm-features 2.0` every directive here is skipped, with why.

(module
  (type $point (struct (field $x (mut i32))))
  (type $bytes (array (mut i8)))
  (type $unary (func (param i32) (result i32)))
  (tag $boom (param i32))
  (func (export "struct_get_null") (result i32)
    (struct.get $point $x (ref.null $point)))
  (func (export "array_get_null") (result i32)
    (array.get_u $bytes (ref.null $bytes) (i32.const 0)))
  (func (export "i31_get_null") (result i32)
    (i31.get_s (ref.null i31)))
  (func (export "call_ref_null") (result i32)
    (call_ref $unary (i32.const 1) (ref.null $unary)))
  (func (export "array_oob") (param i32) (result i32)
    (array.get_u $bytes (array.new_default $bytes (i32.const 4)) (local.get 0)))
  (func (export "bad_cast") (result i32)
    (struct.get $point $x (ref.cast (ref $point) (ref.i31 (i32.const 7)))))
  (func (export "ref_as_non_null") (param anyref) (result anyref)
    (ref.as_non_null (local.get 0)))
  (func (export "throw") (param i32) (throw $boom (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (block $handler (result i32)
      (try_table (catch $boom $handler) (throw $boom (local.get 0)))
      (i32.const -1)))
  ;; A tail call reuses its caller's frame: the trap is the callee's own.
  (func $trap_at_zero (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (unreachable)))
    (return_call $trap_at_zero (i32.sub (local.get 0) (i32.const 1))))
  (func (export "tail_countdown") (param i32) (result i32)
    (return_call $trap_at_zero (local.get 0))))

(assert_trap (invoke "struct_get_null") "null structure reference")
(assert_trap (invoke "array_get_null") "null array reference")
(assert_trap (invoke "i31_get_null") "null i31 reference")
(assert_trap (invoke "call_ref_null") "null function reference")
(assert_trap (invoke "array_oob" (i32.const 4)) "out of bounds array access")
(assert_trap (invoke "bad_cast") "cast failure")
(assert_trap (invoke "ref_as_non_null" (ref.null any)) "null reference")
(assert_exception (invoke "throw" (i32.const 1)))
(assert_return (invoke "catch" (i32.const 5)) (i32.const 5))
;; A million frames deep by tail calls, far past any call stack: unreachable,
;; not call stack exhausted.
(assert_trap (invoke "tail_countdown" (i32.const 1000000)) "unreachable")

;; 64-bit memories and multiple memories.
(module
  (memory $small 1)
  (memory $wide i64 1)
  (func (export "load64") (param i64) (result i32) (i32.load $wide (local.get 0)))
  (func (export "load_second") (param i32) (result i32) (i32.load $small (local.get 0))))
(assert_trap (invoke "load64" (i64.const 0x1_0000_0000)) "out of bounds memory access")
(assert_trap (invoke "load_second" (i32.const 65536)) "out of bounds memory access")
