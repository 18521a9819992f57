//! Microsoft's layout of struct members (MinGW's default), as gcc's `place_field` does it.

use crate::types::round_up;

/// What gcc's `place_field` keeps between members of a struct laid out with Microsoft's
/// rules (`-mms-bitfields`, MinGW's default): the bitfield that opened the current run
/// (its type's size and its width, both in bits) and the bits left in the run's unit.
#[derive(Default)]
pub(super) struct MsState {
    pub(super) prev: Option<(usize, usize)>,
    pub(super) remaining: usize,
}

/// Places one member of a struct with Microsoft's rules, as gcc's `place_field` does
/// (gcc/stor-layout.cc, the `ms_bitfield_layout_p` paths), and returns its position in
/// bits; `pos` moves past it. `width` is the member's size in bits (a bitfield's width),
/// `type_bits` its type's, `desired` its DECL_ALIGN in bits and `unit_align` the alignment
/// a new storage unit gets (its type's, 1 byte if packed, capped by `#pragma pack`).
/// gcc decides on realigning before it uses up the last unit, so a member after a run may
/// stay unaligned: in `struct { char c; unsigned short f : 8; short g
/// __attribute__((aligned(2))); } __attribute__((packed))` g is at 3.
pub(super) fn ms_place(
    st: &mut MsState,
    pos: &mut usize,
    bitfield: bool,
    width: usize,
    type_bits: usize,
    desired: usize,
    unit_align: usize,
) -> usize {
    let known = if *pos == 0 {
        usize::MAX
    } else {
        1 << pos.trailing_zeros()
    };
    if known < desired && st.prev.is_none() {
        *pos = round_up(*pos, desired);
    }
    let mut prev_saved = st.prev;
    if let Some((prev_type, prev_width)) = st.prev {
        let mut realign = known < desired;
        if bitfield && width != 0 && prev_width != 0 && type_bits == prev_type {
            if st.remaining < width {
                // Out of bits: the next unit.
                *pos += st.remaining;
                st.prev = Some((type_bits, width));
                st.remaining = type_bits.saturating_sub(width);
            } else {
                st.remaining -= width;
                realign = false;
            }
        } else {
            // The end of a run uses up its unit.
            if prev_width != 0 {
                *pos += st.remaining;
            } else {
                prev_saved = None;
            }
            if !bitfield || width == 0 {
                st.prev = None;
            }
        }
        if realign {
            *pos = round_up(*pos, desired);
        }
    }
    let new_unit = !bitfield
        || match prev_saved {
            Some((prev_type, _)) => type_bits != prev_type,
            None => width != 0,
        };
    if new_unit {
        st.remaining = type_bits.saturating_sub(width);
        *pos = round_up(*pos, unit_align);
        st.prev = None;
    }
    let at = *pos;
    if st.prev.is_none() && bitfield {
        st.prev = Some((type_bits, width));
    }
    *pos += width;
    at
}
