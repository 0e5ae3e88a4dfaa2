;; call_indirect through a table slot that holds no function.
;; Rust cannot produce this: its function pointers are never null.
(module
  (type $unary (func (param i64) (result i64)))
  (table 4 funcref)
  (func $double (type $unary) (i64.mul (local.get 0) (i64.const 2)))
  (elem (i32.const 0) $double)
  ;; Slot 0 holds $double; slot 2 was never initialised.
  (func (export "fb_indirect_call_null") (param $arg i64) (result i64)
    (call_indirect (type $unary) (local.get $arg) (i32.const 2)))
  ;; The health check goes through the table too: 0x600DF00D when sound.
  (func (export "fb_health") (result i64)
    (i64.add
      (call_indirect (type $unary) (i64.const 805763078) (i32.const 0))
      (i64.const 1))))
