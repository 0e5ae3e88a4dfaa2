;; faultbox's own spec-style script: one directive per spec trap message it
;; maps in Wasm 2.0, plus one module that needs a proposal faultbox leaves
;; disabled. The Wasm 3.0 traps are in wasm3.wast.

(module
  (type $unary (func (param i32) (result i32)))
  (memory 1)
  (table $t 3 funcref)
  (func $id (type $unary) (local.get 0))
  (func $pair (param i32 i32) (result i32) (local.get 0))
  (elem (table $t) (i32.const 0) func $id $pair)
  (func (export "unreachable") (unreachable))
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $unary) (i32.const 7) (local.get 0)))
  (func (export "get") (param i32) (result funcref) (table.get $t (local.get 0)))
  (func $loop (export "recurse") (call $loop)))

(assert_trap (invoke "unreachable") "unreachable")
(assert_trap (invoke "div_s" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div_s" (i32.const 0x80000000) (i32.const -1)) "integer overflow")
(assert_trap (invoke "trunc" (f32.const nan)) "invalid conversion to integer")
(assert_trap (invoke "trunc" (f32.const 3e9)) "integer overflow")
(assert_trap (invoke "load" (i32.const 65536)) "out of bounds memory access")
(assert_trap (invoke "call" (i32.const 2)) "uninitialized element")
(assert_trap (invoke "call" (i32.const 1)) "indirect call type mismatch")
(assert_trap (invoke "call" (i32.const 5)) "undefined element")
(assert_trap (invoke "get" (i32.const 3)) "out of bounds table access")
(assert_exhaustion (invoke "recurse") "call stack exhausted")

;; An active data segment out of bounds traps at instantiation.
(assert_trap (module (memory 1) (data (i32.const 65535) "ab")) "out of bounds memory access")

;; Custom page sizes are not part of Wasm 3.0: this module does not compile
;; with either of faultbox's feature profiles, so the directive is skipped,
;; with why.
(module $later
  (memory 1 (pagesize 1))
  (func (export "f") (unreachable)))
(assert_trap (invoke $later "f") "unreachable")
