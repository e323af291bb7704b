//! Sixteen bytes at once: the vector steps the hot loops need (are these bytes the same, where
//! does a JSON string's plain run stop, which bytes are not ASCII, which are digits), and the
//! comparison and search built on them.
//! Plugins run them as WebAssembly SIMD (which wasmtime turns into SSE), native builds as SSE2
//! on x86-64 and as plain words elsewhere: the property tests, run natively, check the loops
//! the plugins run, and the plugins' end-to-end tests run the WebAssembly steps.

/// Sixteen bytes held as one vector.
#[derive(Clone, Copy, Debug)]
pub struct Lanes(imp::Vector);

impl Lanes {
    /// The sixteen bytes of `bytes`, in one load.
    #[inline(always)]
    pub fn load(bytes: &[u8; 16]) -> Lanes {
        Lanes(imp::load(bytes))
    }

    /// Whether these sixteen bytes are `other`'s.
    #[inline(always)]
    pub fn same(self, other: Lanes) -> bool {
        imp::same(self.0, other.0)
    }

    /// A bit for each byte (bit 0 for the first) that ends a JSON string's plain run: a quote,
    /// a backslash or a control character.
    #[inline(always)]
    pub fn specials(self) -> u32 {
        imp::specials(self.0)
    }

    /// A bit for each byte (bit 0 for the first) that is not ASCII.
    #[inline(always)]
    pub fn non_ascii(self) -> u32 {
        imp::non_ascii(self.0)
    }

    /// A bit for each byte (bit 0 for the first) that is an ASCII digit.
    #[inline(always)]
    pub fn digits(self) -> u32 {
        imp::digits(self.0)
    }
}

/// How many bytes of a JSON string's content come before its first quote, backslash or control
/// character; `None` when there is none in `bytes`. Sixteen bytes at a time (one vector step),
/// then eight (one word), then byte by byte.
#[inline]
pub fn plain_run(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let found = Lanes::load(chunk).specials();
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize);
        }
        at += 16;
    }
    special_words(&bytes[at..]).map(|found| at + found)
}

/// [`plain_run`] for fewer than sixteen bytes.
#[inline]
fn special_words(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default());
        // A byte is flagged when it is below 0x20 or equal to a quote or a backslash; a borrow
        // can flag bytes after a flagged one, never before, so the first flag is exact.
        let below = x.wrapping_sub(ONES * 0x20) & !x;
        let quote = (x ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES) & !(x ^ (ONES * u64::from(b'"')));
        let slash = (x ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) & !(x ^ (ONES * u64::from(b'\\')));
        let found = (below | quote | slash) & HIGH;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| ends_plain_run(b)).map(|p| at + p)
}

/// Whether `byte` ends a JSON string's plain run: a quote, a backslash or a control character.
#[inline(always)]
fn ends_plain_run(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// Whether two byte strings are equal, a word or sixteen bytes at a time: in WebAssembly a
/// `memcmp` call goes byte by byte. The steps are compared without a branch each (the strings
/// compared on the hot path are nearly always equal), the last step overlapping the one before.
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if n < 8 {
        let word = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or_default());
        return (word(a, 0) ^ word(b, 0)) | (word(a, n - 4) ^ word(b, n - 4)) == 0;
    }
    if n < 16 {
        let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or_default());
        return (word(a, 0) ^ word(b, 0)) | (word(a, n - 8) ^ word(b, n - 8)) == 0;
    }
    // Sixteen bytes a step, the last step overlapping the one before.
    let mut same = lanes_at(a, n - 16).same(lanes_at(b, n - 16));
    let mut at = 0;
    while at + 16 < n {
        same &= lanes_at(a, at).same(lanes_at(b, at));
        at += 16;
    }
    same
}

/// A fixed byte string of 1 to 16·K bytes (the head before an event's text, or its tail), held as
/// K vectors: the hot loop of remembered events compares it with a read in K steps, with no loop
/// and no branch on its length. (In WebAssembly every turn of a loop is also an interruption
/// check, and Cranelift, short of registers in that loop, reloaded a slice's place and length
/// from the stack at every use.)
#[derive(Clone, Copy, Debug)]
pub struct Fixed<const K: usize> {
    /// The sixteen bytes from 0, 16, 32… each clamped to the last sixteen (a byte may be
    /// compared twice); under sixteen bytes, the bytes then zeros.
    lanes: [Lanes; K],
    /// All ones where a loaded byte is past the string's end (under sixteen bytes), else zero.
    past: Lanes,
    /// How many bytes it holds.
    len: usize,
}

impl<const K: usize> Fixed<K> {
    /// `bytes` as vectors, when it is 1 to 16·K bytes long.
    pub fn new(bytes: &[u8]) -> Option<Fixed<K>> {
        let n = bytes.len();
        if n == 0 || n > 16 * K {
            return None;
        }
        let (mut first, mut past) = ([0; 16], [0xff; 16]);
        first[..n.min(16)].copy_from_slice(&bytes[..n.min(16)]);
        past[..n.min(16)].fill(0);
        let lanes = std::array::from_fn(|i| match n < 16 {
            true => Lanes::load(&first),
            false => lanes_at(bytes, (16 * i).min(n - 16)),
        });
        Some(Fixed { lanes, past: Lanes::load(&past), len: n })
    }

    /// How many bytes it holds.
    #[inline(always)]
    pub fn size(&self) -> usize {
        self.len
    }

    /// Whether `bytes` holds these bytes from `at`, with at least sixteen bytes there (with
    /// fewer, `false`: the caller reads such an event another way).
    #[inline(always)]
    pub fn is_at(&self, bytes: &[u8], at: usize) -> bool {
        let Some(held) = bytes.get(at..at + self.len.max(16)) else { return false };
        let last = held.len() - 16;
        let step = |i: usize| imp::equal(lanes_at(held, (16 * i).min(last)).0, self.lanes[i].0);
        let mut equal = step(0);
        for i in 1..K {
            equal = imp::and(equal, step(i));
        }
        imp::all_ones(imp::or(equal, self.past.0))
    }
}

/// The sixteen bytes of `bytes` from `at`, which has them.
#[inline(always)]
fn lanes_at(bytes: &[u8], at: usize) -> Lanes {
    Lanes::load(bytes[at..at + 16].try_into().unwrap_or(&[0; 16]))
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::{
        i8x16_eq, u8x16_all_true, u8x16_bitmask, u8x16_min, u8x16_splat, v128, v128_load, v128_or,
    };

    pub(super) type Vector = v128;

    #[inline(always)]
    pub(super) fn load(bytes: &[u8; 16]) -> v128 {
        // SAFETY: the reference holds sixteen readable bytes, and `v128.load` has no alignment
        // requirement.
        unsafe { v128_load(bytes.as_ptr().cast()) }
    }

    #[inline(always)]
    pub(super) fn same(a: v128, b: v128) -> bool {
        u8x16_all_true(i8x16_eq(a, b))
    }

    #[inline(always)]
    pub(super) fn equal(a: v128, b: v128) -> v128 {
        i8x16_eq(a, b)
    }

    #[inline(always)]
    pub(super) fn and(a: v128, b: v128) -> v128 {
        core::arch::wasm32::v128_and(a, b)
    }

    #[inline(always)]
    pub(super) fn or(a: v128, b: v128) -> v128 {
        v128_or(a, b)
    }

    #[inline(always)]
    pub(super) fn all_ones(x: v128) -> bool {
        u8x16_all_true(x)
    }

    #[inline(always)]
    pub(super) fn specials(x: v128) -> u32 {
        let quote = i8x16_eq(x, u8x16_splat(b'"'));
        let slash = i8x16_eq(x, u8x16_splat(b'\\'));
        // `u8x16_lt` becomes four instructions in wasmtime (a minimum and a compare, then an
        // all-ones register made and xored to negate); a byte below 0x20 is one whose minimum
        // with 0x1f is itself.
        let control = i8x16_eq(u8x16_min(x, u8x16_splat(0x1f)), x);
        u32::from(u8x16_bitmask(v128_or(v128_or(quote, slash), control)))
    }

    #[inline(always)]
    pub(super) fn non_ascii(x: v128) -> u32 {
        u32::from(u8x16_bitmask(x))
    }

    #[inline(always)]
    pub(super) fn digits(x: v128) -> u32 {
        // A digit is a byte whose distance above `0` (wrapping) is at most 9: its minimum with 9
        // is itself (as in `specials`, cheaper than a "less than").
        let above = core::arch::wasm32::u8x16_sub(x, u8x16_splat(b'0'));
        u32::from(u8x16_bitmask(i8x16_eq(u8x16_min(above, u8x16_splat(9)), above)))
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    pub(super) type Vector = __m128i;

    #[inline(always)]
    pub(super) fn load(bytes: &[u8; 16]) -> __m128i {
        // SAFETY: the reference holds sixteen readable bytes, and `loadu` has no alignment
        // requirement.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    #[inline(always)]
    pub(super) fn same(a: __m128i, b: __m128i) -> bool {
        // SAFETY: SSE2 is part of x86-64 (these take no pointer).
        unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) == 0xffff }
    }

    #[inline(always)]
    pub(super) fn equal(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of x86-64 (this takes no pointer).
        unsafe { _mm_cmpeq_epi8(a, b) }
    }

    #[inline(always)]
    pub(super) fn and(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of x86-64 (this takes no pointer).
        unsafe { core::arch::x86_64::_mm_and_si128(a, b) }
    }

    #[inline(always)]
    pub(super) fn or(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of x86-64 (this takes no pointer).
        unsafe { _mm_or_si128(a, b) }
    }

    #[inline(always)]
    pub(super) fn all_ones(x: __m128i) -> bool {
        // SAFETY: SSE2 is part of x86-64 (this takes no pointer).
        unsafe { _mm_movemask_epi8(x) == 0xffff }
    }

    #[inline(always)]
    pub(super) fn specials(x: __m128i) -> u32 {
        // SAFETY: SSE2 is part of x86-64 (these take no pointer).
        unsafe {
            let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
            let slash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
            // SSE2 has no unsigned "less than": a byte is below 0x20 when its minimum with 0x1f
            // is itself.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), control)) as u32
        }
    }

    #[inline(always)]
    pub(super) fn non_ascii(x: __m128i) -> u32 {
        // SAFETY: SSE2 is part of x86-64 (this takes no pointer).
        unsafe { _mm_movemask_epi8(x) as u32 }
    }

    #[inline(always)]
    pub(super) fn digits(x: __m128i) -> u32 {
        // SAFETY: SSE2 is part of x86-64 (these take no pointer).
        unsafe {
            // A digit is a byte whose distance above `0` (wrapping) is at most 9.
            let above = core::arch::x86_64::_mm_sub_epi8(x, _mm_set1_epi8(b'0' as i8));
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(above, _mm_set1_epi8(9)), above)) as u32
        }
    }
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
mod imp {
    pub(super) type Vector = [u8; 16];

    #[inline(always)]
    pub(super) fn load(bytes: &[u8; 16]) -> [u8; 16] {
        *bytes
    }

    #[inline(always)]
    pub(super) fn same(a: [u8; 16], b: [u8; 16]) -> bool {
        u128::from_ne_bytes(a) == u128::from_ne_bytes(b)
    }

    #[inline(always)]
    pub(super) fn equal(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
        core::array::from_fn(|i| if a[i] == b[i] { 0xff } else { 0 })
    }

    #[inline(always)]
    pub(super) fn and(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
        core::array::from_fn(|i| a[i] & b[i])
    }

    #[inline(always)]
    pub(super) fn or(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
        core::array::from_fn(|i| a[i] | b[i])
    }

    #[inline(always)]
    pub(super) fn all_ones(x: [u8; 16]) -> bool {
        x == [0xff; 16]
    }

    #[inline(always)]
    pub(super) fn specials(x: [u8; 16]) -> u32 {
        x.iter().enumerate().fold(0, |bits, (i, &b)| bits | (u32::from(super::ends_plain_run(b)) << i))
    }

    #[inline(always)]
    pub(super) fn non_ascii(x: [u8; 16]) -> u32 {
        x.iter().enumerate().fold(0, |bits, (i, &b)| bits | (u32::from(!b.is_ascii()) << i))
    }

    #[inline(always)]
    pub(super) fn digits(x: [u8; 16]) -> u32 {
        x.iter().enumerate().fold(0, |bits, (i, &b)| bits | (u32::from(b.is_ascii_digit()) << i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The vector steps agree with byte-by-byte ones, whatever the bytes.
        #[test]
        fn lanes_agree_with_bytes(bytes in any::<[u8; 16]>(), other in any::<[u8; 16]>(), copy in any::<bool>()) {
            let other = if copy { bytes } else { other };
            prop_assert_eq!(Lanes::load(&bytes).same(Lanes::load(&other)), bytes == other);
            let plain = bytes
                .iter()
                .enumerate()
                .fold(0u32, |bits, (i, &b)| bits | (u32::from(b == b'"' || b == b'\\' || b < 0x20) << i));
            prop_assert_eq!(Lanes::load(&bytes).specials(), plain);
            let high = bytes.iter().enumerate().fold(0u32, |bits, (i, &b)| bits | (u32::from(!b.is_ascii()) << i));
            prop_assert_eq!(Lanes::load(&bytes).non_ascii(), high);
            let digits = bytes.iter().enumerate().fold(0u32, |bits, (i, &b)| bits | (u32::from(b.is_ascii_digit()) << i));
            prop_assert_eq!(Lanes::load(&bytes).digits(), digits);
        }

        /// The vector and word search finds what a byte-by-byte one finds.
        #[test]
        fn special_bytes_are_found_like_a_plain_search(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let plain = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(plain_run(&bytes), plain);
        }

        /// A string held as vectors is found where `==` finds it and nowhere else, whatever
        /// its length (under sixteen bytes, sixteen, or up to the most the vectors hold),
        /// wherever one byte differs, and with as few bytes after it as the read may hold.
        #[test]
        fn fixed_strings_are_found_like_equal_bytes(
            string in proptest::collection::vec(any::<u8>(), 1..=64),
            before in 0usize..20,
            after in 0usize..20,
            flip in any::<proptest::sample::Index>(),
            change in any::<bool>(),
        ) {
            let mut read = vec![b'x'; before];
            read.extend_from_slice(&string);
            read.extend(std::iter::repeat_n(b'y', after));
            if change {
                let at = before + flip.index(string.len());
                read[at] ^= 1 << (at % 8);
            }
            let fixed = Fixed::<4>::new(&string).expect("up to 64 bytes");
            prop_assert_eq!(fixed.size(), string.len());
            // Found only with sixteen bytes to load from its start, and where the bytes are it.
            let room = read.len() - before >= 16;
            prop_assert_eq!(fixed.is_at(&read, before), room && read[before..].starts_with(&string));
            // Too long for two vectors: not held.
            prop_assert_eq!(Fixed::<2>::new(&string).is_some(), string.len() <= 32);
        }

        /// The word-at-a-time comparison agrees with `==`, whatever the lengths and wherever
        /// one byte differs.
        #[test]
        fn same_bytes_agrees_with_equality(
            bytes in proptest::collection::vec(any::<u8>(), 0..80),
            other_len in 0usize..80,
            flip in any::<proptest::sample::Index>(),
            change in any::<bool>(),
        ) {
            let mut copy = bytes.clone();
            if change && !copy.is_empty() {
                let at = flip.index(copy.len());
                copy[at] ^= 1 << (at % 8);
            }
            prop_assert_eq!(same(&bytes, &copy), bytes == copy);
            let other = &bytes[..other_len.min(bytes.len())];
            prop_assert_eq!(same(&bytes, other), bytes.as_slice() == other);
        }
    }
}
