//! How Piranha's C parser read numbers and addresses, so that every file
//! it loaded loads here with the same values.
//!
//! Piranha read every number with `strtol(token, &end, 0)`, refused the
//! token unless `end` reached its end, and kept the result in a C `int`;
//! it read every address and netmask with glibc's `inet_aton`. Both take
//! more spellings than people expect (`+8`, `0x8`, `010` = 8, `10.1` =
//! 10.0.0.1, `167772161` = 10.0.0.1). The functions here reproduce those
//! readings (written from the C standard's and glibc's documented
//! behaviour, and tested against the C library itself), and say how the
//! text was spelled so that the caller can warn when the spelling is not
//! the plain one.

use std::net::Ipv4Addr;

/// How a number was written, when that is not plain decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberForm {
    /// Plain decimal (a leading `-` included).
    Decimal,
    /// A leading `+`, otherwise decimal.
    Plus,
    /// `0x`/`0X`: hexadecimal.
    Hex,
    /// A leading zero: octal.
    Octal,
    /// Empty (`""`): `strtol` converts nothing and leaves `end` at the
    /// start, which Piranha's end check accepts for an empty token only:
    /// it read 0.
    Empty,
}

/// A number as Piranha's `getNum` read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CNumber {
    /// What `strtol` returned (saturated to the 64-bit `long` range).
    pub(crate) long: i64,
    /// What Piranha kept: the `long` stored in a 32-bit `int`.
    pub(crate) int: i32,
    /// How the digits were written.
    pub(crate) form: NumberForm,
}

impl CNumber {
    /// Whether the number fits 32 bits (signed, or unsigned as a mark or
    /// a timeout): then it means what it says, here as under Piranha.
    pub(crate) fn fits_32_bits(self) -> bool {
        self.long >= i64::from(i32::MIN) && self.long <= i64::from(u32::MAX)
    }

    /// The value it stands for: as written when it fits 32 bits, else what
    /// Piranha's `int` kept (its low 32 bits, as a signed number).
    pub(crate) fn value(self) -> i64 {
        if self.fits_32_bits() {
            self.long
        } else {
            i64::from(self.int)
        }
    }
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `strtol(word, &end, 0)` with Piranha's check that `*end == 0`: `None`
/// when Piranha refused the token ("integer expected").
pub(crate) fn strtol_whole(word: &str) -> Option<CNumber> {
    let bytes = word.as_bytes();
    let mut i = 0;
    while i < bytes.len() && is_c_space(bytes[i]) {
        i += 1;
    }
    let mut negative = false;
    let mut plus = false;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        negative = bytes[i] == b'-';
        plus = bytes[i] == b'+';
        i += 1;
    }
    let (radix, form) = if bytes.get(i) == Some(&b'0')
        && matches!(bytes.get(i + 1), Some(b'x' | b'X'))
        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
        (16, NumberForm::Hex)
    } else if bytes.get(i) == Some(&b'0') && bytes.len() > i + 1 {
        (8, NumberForm::Octal)
    } else {
        (
            10,
            if plus {
                NumberForm::Plus
            } else {
                NumberForm::Decimal
            },
        )
    };
    let digits_start = i;
    let mut magnitude: u128 = 0;
    while let Some(d) = bytes.get(i).and_then(|b| (*b as char).to_digit(radix)) {
        // Saturate far beyond the range of a long: strtol clamps anyway.
        magnitude = (magnitude * u128::from(radix) + u128::from(d)).min(u128::from(u64::MAX));
        i += 1;
    }
    if i == digits_start {
        // No conversion: strtol leaves `end` at the start of the token, so
        // only a token that is empty or all blanks passes the end check.
        return bytes.is_empty().then_some(CNumber {
            long: 0,
            int: 0,
            form: NumberForm::Empty,
        });
    }
    if i != bytes.len() {
        return None;
    }
    let long = if negative {
        if magnitude > i64::MAX as u128 + 1 {
            i64::MIN
        } else {
            (-(magnitude as i128)) as i64
        }
    } else {
        magnitude.min(i64::MAX as u128) as i64
    };
    // A leading zero that changes nothing (`0`, `00`, `07`) is not worth
    // a warning: octal and decimal agree.
    let form = match form {
        NumberForm::Octal if word[digits_start..].parse::<i64>().ok() == Some(long.abs()) => {
            if plus {
                NumberForm::Plus
            } else {
                NumberForm::Decimal
            }
        }
        f => f,
    };
    Some(CNumber {
        long,
        int: long as i32,
        form,
    })
}

/// glibc's `inet_aton`: one to four parts, each a C number (decimal,
/// `0x` hexadecimal, leading-zero octal); the last part fills the rest of
/// the address (`10.1` = 10.0.0.1, `167772161` = 10.0.0.1). A blank and
/// anything after it are ignored, as glibc does.
pub(crate) fn inet_aton(word: &str) -> Option<Ipv4Addr> {
    let bytes = word.as_bytes();
    let mut parts: Vec<u32> = Vec::with_capacity(4);
    let mut i = 0;
    let last = loop {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (radix, mut j) = if bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
            if bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit) {
                (16, i + 2)
            } else {
                // "0x" without hex digits: the number is the 0, and the
                // `x` is trailing text.
                (10, i)
            }
        } else if bytes[i] == b'0' {
            (8, i)
        } else {
            (10, i)
        };
        let mut value: u64 = 0;
        let digits_start = j;
        while let Some(d) = bytes.get(j).and_then(|b| (*b as char).to_digit(radix)) {
            value = value * u64::from(radix) + u64::from(d);
            if value > u64::from(u32::MAX) {
                return None;
            }
            j += 1;
        }
        if j == digits_start {
            return None;
        }
        i = j;
        if bytes.get(i) == Some(&b'.') {
            if parts.len() == 3 || value > 255 {
                return None;
            }
            parts.push(value as u32);
            i += 1;
        } else {
            break value as u32;
        }
    };
    if let Some(&b) = bytes.get(i) {
        if !b.is_ascii() || !is_c_space(b) {
            return None;
        }
    }
    let max: u32 = match parts.len() {
        0 => u32::MAX,
        1 => 0x00ff_ffff,
        2 => 0xffff,
        _ => 0xff,
    };
    if last > max {
        return None;
    }
    let mut addr: u32 = 0;
    for (k, p) in parts.iter().enumerate() {
        addr |= p << (24 - 8 * k);
    }
    Some(Ipv4Addr::from(addr | last))
}

/// The prefix length the kernel gives an IPv4 address added without a
/// usable netmask (`SIOCSIFADDR`, which is what `ifconfig DEV ADDR`
/// starts with): the old address classes, A /8, B /16, C /24; anything
/// else /32.
pub(crate) fn classful_prefix(addr: Ipv4Addr) -> u8 {
    match addr.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        192..=223 => 24,
        _ => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ffi::CString;

    /// The C library's own reading: `strtol` and the end check, as
    /// Piranha's `getNum` did it.
    fn libc_getnum(word: &str) -> Option<(i64, i32)> {
        let c = CString::new(word).ok()?;
        let mut end: *mut libc::c_char = std::ptr::null_mut();
        // SAFETY: `c` is a NUL-terminated string that outlives the call;
        // `end` receives a pointer into it.
        let long = unsafe { libc::strtol(c.as_ptr(), &mut end, 0) };
        // SAFETY: strtol sets `end` to a position inside `c`.
        let rest = unsafe { *end };
        (rest == 0).then_some((long, long as i32))
    }

    fn libc_inet_aton(word: &str) -> Option<Ipv4Addr> {
        let c = CString::new(word).ok()?;
        let mut addr = libc::in_addr { s_addr: 0 };
        // SAFETY: `c` is NUL-terminated; `addr` is a valid out pointer.
        let ok = unsafe { inet_aton_c(c.as_ptr(), &mut addr) };
        (ok != 0).then(|| Ipv4Addr::from(u32::from_be(addr.s_addr)))
    }

    extern "C" {
        #[link_name = "inet_aton"]
        fn inet_aton_c(cp: *const libc::c_char, inp: *mut libc::in_addr) -> libc::c_int;
    }

    #[test]
    fn numbers_as_piranha_read_them() {
        let read = |w: &str| strtol_whole(w).map(|n| (n.int, n.form));
        assert_eq!(read("8"), Some((8, NumberForm::Decimal)));
        assert_eq!(read("+8"), Some((8, NumberForm::Plus)));
        assert_eq!(read("010"), Some((8, NumberForm::Octal)));
        assert_eq!(read("0x8"), Some((8, NumberForm::Hex)));
        assert_eq!(read("0X1f"), Some((31, NumberForm::Hex)));
        assert_eq!(read("-5"), Some((-5, NumberForm::Decimal)));
        assert_eq!(read("07"), Some((7, NumberForm::Decimal)));
        assert_eq!(read("0"), Some((0, NumberForm::Decimal)));
        assert_eq!(read(""), Some((0, NumberForm::Empty)));
        assert_eq!(read(" 8"), Some((8, NumberForm::Decimal)));
        assert_eq!(read("4294967377"), Some((81, NumberForm::Decimal)));
        for refused in ["08", "0x", "8 ", "1.5", "+", "-", "0xg", "x8", "8x", " "] {
            assert_eq!(read(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn addresses_as_inet_aton_reads_them() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().ok();
        assert_eq!(inet_aton("10.0.0.1"), ip("10.0.0.1"));
        assert_eq!(inet_aton("10.1"), ip("10.0.0.1"));
        assert_eq!(inet_aton("167772161"), ip("10.0.0.1"));
        assert_eq!(inet_aton("0x0a.0.0.1"), ip("10.0.0.1"));
        assert_eq!(inet_aton("012.0.0.1"), ip("10.0.0.1"));
        assert_eq!(inet_aton("10.0.1"), ip("10.0.0.1"));
        assert_eq!(inet_aton("127.1"), ip("127.0.0.1"));
        for refused in [
            "",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2",
            "a.b.c.d",
            "08.1.1.1",
            "1.2.3.4x",
        ] {
            assert_eq!(inet_aton(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn classful_prefixes() {
        assert_eq!(classful_prefix(Ipv4Addr::new(10, 1, 2, 3)), 8);
        assert_eq!(classful_prefix(Ipv4Addr::new(172, 16, 0, 1)), 16);
        assert_eq!(classful_prefix(Ipv4Addr::new(192, 168, 0, 1)), 24);
        assert_eq!(classful_prefix(Ipv4Addr::new(224, 0, 0, 1)), 32);
    }

    proptest! {
        #[test]
        fn strtol_matches_the_c_library(word in "[ +-]?(0[xX])?[0-9a-fA-FxX]{0,22}[ .]?") {
            let ours = strtol_whole(&word).map(|n| (n.long, n.int));
            prop_assert_eq!(ours, libc_getnum(&word), "{:?}", word);
        }

        #[test]
        fn inet_aton_matches_the_c_library(word in "[0-9a-fA-FxX.]{0,20}( [a-z]{0,3})?") {
            prop_assert_eq!(inet_aton(&word), libc_inet_aton(&word), "{:?}", word);
        }

        #[test]
        fn inet_aton_reads_numeric_forms(octets in any::<[u8; 4]>(), parts in 1usize..=4, style in 0u8..3) {
            let addr = u32::from_be_bytes(octets);
            let fmt = |v: u32| match style {
                0 => v.to_string(),
                1 => format!("0x{v:x}"),
                _ => format!("0{v:o}"),
            };
            let word = match parts {
                1 => fmt(addr),
                2 => format!("{}.{}", fmt(addr >> 24), fmt(addr & 0xff_ffff)),
                3 => format!("{}.{}.{}", fmt(addr >> 24), fmt((addr >> 16) & 0xff), fmt(addr & 0xffff)),
                _ => octets.iter().map(|o| fmt(u32::from(*o))).collect::<Vec<_>>().join("."),
            };
            prop_assert_eq!(inet_aton(&word), Some(Ipv4Addr::from(addr)), "{}", word);
            prop_assert_eq!(libc_inet_aton(&word), Some(Ipv4Addr::from(addr)), "{}", word);
        }
    }
}
