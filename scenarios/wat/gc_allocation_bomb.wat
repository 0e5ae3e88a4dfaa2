;; Allocates GC arrays of `arg` bytes and keeps every one reachable from a
;; global list, the leak of a cache that never evicts, until the GC heap
;; can grow no more. Progress reports the MiB held.
(module
  (import "fb" "progress" (func $progress (param i64)))
  (type $bytes (array (mut i8)))
  (type $node (struct (field $next (ref null $node)) (field $block (ref $bytes))))
  (global $held (mut (ref null $node)) (ref.null $node))
  (func (export "fb_gc_allocation_bomb") (param $arg i64) (result i64)
    (local $mib i64)
    (loop $more
      (global.set $held
        (struct.new $node (global.get $held) (array.new_default $bytes (i32.wrap_i64 (local.get $arg)))))
      (local.set $mib (i64.add (local.get $mib) (i64.shr_u (local.get $arg) (i64.const 20))))
      (call $progress (local.get $mib))
      (br $more))
    (unreachable))
  ;; The health check allocates, as any GC program does: a small object.
  (func (export "fb_health") (result i64)
    (array.len (array.new_default $bytes (i32.const 16)))
    (drop)
    (i64.const 0x600DF00D)))
