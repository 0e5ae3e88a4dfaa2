;; call_indirect with an index past the end of the table: the wasm
;; equivalent of jumping through a function-pointer array out of bounds.
(module
  (type $unary (func (param i64) (result i64)))
  (table 2 funcref)
  (func $double (type $unary) (i64.mul (local.get 0) (i64.const 2)))
  (elem (i32.const 0) $double $double)
  (func (export "fb_table_out_of_bounds") (param $arg i64) (result i64)
    (call_indirect (type $unary) (local.get $arg) (i32.const 1000)))
  ;; The health check goes through the table too: 0x600DF00D when sound.
  (func (export "fb_health") (result i64)
    (i64.add
      (call_indirect (type $unary) (i64.const 805763078) (i32.const 0))
      (i64.const 1))))
