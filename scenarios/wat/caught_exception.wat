;; A `throw` two calls deep, caught by the guest's own try_table: the
;; exception handling a C++ or Rust-with-unwinding guest does by itself.
(module
  (tag $oops (param i64))
  (func $deep (param $arg i64) (throw $oops (local.get $arg)))
  (func (export "fb_caught_exception") (param $arg i64) (result i64)
    (block $handler (result i64)
      (try_table (catch $oops $handler)
        (call $deep (local.get $arg)))
      (i64.const -1)))
  (func (export "fb_health") (result i64) (i64.const 0x600DF00D)))
