//! `assert_return`: the values a call returned, against the script's
//! expected results, by the rules the spec's runners use. Integers match
//! exactly; floats bit for bit, except that `nan:canonical` stands for the
//! canonical NaN of either sign and `nan:arithmetic` for any quiet NaN;
//! `v128` lane by lane in the shape the script wrote; references by
//! nullness, hierarchy and, for host references, their number; `either`
//! by any one of its alternatives.

use wasmtime::{AnyRef, ExternRef, Store, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastRetCore};
use wast::token::{F32, F64};

/// Why a value does not match its pattern.
#[derive(Debug)]
pub enum Mismatch {
    /// It is another value: what was expected and why it differs.
    Differs(String),
    /// The pattern needs something faultbox does not enable.
    Unsupported(String),
}

/// The expected result, as a script would write it.
pub fn pattern_text(p: &WastRetCore<'_>) -> String {
    use WastRetCore as R;
    match p {
        R::I32(x) => format!("i32 {x}"),
        R::I64(x) => format!("i64 {x}"),
        R::F32(p) => format!("f32 {}", nan_f32(p)),
        R::F64(p) => format!("f64 {}", nan_f64(p)),
        R::V128(p) => format!("v128 {}", v128_text(p)),
        R::RefNull(None) => "ref.null".into(),
        R::RefNull(Some(ty)) => format!("ref.null {}", heap_text(ty)),
        R::RefExtern(None) => "ref.extern".into(),
        R::RefExtern(Some(n)) => format!("ref.extern {n}"),
        R::RefHost(n) => format!("ref.host {n}"),
        R::RefFunc(_) => "ref.func".into(),
        R::RefAny => "ref.any".into(),
        R::RefEq => "ref.eq".into(),
        R::RefArray => "ref.array".into(),
        R::RefStruct => "ref.struct".into(),
        R::RefI31 => "ref.i31".into(),
        R::RefI31Shared => "ref.i31_shared".into(),
        R::Either(alts) => format!("either({})", alts.iter().map(pattern_text).collect::<Vec<_>>().join(" | ")),
    }
}

fn heap_text(ty: &HeapType<'_>) -> String {
    match ty {
        HeapType::Abstract { shared, ty } => {
            let name = format!("{ty:?}").to_lowercase();
            if *shared { format!("(shared {name})") } else { name }
        }
        HeapType::Concrete(i) | HeapType::Exact(i) => format!("{i:?}"),
    }
}

fn nan_f32(p: &NanPattern<F32>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => f32_text(v.bits),
    }
}

fn nan_f64(p: &NanPattern<F64>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => f64_text(v.bits),
    }
}

fn f32_text(bits: u32) -> String {
    format!("{:?} ({bits:#010x})", f32::from_bits(bits))
}

fn f64_text(bits: u64) -> String {
    format!("{:?} ({bits:#018x})", f64::from_bits(bits))
}

fn v128_text(p: &V128Pattern) -> String {
    match p {
        V128Pattern::I8x16(l) => format!("i8x16 {l:?}"),
        V128Pattern::I16x8(l) => format!("i16x8 {l:?}"),
        V128Pattern::I32x4(l) => format!("i32x4 {l:?}"),
        V128Pattern::I64x2(l) => format!("i64x2 {l:?}"),
        V128Pattern::F32x4(l) => format!("f32x4 [{}]", l.iter().map(nan_f32).collect::<Vec<_>>().join(", ")),
        V128Pattern::F64x2(l) => format!("f64x2 [{}]", l.iter().map(nan_f64).collect::<Vec<_>>().join(", ")),
    }
}

/// A returned value, as a script would write it.
pub fn value_text<T: 'static>(store: &mut Store<T>, v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32 {x}"),
        Val::I64(x) => format!("i64 {x}"),
        Val::F32(b) => format!("f32 {}", f32_text(*b)),
        Val::F64(b) => format!("f64 {}", f64_text(*b)),
        Val::V128(x) => format!("v128 {:#034x}", x.as_u128()),
        Val::FuncRef(None) => "ref.null func".into(),
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(x)) => match extern_number(store, x) {
            Some(n) => format!("ref.extern {n}"),
            None => "ref.extern".into(),
        },
        Val::AnyRef(None) => "ref.null any".into(),
        Val::AnyRef(Some(a)) => {
            let a = *a;
            if let Ok(Some(i)) = a.as_i31(&*store) {
                format!("ref.i31 {}", i.get_i32())
            } else if a.is_struct(&*store).unwrap_or(false) {
                "ref.struct".into()
            } else if a.is_array(&*store).unwrap_or(false) {
                "ref.array".into()
            } else {
                match host_number(store, a) {
                    Some(n) => format!("ref.host {n}"),
                    None => "ref.any".into(),
                }
            }
        }
        Val::ExnRef(None) => "ref.null exn".into(),
        Val::ExnRef(Some(_)) => "ref.exn".into(),
        Val::ContRef(None) => "ref.null cont".into(),
        Val::ContRef(Some(_)) => "ref.cont".into(),
    }
}

/// The number an `externref` made by the script holds.
fn extern_number<T: 'static>(store: &Store<T>, x: &wasmtime::Rooted<ExternRef>) -> Option<u32> {
    x.data(store).ok().flatten().and_then(|d| d.downcast_ref::<u32>()).copied()
}

/// The number of a host reference: an `anyref` that is an internalized
/// `externref` the script made.
fn host_number<T: 'static>(store: &mut Store<T>, a: wasmtime::Rooted<AnyRef>) -> Option<u32> {
    let x = ExternRef::convert_any(&mut *store, a).ok()?;
    extern_number(store, &x)
}

/// Whether `actual` matches `expected`.
pub fn matches<T: 'static>(store: &mut Store<T>, actual: &Val, expected: &WastRetCore<'_>) -> Result<(), Mismatch> {
    use WastRetCore as R;
    let differs = |store: &mut Store<T>, why: &str| {
        let seen = value_text(store, actual);
        let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
        Err(Mismatch::Differs(format!("expected {}, observed {seen}{why}", pattern_text(expected))))
    };
    let ok = |b: bool| if b { Ok(()) } else { Err(()) };
    let result: Result<(), ()> = match (actual, expected) {
        (_, R::Either(alts)) => {
            let mut unsupported = None;
            for alt in alts {
                match matches(store, actual, alt) {
                    Ok(()) => return Ok(()),
                    Err(Mismatch::Unsupported(why)) => unsupported = Some(why),
                    Err(Mismatch::Differs(_)) => {}
                }
            }
            match unsupported {
                Some(why) => return Err(Mismatch::Unsupported(why)),
                None => Err(()),
            }
        }
        (Val::I32(a), R::I32(b)) => ok(a == b),
        (Val::I64(a), R::I64(b)) => ok(a == b),
        (Val::F32(a), R::F32(p)) => ok(f32_matches(*a, p)),
        (Val::F64(a), R::F64(p)) => ok(f64_matches(*a, p)),
        (Val::V128(a), R::V128(p)) => ok(v128_matches(a.as_u128(), p)),
        (_, R::RefI31Shared) => {
            return Err(Mismatch::Unsupported(
                "ref.i31_shared: shared-everything threads are not a Wasm 3.0 proposal and are not enabled".into(),
            ));
        }
        // A null of the hierarchy the pattern names (any null when it
        // names a concrete type or none).
        (Val::FuncRef(None), R::RefNull(ty)) => ok(null_in(ty, Hierarchy::Func)),
        (Val::ExternRef(None), R::RefNull(ty)) => ok(null_in(ty, Hierarchy::Extern)),
        (Val::AnyRef(None), R::RefNull(ty)) => ok(null_in(ty, Hierarchy::Any)),
        (Val::ExnRef(None), R::RefNull(ty)) => ok(null_in(ty, Hierarchy::Exn)),
        (Val::ContRef(None), R::RefNull(ty)) => ok(null_in(ty, Hierarchy::Cont)),
        (Val::FuncRef(Some(_)), R::RefFunc(_)) => Ok(()),
        (Val::ExternRef(Some(_)), R::RefExtern(None)) => Ok(()),
        (Val::ExternRef(Some(x)), R::RefExtern(Some(n))) => ok(extern_number(store, x) == Some(*n)),
        (Val::AnyRef(Some(_)), R::RefAny) => Ok(()),
        (Val::AnyRef(Some(a)), R::RefEq) => ok(a.is_eqref(&*store).unwrap_or(false)),
        (Val::AnyRef(Some(a)), R::RefStruct) => ok(a.is_struct(&*store).unwrap_or(false)),
        (Val::AnyRef(Some(a)), R::RefArray) => ok(a.is_array(&*store).unwrap_or(false)),
        (Val::AnyRef(Some(a)), R::RefI31) => ok(a.is_i31(&*store).unwrap_or(false)),
        (Val::AnyRef(Some(a)), R::RefHost(n)) => {
            let a = *a;
            ok(host_number(store, a) == Some(*n))
        }
        _ => Err(()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(()) => differs(store, ""),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Hierarchy {
    Func,
    Extern,
    Any,
    Exn,
    Cont,
}

fn null_in(ty: &Option<HeapType<'_>>, actual: Hierarchy) -> bool {
    use AbstractHeapType as H;
    let Some(HeapType::Abstract { ty, .. }) = ty else { return true };
    let expected = match ty {
        H::Func | H::NoFunc => Hierarchy::Func,
        H::Extern | H::NoExtern => Hierarchy::Extern,
        H::Any | H::Eq | H::Struct | H::Array | H::I31 | H::None => Hierarchy::Any,
        H::Exn | H::NoExn => Hierarchy::Exn,
        H::Cont | H::NoCont => Hierarchy::Cont,
    };
    expected == actual
}

/// A canonical NaN: exponent all ones, only the payload's top bit set;
/// either sign. An arithmetic NaN: exponent all ones and the payload's top
/// bit set, any other payload bits.
pub fn f32_matches(bits: u32, p: &NanPattern<F32>) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

pub fn f64_matches(bits: u64, p: &NanPattern<F64>) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

/// Lane `i` of `width` bits, little-endian lane order.
fn lane(v: u128, width: u32, i: usize) -> u128 {
    let mask = if width == 128 { u128::MAX } else { (1u128 << width) - 1 };
    (v >> (width as usize * i)) & mask
}

pub fn v128_matches(v: u128, p: &V128Pattern) -> bool {
    match p {
        V128Pattern::I8x16(l) => l.iter().enumerate().all(|(i, x)| lane(v, 8, i) == u128::from(*x as u8)),
        V128Pattern::I16x8(l) => l.iter().enumerate().all(|(i, x)| lane(v, 16, i) == u128::from(*x as u16)),
        V128Pattern::I32x4(l) => l.iter().enumerate().all(|(i, x)| lane(v, 32, i) == u128::from(*x as u32)),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, x)| lane(v, 64, i) == u128::from(*x as u64)),
        V128Pattern::F32x4(l) => l.iter().enumerate().all(|(i, p)| f32_matches(lane(v, 32, i) as u32, p)),
        V128Pattern::F64x2(l) => l.iter().enumerate().all(|(i, p)| f64_matches(lane(v, 64, i) as u64, p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32p(bits: u32) -> NanPattern<F32> {
        NanPattern::Value(F32 { bits })
    }

    #[test]
    fn floats_compare_bits_and_nan_patterns() {
        assert!(f32_matches(0x3f80_0000, &f32p(0x3f80_0000)));
        // -0.0 is not 0.0, bit for bit.
        assert!(!f32_matches(0x8000_0000, &f32p(0)));
        assert!(f32_matches(0x7fc0_0000, &NanPattern::CanonicalNan));
        assert!(f32_matches(0xffc0_0000, &NanPattern::CanonicalNan));
        assert!(!f32_matches(0x7fc0_0001, &NanPattern::CanonicalNan));
        assert!(f32_matches(0x7fc0_0001, &NanPattern::ArithmeticNan));
        // A signalling NaN is not arithmetic.
        assert!(!f32_matches(0x7f80_0001, &NanPattern::ArithmeticNan));
        assert!(!f32_matches(0x7f80_0000, &NanPattern::ArithmeticNan));
        assert!(f64_matches(0xfff8_0000_0000_0000, &NanPattern::CanonicalNan));
        assert!(!f64_matches(0x7ff0_0000_0000_0001, &NanPattern::ArithmeticNan));
        assert!(f64_matches(0x7ff8_0000_0000_0001, &NanPattern::ArithmeticNan));
    }

    #[test]
    fn v128_compares_lane_by_lane() {
        let v = 0x0000_0004_0000_0003_0000_0002_ffff_ffffu128;
        assert!(v128_matches(v, &V128Pattern::I32x4([-1, 2, 3, 4])));
        assert!(!v128_matches(v, &V128Pattern::I32x4([-1, 2, 4, 3])));
        assert!(v128_matches(v, &V128Pattern::I64x2([0x0000_0002_ffff_ffff, 0x0000_0004_0000_0003])));
        assert!(v128_matches(0xff, &V128Pattern::I8x16([-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
        let nan = V128Pattern::F32x4([NanPattern::CanonicalNan, f32p(0), f32p(0), f32p(0)]);
        assert!(v128_matches(0x7fc0_0000, &nan));
        assert!(!v128_matches(0x7fc0_0001, &nan));
    }
}
