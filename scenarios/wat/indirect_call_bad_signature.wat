;; call_indirect whose callee has another signature than the call site
;; expects. Rust cannot produce this: its function pointer types are checked
;; at compile time.
(module
  (type $unary (func (param i64) (result i64)))
  (type $binary (func (param i64 i64) (result i64)))
  (table 2 funcref)
  (func $double (type $unary) (i64.mul (local.get 0) (i64.const 2)))
  (func $add (type $binary) (i64.add (local.get 0) (local.get 1)))
  (elem (i32.const 0) $double $add)
  ;; Slot 1 holds $add, which takes two arguments: the call site says one.
  (func (export "fb_indirect_call_bad_signature") (param $arg i64) (result i64)
    (call_indirect (type $unary) (local.get $arg) (i32.const 1)))
  ;; The health check goes through the table too: 0x600DF00D when sound.
  (func (export "fb_health") (result i64)
    (i64.add
      (call_indirect (type $unary) (i64.const 805763078) (i32.const 0))
      (i64.const 1))))
