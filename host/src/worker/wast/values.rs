//! `assert_return`: the values a call returned, against the script's
//! expected results, by the rules the spec's runners use. Integers match
//! exactly; floats bit for bit, except that `nan:canonical` stands for the
//! canonical NaN of either sign and `nan:arithmetic` for any quiet NaN;
//! `v128` lane by lane in the shape the script wrote; references by
//! nullness, hierarchy and, for host references, their number; `either`
//! by any one of its alternatives.
//!
//! Engine-neutral: each engine turns its values into [`Value`]s.

use wast::WastArg;
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
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

/// A value as the spec scripts see it, whatever engine produced it: what
/// `assert_return` compares and reports, and what an `invoke` passes. An
/// engine turns its own values into these, asking its store what a
/// reference is while the reference is still alive.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    I32(i32),
    I64(i64),
    /// The bits.
    F32(u32),
    F64(u64),
    V128(u128),
    /// A null reference of this hierarchy: all a null carries at run time.
    Null(Hierarchy),
    Func,
    /// An `externref`; the number the script gave it, when the script made
    /// it.
    Extern(Option<u32>),
    Any(AnyRef),
    Exn,
    Cont,
}

/// What a non-null `anyref` is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AnyRef {
    I31(i32),
    Struct,
    Array,
    /// An internalized `externref` (a spec host reference); its number when
    /// the script made it.
    Host(Option<u32>),
}

/// A returned value, as a script would write it.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::I32(x) => format!("i32 {x}"),
        Value::I64(x) => format!("i64 {x}"),
        Value::F32(b) => format!("f32 {}", f32_text(*b)),
        Value::F64(b) => format!("f64 {}", f64_text(*b)),
        Value::V128(x) => format!("v128 {x:#034x}"),
        Value::Null(h) => format!("ref.null {}", h.name()),
        Value::Func => "ref.func".into(),
        Value::Extern(Some(n)) => format!("ref.extern {n}"),
        Value::Extern(None) => "ref.extern".into(),
        Value::Any(AnyRef::I31(i)) => format!("ref.i31 {i}"),
        Value::Any(AnyRef::Struct) => "ref.struct".into(),
        Value::Any(AnyRef::Array) => "ref.array".into(),
        Value::Any(AnyRef::Host(Some(n))) => format!("ref.host {n}"),
        Value::Any(AnyRef::Host(None)) => "ref.any".into(),
        Value::Exn => "ref.exn".into(),
        Value::Cont => "ref.cont".into(),
    }
}

/// An `invoke` argument as a value. A null is a null of its hierarchy's
/// top type: that is all an engine's value holds.
pub fn arg(arg: &WastArg<'_>) -> Result<Value, String> {
    let WastArg::Core(core) = arg else { return Err("component values are not supported".into()) };
    Ok(match core {
        WastArgCore::I32(x) => Value::I32(*x),
        WastArgCore::I64(x) => Value::I64(*x),
        WastArgCore::F32(x) => Value::F32(x.bits),
        WastArgCore::F64(x) => Value::F64(x.bits),
        WastArgCore::V128(x) => Value::V128(u128::from_le_bytes(x.to_le_bytes())),
        WastArgCore::RefNull(HeapType::Abstract { ty, .. }) => {
            use AbstractHeapType as H;
            match ty {
                H::Func | H::NoFunc => Value::Null(Hierarchy::Func),
                H::Extern | H::NoExtern => Value::Null(Hierarchy::Extern),
                H::Any | H::Eq | H::Struct | H::Array | H::I31 | H::None => Value::Null(Hierarchy::Any),
                H::Exn | H::NoExn => Value::Null(Hierarchy::Exn),
                other => return Err(format!("a null {other:?} reference (a proposal faultbox does not enable)")),
            }
        }
        WastArgCore::RefExtern(n) => Value::Extern(Some(*n)),
        // The spec's host references are `any` values: an externref
        // internalized, as `any.convert_extern` would.
        WastArgCore::RefHost(n) => Value::Any(AnyRef::Host(Some(*n))),
        other => return Err(format!("argument {other:?} needs a proposal faultbox does not enable")),
    })
}

/// Whether `actual` matches `expected`.
pub fn matches(actual: &Value, expected: &WastRetCore<'_>) -> Result<(), Mismatch> {
    use WastRetCore as R;
    let ok = |b: bool| if b { Ok(()) } else { Err(()) };
    let result: Result<(), ()> = match (actual, expected) {
        (_, R::Either(alts)) => {
            let mut unsupported = None;
            for alt in alts {
                match matches(actual, alt) {
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
        (Value::I32(a), R::I32(b)) => ok(a == b),
        (Value::I64(a), R::I64(b)) => ok(a == b),
        (Value::F32(a), R::F32(p)) => ok(f32_matches(*a, p)),
        (Value::F64(a), R::F64(p)) => ok(f64_matches(*a, p)),
        (Value::V128(a), R::V128(p)) => ok(v128_matches(*a, p)),
        (_, R::RefI31Shared) => {
            return Err(Mismatch::Unsupported(
                "ref.i31_shared: shared-everything threads are not a Wasm 3.0 proposal and are not enabled".into(),
            ));
        }
        // A null of the hierarchy the pattern names (any null when it
        // names a concrete type or none).
        (Value::Null(h), R::RefNull(ty)) => ok(null_in(ty, *h)),
        (Value::Func, R::RefFunc(_)) => Ok(()),
        (Value::Extern(_), R::RefExtern(None)) => Ok(()),
        (Value::Extern(x), R::RefExtern(Some(n))) => ok(*x == Some(*n)),
        (Value::Any(_), R::RefAny) => Ok(()),
        (Value::Any(a), R::RefEq) => ok(matches!(a, AnyRef::I31(_) | AnyRef::Struct | AnyRef::Array)),
        (Value::Any(a), R::RefStruct) => ok(*a == AnyRef::Struct),
        (Value::Any(a), R::RefArray) => ok(*a == AnyRef::Array),
        (Value::Any(a), R::RefI31) => ok(matches!(a, AnyRef::I31(_))),
        (Value::Any(a), R::RefHost(n)) => ok(*a == AnyRef::Host(Some(*n))),
        _ => Err(()),
    };
    result.map_err(|()| Mismatch::Differs(format!("expected {}, observed {}", pattern_text(expected), value_text(actual))))
}

/// The reference hierarchies, each named by its top type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Hierarchy {
    Func,
    Extern,
    Any,
    Exn,
    Cont,
}

impl Hierarchy {
    fn name(self) -> &'static str {
        match self {
            Hierarchy::Func => "func",
            Hierarchy::Extern => "extern",
            Hierarchy::Any => "any",
            Hierarchy::Exn => "exn",
            Hierarchy::Cont => "cont",
        }
    }
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
    fn references_match_by_hierarchy_nullness_and_number() {
        use WastRetCore as R;
        let null = |ty| R::RefNull(Some(HeapType::Abstract { shared: false, ty }));
        assert!(matches(&Value::Null(Hierarchy::Func), &null(AbstractHeapType::Func)).is_ok());
        assert!(matches(&Value::Null(Hierarchy::Func), &null(AbstractHeapType::NoFunc)).is_ok());
        assert!(matches(&Value::Null(Hierarchy::Func), &null(AbstractHeapType::Extern)).is_err());
        assert!(matches(&Value::Null(Hierarchy::Any), &R::RefNull(None)).is_ok());
        assert!(matches(&Value::Func, &R::RefNull(None)).is_err());
        assert!(matches(&Value::Extern(Some(7)), &R::RefExtern(Some(7))).is_ok());
        assert!(matches(&Value::Extern(Some(7)), &R::RefExtern(Some(8))).is_err());
        assert!(matches(&Value::Extern(None), &R::RefExtern(None)).is_ok());
        assert!(matches(&Value::Any(AnyRef::I31(3)), &R::RefEq).is_ok());
        assert!(matches(&Value::Any(AnyRef::Host(Some(5))), &R::RefEq).is_err());
        assert!(matches(&Value::Any(AnyRef::Host(Some(5))), &R::RefHost(5)).is_ok());
        assert!(matches(&Value::Any(AnyRef::Struct), &R::RefArray).is_err());
        let Err(Mismatch::Differs(why)) = matches(&Value::Extern(Some(7)), &R::RefExtern(Some(8))) else { panic!() };
        assert_eq!(why, "expected ref.extern 8, observed ref.extern 7");
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
