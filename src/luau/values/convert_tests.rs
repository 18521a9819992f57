use super::*;

/// The fast conversion accepts exactly the integers in the type's range, as the
/// reference (an exact integer test in i128) says, and gives the same bits.
#[test]
fn number_bits_accepts_exactly_the_integers_in_range() {
    let ranges: [(Prim, i128, i128); 8] = [
        (Prim::I8, i8::MIN as i128, i8::MAX as i128),
        (Prim::U8, 0, u8::MAX as i128),
        (Prim::I16, i16::MIN as i128, i16::MAX as i128),
        (Prim::U16, 0, u16::MAX as i128),
        (Prim::I32, i32::MIN as i128, i32::MAX as i128),
        (Prim::U32, 0, u32::MAX as i128),
        (Prim::I64, i64::MIN as i128, i64::MAX as i128),
        (Prim::U64, 0, (1i128 << 53) - 1),
    ];
    let mut values = vec![
        0.0,
        -0.0,
        0.5,
        -0.5,
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        9_223_372_036_854_775_808.0,
        -9_223_372_036_854_775_808.0,
        9_007_199_254_740_992.0,
    ];
    for &(_, lo, hi) in &ranges {
        for edge in [lo, hi] {
            let e = edge as f64;
            for d in [-1.0, -0.5, 0.0, 0.5, 1.0] {
                values.push(e + d);
            }
            values.push(f64::from_bits(e.to_bits() + 1));
            values.push(f64::from_bits(e.to_bits().wrapping_sub(1)));
        }
    }
    for (p, lo, hi) in ranges {
        for &n in &values {
            let exact = n.is_finite() && n.fract() == 0.0;
            let want = (exact && (n as i128) >= lo && (n as i128) <= hi)
                .then_some(n as i128 as i64 as u64);
            assert_eq!(number_bits(n, p, p), want, "{:?} {:e}", p, n);
        }
    }
}
