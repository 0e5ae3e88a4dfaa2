;; A store 2^40 bytes into a 64-bit memory of one page. A 64-bit index
;; cannot be covered by guard pages the way a 32-bit one is.
(module
  (memory i64 1)
  (func (export "fb_memory64_wild_write") (param $arg i64) (result i64)
    (i64.store (local.get $arg) (i64.const 0xDEADBEEF))
    (i64.load (local.get $arg)))
  ;; A store and load in bounds: 0x600DF00D when sound.
  (func (export "fb_health") (result i64)
    (i64.store (i64.const 8) (i64.const 0x600DF00D))
    (i64.load (i64.const 8))))
