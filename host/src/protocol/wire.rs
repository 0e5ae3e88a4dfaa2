//! How values are written on the wire where serde's defaults would not do
//! for a worker written in JavaScript or Go:
//!
//! - [`dec`]: every 64-bit integer (`i64`, `u64`) is a JSON *string* of its
//!   decimal digits (`"-42"`, `"18446744073709551615"`): a JSON number
//!   goes through a double in JavaScript (and in Go's `interface{}`
//!   decoding), which keeps only 53 bits. 32-bit and smaller integers stay
//!   JSON numbers. In the schema such a field is [`DecI64`] or [`DecU64`]
//!   (`"type": "string"` with a pattern).
//! - [`base64`]: module bytes, in the standard alphabet with padding.
//! - layer-0 types that also appear in reports, whose own serialization
//!   (JSON numbers) must not change there ([`Limits`], [`Progress`]),
//!   travel through wire mirrors ([`LimitsWire`], [`ProgressWire`]).

use crate::limits::Limits;
use crate::outcome::Progress;
use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// `#[serde(with = "wire::dec")]`: a value with 64-bit integers in it,
/// written with those integers as decimal strings. Works for `i64`, `u64`
/// and anything [`Wire`] builds from them (`Option`, `Vec`, pairs, maps,
/// [`Limits`], [`Progress`]).
pub mod dec {
    use super::Wire;
    use serde::{Deserializer, Serializer};

    pub fn serialize<T: Wire, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        value.to_wire(s)
    }

    pub fn deserialize<'de, T: Wire, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        T::from_wire(d)
    }
}

/// A type with a wire form of its own (see [`dec`]).
pub trait Wire: Sized {
    fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Serializes a borrowed value in its wire form.
struct Out<'a, T>(&'a T);

impl<T: Wire> Serialize for Out<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.to_wire(s)
    }
}

/// Deserializes a value from its wire form.
struct In<T>(T);

impl<'de, T: Wire> Deserialize<'de> for In<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::from_wire(d).map(In)
    }
}

/// The digits of a 64-bit integer: an optional `-`, then one or more ASCII
/// digits, nothing else (no `+`, no spaces, no exponent).
struct Digits<T>(std::marker::PhantomData<T>);

impl<T: std::str::FromStr> Visitor<'_> for Digits<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format!("a 64-bit integer ({}) as a JSON string of decimal digits, such as \"-42\"", std::any::type_name::<T>()))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        let digits = v.strip_prefix('-').unwrap_or(v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::invalid_value(serde::de::Unexpected::Str(v), &self));
        }
        v.parse().map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
    }
}

macro_rules! wire_integer {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }

            fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(Digits::<$t>(std::marker::PhantomData))
            }
        }
    )*};
}

wire_integer!(i64, u64);

impl<T: Wire> Wire for Option<T> {
    fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => s.serialize_some(&Out(v)),
            None => s.serialize_none(),
        }
    }

    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<In<T>>::deserialize(d)?.map(|v| v.0))
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Out))
    }

    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<In<T>>::deserialize(d)?.into_iter().map(|v| v.0).collect())
    }
}

impl<A: Wire, B: Wire> Wire for (A, B) {
    fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Out(&self.0), Out(&self.1)).serialize(s)
    }

    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (a, b) = <(In<A>, In<B>)>::deserialize(d)?;
        Ok((a.0, b.0))
    }
}

impl<K: Ord + Serialize + DeserializeOwned, V: Wire> Wire for BTreeMap<K, V> {
    fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, v)| (k, Out(v))))
    }

    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<K, In<V>>::deserialize(d)?.into_iter().map(|(k, v)| (k, v.0)).collect())
    }
}

/// In the schema: a signed 64-bit integer as a decimal string.
pub struct DecI64;

impl schemars::JsonSchema for DecI64 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DecI64".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+$",
            "description": "A signed 64-bit integer (i64) as a JSON string of its decimal digits, such as \"-9223372036854775808\": every 64-bit integer travels as a string so that JavaScript and Go keep it exact."
        })
    }
}

/// In the schema: an unsigned 64-bit integer as a decimal string.
pub struct DecU64;

impl schemars::JsonSchema for DecU64 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DecU64".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "An unsigned 64-bit integer (u64) as a JSON string of its decimal digits, such as \"18446744073709551615\": every 64-bit integer travels as a string so that JavaScript and Go keep it exact."
        })
    }
}


/// The limits one run runs under (`crate::limits::Limits`, every field a
/// 64-bit integer).
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "Limits")]
#[serde(deny_unknown_fields)]
pub struct LimitsWire {
    /// CPU-time budget, ms.
    #[serde(with = "dec")]
    #[schemars(with = "DecU64")]
    pub timeout_ms: u64,
    /// Memory the guest may take, MiB.
    #[serde(with = "dec")]
    #[schemars(with = "DecU64")]
    pub memory_mib: u64,
    /// Wasm call-stack budget, KiB.
    #[serde(with = "dec")]
    #[schemars(with = "DecU64")]
    pub wasm_stack_kib: u64,
    /// Native stack of the thread that runs the scenario, KiB.
    #[serde(with = "dec")]
    #[schemars(with = "DecU64")]
    pub native_stack_kib: u64,
}

impl Wire for Limits {
    fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Limits { timeout_ms, memory_mib, wasm_stack_kib, native_stack_kib } = self.clone();
        LimitsWire { timeout_ms, memory_mib, wasm_stack_kib, native_stack_kib }.serialize(s)
    }

    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let LimitsWire { timeout_ms, memory_mib, wasm_stack_kib, native_stack_kib } = LimitsWire::deserialize(d)?;
        Ok(Limits { timeout_ms, memory_mib, wasm_stack_kib, native_stack_kib })
    }
}

/// Progress the guest reported while it ran (`crate::outcome::Progress`):
/// recursion depth, iterations, MiB allocated.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "Progress")]
#[serde(deny_unknown_fields)]
pub struct ProgressWire {
    /// The last value the guest reported.
    #[serde(with = "dec")]
    #[schemars(with = "DecI64")]
    pub last: i64,
    /// How many reports arrived.
    #[serde(with = "dec")]
    #[schemars(with = "DecU64")]
    pub reports: u64,
}

impl Wire for Progress {
    fn to_wire<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ProgressWire { last: self.last, reports: self.reports }.serialize(s)
    }

    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ProgressWire { last, reports } = ProgressWire::deserialize(d)?;
        Ok(Progress { last, reports })
    }
}

/// `#[serde(with = "wire::counts")]`: `Vec<(T, u64)>`, things with how many
/// times each was seen, as `[{"ending": T, "count": "<u64>"}]`.
pub mod counts {
    use super::Counted;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &[(T, u64)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|(ending, count)| Counted { ending, count: *count }))
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Vec<(T, u64)>, D::Error> {
        Ok(Vec::<Counted<T>>::deserialize(d)?.into_iter().map(|c| (c.ending, c.count)).collect())
    }
}

/// How many cycles ended one way.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "{T}Count")]
#[serde(deny_unknown_fields)]
pub struct Counted<T> {
    /// How the cycles ended.
    pub ending: T,
    /// How many cycles ended so.
    #[serde(with = "dec")]
    #[schemars(with = "DecU64")]
    pub count: u64,
}

/// A module on the wire: a binary `.wasm` file by absolute path, or its
/// bytes inline.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "Module")]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModuleWire {
    /// A binary wasm module on disk, by absolute path; the worker reads it
    /// (and may cache what it compiled from it, by path).
    Path { path: std::path::PathBuf },
    /// The module's bytes, base64 (standard alphabet, padded).
    Bytes { base64: String },
}

/// A module that travels as bytes only (`faultbox fuzz`'s random modules).
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "BytesModule")]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BytesModuleWire {
    /// The module's bytes, base64 (standard alphabet, padded).
    Bytes { base64: String },
}

/// `#[serde(with = "wire::module_bytes")]`: a `Vec<u8>` module written as
/// `{"type": "bytes", "base64": "..."}`.
pub mod module_bytes {
    use super::{BytesModuleWire, base64};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        BytesModuleWire::Bytes { base64: base64::encode(v) }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let BytesModuleWire::Bytes { base64: text } = BytesModuleWire::deserialize(d)?;
        base64::decode(&text).map_err(serde::de::Error::custom)
    }
}

/// Base64, the standard alphabet (RFC 4648 §4) with `=` padding. Decoding
/// is strict: no whitespace, no missing or misplaced padding.
pub mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let bad = |why: &str| format!("invalid base64 ({} characters): {why}", text.len());
        let t = text.as_bytes();
        if t.len() % 4 != 0 {
            return Err(bad("its length is not a multiple of 4"));
        }
        let mut out = Vec::with_capacity(t.len() / 4 * 3);
        for (i, quad) in t.chunks(4).enumerate() {
            let last = i + 1 == t.len() / 4;
            let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 || (pad > 0 && !last) {
                return Err(bad("misplaced padding"));
            }
            let mut n = 0u32;
            for &c in &quad[..4 - pad] {
                let v = match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a' + 26,
                    b'0'..=b'9' => c - b'0' + 52,
                    b'+' => 62,
                    b'/' => 63,
                    _ => return Err(bad(&format!("unexpected character {:?}", c as char))),
                };
                n = n << 6 | v as u32;
            }
            n <<= 6 * pad as u32;
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            // Bits that the padding says are not there must be zero: one
            // text per byte string.
            if bytes[3 - pad..].iter().any(|&b| b != 0) {
                return Err(bad("non-zero bits under the padding"));
            }
            out.extend_from_slice(&bytes[..3 - pad]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_rfc_4648() {
        for (plain, coded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64::encode(plain.as_bytes()), coded);
            assert_eq!(base64::decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for n in 0..all.len() {
            assert_eq!(base64::decode(&base64::encode(&all[..n])).unwrap(), &all[..n], "{n} bytes");
        }
        assert!(base64::encode(&[0xfb, 0xff]).contains('/') && base64::encode(&[0xfb, 0xef]).contains('+'));
        for bad in ["Zg", "Zg=", "Z===", "Zg==Zm9v", "Zm9v\n", "Zh==", "Zm9=", "Zm!v"] {
            assert!(base64::decode(bad).is_err(), "{bad:?} decoded");
        }
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Sample {
        #[serde(with = "dec")]
        a: i64,
        #[serde(with = "dec")]
        b: u64,
        #[serde(with = "dec")]
        c: Option<(u64, u64)>,
        #[serde(with = "dec")]
        d: BTreeMap<String, Vec<u64>>,
        #[serde(with = "dec")]
        e: Option<Progress>,
    }

    #[test]
    fn integers_of_64_bits_are_decimal_strings_both_ways() {
        let s = Sample {
            a: i64::MIN,
            b: u64::MAX,
            c: Some((0, u64::MAX)),
            d: [("x".to_string(), vec![1, 9007199254740993])].into(),
            e: Some(Progress { last: i64::MAX, reports: 3 }),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(
            text,
            r#"{"a":"-9223372036854775808","b":"18446744073709551615","c":["0","18446744073709551615"],"d":{"x":["1","9007199254740993"]},"e":{"last":"9223372036854775807","reports":"3"}}"#
        );
        assert_eq!(serde_json::from_str::<Sample>(&text).unwrap(), s);
        for (bad, why) in [
            (text.replace(r#""b":"18446744073709551615""#, r#""b":18446744073709551615"#), "a number"),
            (text.replace(r#""b":"18446744073709551615""#, r#""b":"18446744073709551616""#), "out of range"),
            (text.replace(r#""b":"18446744073709551615""#, r#""b":"-1""#), "negative unsigned"),
            (text.replace(r#""b":"18446744073709551615""#, r#""b":"+1""#), "a plus sign"),
            (text.replace(r#""b":"18446744073709551615""#, r#""b":" 1""#), "a space"),
            (text.replace(r#""b":"18446744073709551615""#, r#""b":"""#), "no digits"),
            (text.replace(r#""a":"-9223372036854775808""#, r#""a":"-""#), "a lone sign"),
            (text.replace(r#""a":"-9223372036854775808""#, r#""a":"1e3""#), "an exponent"),
        ] {
            let err = serde_json::from_str::<Sample>(&bad).expect_err(why).to_string();
            assert!(err.contains("decimal digits"), "{why}: {err}");
        }
    }
}
