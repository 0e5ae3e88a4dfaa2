;; ref.cast of an object to a struct type it does not have: the checked
;; downcast of a Java/Kotlin/Dart program compiled to WasmGC. Unchecked, the
;; field read below would read a `$point` as a `$account`. The two types
;; must differ in structure, not only in name: WasmGC types are equivalent
;; when their definitions are (iso-recursive canonicalization), and a
;; `$point` with two immutable i64 fields *is* an `$account` with two.
(module
  (type $point (struct (field $x i64) (field $y i64)))
  (type $account (struct (field $balance (mut i64)) (field $owner i64)))
  (global $shape (mut anyref) (ref.null any))
  (func (export "fb_gc_bad_cast") (param $arg i64) (result i64)
    (global.set $shape (struct.new $point (local.get $arg) (i64.const 0)))
    (struct.get $account $balance (ref.cast (ref $account) (global.get $shape))))
  ;; A cast that holds: 0x600DF00D when sound.
  (func (export "fb_health") (result i64)
    (struct.get $account $owner
      (ref.cast (ref $account) (struct.new $account (i64.const 0) (i64.const 0x600DF00D))))))
