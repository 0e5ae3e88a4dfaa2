;; array.get one past the end of a 16-element GC array. Every GC array
;; carries its length, and every access is checked against it.
(module
  (type $longs (array (mut i64)))
  (global $table (mut (ref null $longs)) (ref.null $longs))
  (func (export "fb_gc_array_out_of_bounds") (param $arg i64) (result i64)
    (global.set $table (array.new $longs (i64.const 7) (i32.const 16)))
    (array.get $longs (global.get $table) (i32.wrap_i64 (local.get $arg))))
  ;; An access in bounds: 0x600DF00D when sound.
  (func (export "fb_health") (result i64)
    (array.get $longs (array.new $longs (i64.const 0x600DF00D) (i32.const 4)) (i32.const 3))))
