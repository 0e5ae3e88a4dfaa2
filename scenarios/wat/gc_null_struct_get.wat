;; struct.get through a null reference. Wasm GC references are typed and
;; checked: unlike address 0 in linear memory, a null reference has no
;; memory behind it to read.
(module
  (type $point (struct (field $x (mut i64)) (field $y (mut i64))))
  ;; The object a real program would have allocated first: never set.
  (global $origin (mut (ref null $point)) (ref.null $point))
  (func (export "fb_gc_null_struct_get") (param $arg i64) (result i64)
    (struct.get $point $x (global.get $origin)))
  ;; The health check allocates and reads an object: 0x600DF00D when sound.
  (func (export "fb_health") (result i64)
    (struct.get $point $y (struct.new $point (i64.const 0) (i64.const 0x600DF00D)))))
