use super::*;

fn p(p: Prim) -> CType {
    CType::Prim(p)
}

fn opts(rules: LayoutRules) -> RecordOptions {
    RecordOptions {
        rules,
        ..RecordOptions::default()
    }
}

/// (offset, bit_offset, width) of each named bitfield.
fn bitpos(s: &StructType) -> Vec<(usize, u32, u32)> {
    s.fields
        .iter()
        .filter_map(|f| f.bits.map(|b| (f.offset, b.bit_offset, b.width)))
        .collect()
}

#[test]
fn extract_and_insert_sign_extend_and_keep_neighbours() {
    let b = BitField {
        bit_offset: 5,
        width: 7,
        signed: true,
        unit_size: 4,
    };
    let mut bytes = [0xffu8, 0xff, 0xff];
    b.insert(&mut bytes, -3).unwrap();
    // -3 in 7 bits is 0b1111101: bits 5..12; bit 6 (value bit 1) is the only zero.
    assert_eq!(bytes, [0xbf, 0xff, 0xff]);
    assert_eq!(b.extract(&bytes), Some(-3));
    b.insert(&mut bytes, 63).unwrap();
    assert_eq!(b.extract(&bytes), Some(63));
    assert!(b
        .insert(&mut bytes, 64)
        .unwrap_err()
        .to_string()
        .contains("does not fit"));
    assert!(b.insert(&mut bytes, -65).is_err());
    let u = BitField {
        bit_offset: 7,
        width: 64,
        signed: false,
        unit_size: 8,
    };
    assert_eq!(u.span(), 9);
    let mut nine = [0u8; 9];
    u.insert(&mut nine, u64::MAX as i128).unwrap();
    assert_eq!(nine, [0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert_eq!(u.extract(&nine), Some(u64::MAX as i128));
    assert_eq!(u.extract(&nine[..8]), None);
}

#[test]
fn gcc_bitfields_move_only_when_they_would_straddle() {
    // struct { char a; int b:20; int c:12; short d:9; } — gcc x86-64: b at bits
    // 8..28, c does not fit in the rest of the first int -> bits 32..44, d at 48.
    let s = StructType::with_options(
        vec![
            MemberSpec::new("a", p(Prim::I8), None),
            MemberSpec::bitfield("b", p(Prim::I32), 20),
            MemberSpec::bitfield("c", p(Prim::I32), 12),
            MemberSpec::bitfield("d", p(Prim::I16), 9),
        ],
        &opts(LayoutRules::SysV),
    )
    .unwrap();
    assert_eq!(bitpos(&s), vec![(1, 0, 20), (4, 0, 12), (6, 0, 9)]);
    assert_eq!((s.size, s.align), (8, 4));
}

#[test]
fn msvc_bitfields_open_a_unit_per_type_size() {
    // The same struct under -mms-bitfields: b opens an int unit at 4, c shares it
    // (20 + 12 = 32), d (a short) opens a new unit at 8.
    let s = StructType::with_options(
        vec![
            MemberSpec::new("a", p(Prim::I8), None),
            MemberSpec::bitfield("b", p(Prim::I32), 20),
            MemberSpec::bitfield("c", p(Prim::I32), 12),
            MemberSpec::bitfield("d", p(Prim::I16), 9),
        ],
        &opts(LayoutRules::Msvc),
    )
    .unwrap();
    assert_eq!(bitpos(&s), vec![(4, 0, 20), (6, 4, 12), (8, 0, 9)]);
    assert_eq!((s.size, s.align), (12, 4));
}

#[test]
fn unions_packed_and_flexible() {
    let u = StructType::union(vec![
        super::super::FieldSpec {
            name: "c".into(),
            ty: p(Prim::U8),
            count: Some(5),
        },
        super::super::FieldSpec {
            name: "i".into(),
            ty: p(Prim::I32),
            count: None,
        },
    ])
    .unwrap();
    assert_eq!((u.size, u.align, u.is_union()), (8, 4, true));
    assert!(u.fields.iter().all(|f| f.offset == 0));
    let packed = StructType::with_options(
        vec![
            MemberSpec::new("a", p(Prim::U32), None),
            MemberSpec::new("b", p(Prim::U64), None),
        ],
        &RecordOptions {
            packed: true,
            ..RecordOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        (packed.size, packed.align, packed.fields[1].offset),
        (12, 1, 4)
    );
    assert!(packed.has_unaligned_fields());
    let flex = StructType::with_options(
        vec![
            MemberSpec::new("n", p(Prim::U8), None),
            MemberSpec::flexible("data", p(Prim::F64)),
        ],
        &RecordOptions::default(),
    )
    .unwrap();
    assert_eq!((flex.size, flex.align, flex.fields[1].offset), (8, 8, 8));
    assert!(flex.fields[1].flexible);
    let err = StructType::with_options(
        vec![
            MemberSpec::flexible("data", p(Prim::F64)),
            MemberSpec::new("n", p(Prim::U8), None),
        ],
        &RecordOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not the last field"), "{}", err);
}

#[test]
fn anonymous_members_are_found_by_lookup() {
    let inner = StructType::union(vec![
        super::super::FieldSpec {
            name: "i".into(),
            ty: p(Prim::I32),
            count: None,
        },
        super::super::FieldSpec {
            name: "f".into(),
            ty: p(Prim::F32),
            count: None,
        },
    ])
    .unwrap();
    let s = StructType::with_options(
        vec![
            MemberSpec::new("tag", p(Prim::U8), None),
            MemberSpec::new("", CType::Struct(std::sync::Arc::new(inner)), None),
        ],
        &RecordOptions::default(),
    )
    .unwrap();
    assert_eq!(s.lookup("f").unwrap().offset, 4);
    assert!(s.lookup("g").is_none());
    let anon = s.fields[1].ty.clone();
    let dup = StructType::with_options(
        vec![
            MemberSpec::new("f", p(Prim::U8), None),
            MemberSpec::new("", anon, None),
        ],
        &RecordOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(dup.contains("duplicate field 'f'"), "{}", dup);
}

#[test]
fn bad_bitfields_are_errors() {
    let wide = StructType::with_options(
        vec![MemberSpec::bitfield("a", p(Prim::U8), 9)],
        &RecordOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(wide.contains("9 bits wide"), "{}", wide);
    let float = StructType::with_options(
        vec![MemberSpec::bitfield("a", p(Prim::F32), 3)],
        &RecordOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(float.contains("needs an integer type"), "{}", float);
    let pack = StructType::with_options(
        vec![MemberSpec::new("a", p(Prim::U8), None)],
        &RecordOptions {
            pack: Some(3),
            ..RecordOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(pack.contains("power of two"), "{}", pack);
}
