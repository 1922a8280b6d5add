//! A small MessagePack encoder/decoder with a dynamic [`Value`].
//!
//! Supports nil, bool, integers (up to 64-bit, signed and unsigned), float32/float64,
//! str, bin, array, map and ext. Encoding always picks the smallest representation.

use std::fmt;

/// A dynamically typed MessagePack value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// A negative (or signed-encoded) integer.
    Int(i64),
    /// A non-negative integer.
    UInt(u64),
    /// A float (float32 is widened when decoding; always encoded as float64).
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// Raw bytes.
    Bin(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A map, in encoding order. Keys are usually strings.
    Map(Vec<(Value, Value)>),
    /// An extension value `(type, data)`.
    Ext(i8, Vec<u8>),
}

impl Value {
    /// Builds a map with string keys.
    pub fn map<K: Into<String>>(entries: Vec<(K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (Value::Str(k.into()), v)).collect())
    }

    /// Looks up `key` in a map with string keys; `None` if absent or not a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find_map(|(k, v)| match k {
                Value::Str(s) if s == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// `true` for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The boolean, if this is a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as `u64`, if it is a non-negative integer. A float with an integral
    /// value is accepted too: JavaScript encoders (msgpackr) write integers above
    /// 2^32, such as epoch milliseconds, as float64.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::UInt(u) => Some(u),
            Value::Int(i) if i >= 0 => Some(i as u64),
            Value::Float(f) if f >= 0.0 && f.fract() == 0.0 && f < 18446744073709551616.0 => Some(f as u64),
            _ => None,
        }
    }

    /// The value as `i64`, if it is an integer that fits (integral floats accepted, see
    /// [`Value::as_u64`]).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) if u <= i64::MAX as u64 => Some(u as i64),
            Value::Float(f) if f.fract() == 0.0 && f >= -9223372036854775808.0 && f < 9223372036854775808.0 => {
                Some(f as i64)
            }
            _ => None,
        }
    }

    /// The number as `f64` (integers are converted).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            _ => None,
        }
    }

    /// The string, if this is a str.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes of a bin or a str.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bin(b) => Some(b),
            Value::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Encodes this value as MessagePack.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(self, &mut out);
        out
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::UInt(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::UInt(v as u64)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::UInt(v as u64)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        if v >= 0 { Value::UInt(v as u64) } else { Value::Int(v) }
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::from(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bin(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bin(v.to_vec())
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::Array(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        match v {
            Some(v) => v.into(),
            None => Value::Nil,
        }
    }
}

/// Encodes `v` as MessagePack.
pub fn encode(v: &Value) -> Vec<u8> {
    v.encode()
}

fn encode_uint(u: u64, out: &mut Vec<u8>) {
    if u < 0x80 {
        out.push(u as u8);
    } else if u <= 0xff {
        out.push(0xcc);
        out.push(u as u8);
    } else if u <= 0xffff {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u <= 0xffff_ffff {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        encode_uint(i as u64, out);
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= i8::MIN as i64 {
        out.push(0xd0);
        out.push(i as i8 as u8);
    } else if i >= i16::MIN as i64 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= i32::MIN as i64 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn encode_len(len: usize, fix: Option<(u8, usize)>, m8: Option<u8>, m16: u8, m32: u8, out: &mut Vec<u8>) {
    match fix {
        Some((base, max)) if len <= max => {
            out.push(base | len as u8);
            return;
        }
        _ => {}
    }
    match m8 {
        Some(m) if len <= 0xff => {
            out.push(m);
            out.push(len as u8);
        }
        _ if len <= 0xffff => {
            out.push(m16);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(m32);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn encode_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Bool(false) => out.push(0xc2),
        Value::Bool(true) => out.push(0xc3),
        Value::UInt(u) => encode_uint(*u, out),
        Value::Int(i) => encode_int(*i, out),
        Value::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Str(s) => {
            encode_len(s.len(), Some((0xa0, 31)), Some(0xd9), 0xda, 0xdb, out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bin(b) => {
            encode_len(b.len(), None, Some(0xc4), 0xc5, 0xc6, out);
            out.extend_from_slice(b);
        }
        Value::Array(a) => {
            encode_len(a.len(), Some((0x90, 15)), None, 0xdc, 0xdd, out);
            for e in a {
                encode_into(e, out);
            }
        }
        Value::Map(m) => {
            encode_len(m.len(), Some((0x80, 15)), None, 0xde, 0xdf, out);
            for (k, e) in m {
                encode_into(k, out);
                encode_into(e, out);
            }
        }
        Value::Ext(t, data) => {
            let fixext = match data.len() {
                1 => Some(0xd4),
                2 => Some(0xd5),
                4 => Some(0xd6),
                8 => Some(0xd7),
                16 => Some(0xd8),
                _ => None,
            };
            match fixext {
                Some(m) => out.push(m),
                None => encode_len(data.len(), None, Some(0xc7), 0xc8, 0xc9, out),
            }
            out.push(*t as u8);
            out.extend_from_slice(data);
        }
    }
}

/// A MessagePack decoding error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset where decoding failed.
    pub offset: usize,
    /// What went wrong.
    pub reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid MessagePack at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// Maximum nesting depth accepted by [`decode`].
const MAX_DEPTH: usize = 512;

/// Decodes one MessagePack value that must span all of `bytes`. Empty input decodes as nil
/// (the ABI's convention for an empty response).
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    if bytes.is_empty() {
        return Ok(Value::Nil);
    }
    let mut d = Decoder { buf: bytes, pos: 0 };
    let v = d.value(0)?;
    if d.pos != bytes.len() {
        return Err(d.err("trailing bytes"));
    }
    Ok(v)
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError { offset: self.pos, reason }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(self.err("unexpected end of input"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn len(&mut self, bytes: usize) -> Result<usize, DecodeError> {
        Ok(match bytes {
            1 => self.u8()? as usize,
            2 => u16::from_be_bytes(self.be()?) as usize,
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    fn str(&mut self, n: usize) -> Result<Value, DecodeError> {
        let start = self.pos;
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(Value::Str(s.to_string())),
            Err(_) => Err(DecodeError { offset: start, reason: "invalid UTF-8 in str" }),
        }
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        // Each element takes at least one byte: do not trust huge lengths.
        let mut a = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for _ in 0..n {
            a.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(a))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        let mut m = Vec::with_capacity(n.min((self.buf.len() - self.pos) / 2));
        for _ in 0..n {
            let k = self.value(depth + 1)?;
            let v = self.value(depth + 1)?;
            m.push((k, v));
        }
        Ok(Value::Map(m))
    }

    fn ext(&mut self, n: usize) -> Result<Value, DecodeError> {
        let t = self.u8()? as i8;
        Ok(Value::Ext(t, self.take(n)?.to_vec()))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let m = self.u8()?;
        Ok(match m {
            0x00..=0x7f => Value::UInt(m as u64),
            0x80..=0x8f => return self.map((m & 0x0f) as usize, depth),
            0x90..=0x9f => return self.array((m & 0x0f) as usize, depth),
            0xa0..=0xbf => return self.str((m & 0x1f) as usize),
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 | 0xc5 | 0xc6 => {
                let n = self.len(1 << (m - 0xc4))?;
                Value::Bin(self.take(n)?.to_vec())
            }
            0xc7 | 0xc8 | 0xc9 => {
                let n = self.len(1 << (m - 0xc7))?;
                return self.ext(n);
            }
            0xca => Value::Float(f32::from_be_bytes(self.be()?) as f64),
            0xcb => Value::Float(f64::from_be_bytes(self.be()?)),
            0xcc => Value::UInt(self.u8()? as u64),
            0xcd => Value::UInt(u16::from_be_bytes(self.be()?) as u64),
            0xce => Value::UInt(u32::from_be_bytes(self.be()?) as u64),
            0xcf => Value::UInt(u64::from_be_bytes(self.be()?)),
            0xd0 => Value::Int(self.u8()? as i8 as i64),
            0xd1 => Value::Int(i16::from_be_bytes(self.be()?) as i64),
            0xd2 => Value::Int(i32::from_be_bytes(self.be()?) as i64),
            0xd3 => Value::Int(i64::from_be_bytes(self.be()?)),
            0xd4..=0xd8 => return self.ext(1 << (m - 0xd4)),
            0xd9 | 0xda | 0xdb => {
                let n = self.len(1 << (m - 0xd9))?;
                return self.str(n);
            }
            0xdc | 0xdd => {
                let n = self.len(if m == 0xdc { 2 } else { 4 })?;
                return self.array(n, depth);
            }
            0xde | 0xdf => {
                let n = self.len(if m == 0xde { 2 } else { 4 })?;
                return self.map(n, depth);
            }
            0xe0..=0xff => Value::Int(m as i8 as i64),
            0xc1 => {
                self.pos -= 1;
                return Err(self.err("reserved marker 0xc1"));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(v: Value) {
        assert_eq!(decode(&encode(&v)).unwrap(), v);
    }

    #[test]
    fn roundtrip() {
        rt(Value::Nil);
        rt(Value::Bool(true));
        rt(Value::Bool(false));
        for u in [0u64, 1, 127, 128, 255, 256, 65535, 65536, u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX] {
            rt(Value::UInt(u));
        }
        for i in [-1i64, -32, -33, -128, -129, -32768, -32769, i32::MIN as i64, i32::MIN as i64 - 1, i64::MIN] {
            rt(Value::Int(i));
        }
        rt(Value::Float(1.5));
        rt(Value::Str("".into()));
        rt(Value::Str("x".repeat(31)));
        rt(Value::Str("é".repeat(100)));
        rt(Value::Str("y".repeat(70000)));
        rt(Value::Bin(vec![1, 2, 3]));
        rt(Value::Bin(vec![0; 300]));
        rt(Value::Array((0..20u64).map(Value::UInt).collect()));
        rt(Value::map(vec![("a", Value::UInt(1)), ("b", Value::Array(vec![Value::Nil]))]));
        rt(Value::Ext(-1, vec![0; 4]));
        rt(Value::Ext(5, vec![0; 3]));
    }

    #[test]
    fn known_encodings() {
        assert_eq!(encode(&Value::UInt(5)), [5]);
        assert_eq!(encode(&Value::Int(-1)), [0xff]);
        assert_eq!(encode(&Value::from(-200i64)), [0xd1, 0xff, 0x38]);
        assert_eq!(encode(&Value::from("hi")), [0xa2, b'h', b'i']);
        assert_eq!(encode(&Value::map(vec![("ms", Value::UInt(300))])), [0x81, 0xa2, b'm', b's', 0xcd, 1, 44]);
        assert_eq!(decode(&[0xca, 0x3f, 0xc0, 0, 0]).unwrap(), Value::Float(1.5));
        assert_eq!(decode(&[]).unwrap(), Value::Nil);
    }

    #[test]
    fn integral_floats() {
        assert_eq!(Value::Float(1764160000000.0).as_u64(), Some(1764160000000));
        assert_eq!(Value::Float(-3.0).as_i64(), Some(-3));
        assert_eq!(Value::Float(1.5).as_u64(), None);
        assert_eq!(Value::Float(-1.0).as_u64(), None);
    }

    #[test]
    fn errors() {
        assert!(decode(&[0xc1]).is_err());
        assert!(decode(&[0xa5, b'a']).is_err());
        assert!(decode(&[0x01, 0x02]).is_err());
        assert!(decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0xa1, 0xff]).is_err());
    }
}
