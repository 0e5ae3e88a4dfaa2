;; A `throw` with no handler anywhere on the guest's stack: the exception
;; unwinds every wasm frame and reaches the embedder's call.
(module
  (tag $oops (param i64))
  (func $deep (param $arg i64) (throw $oops (local.get $arg)))
  (func (export "fb_uncaught_exception") (param $arg i64) (result i64)
    (call $deep (local.get $arg))
    (i64.const 0))
  (func (export "fb_health") (result i64) (i64.const 0x600DF00D)))
