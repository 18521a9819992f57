//! Where a bitfield's bits are, and reading and writing them.

use crate::types::LayoutError;

/// Where a bitfield's bits are: `width` bits starting at bit `bit_offset` (0..8, counted
/// from the least significant bit) of the byte at the field's `offset`. Every supported
/// target is little-endian, so the field is the bits `bit_offset..bit_offset+width` of
/// the little-endian integer made of the bytes `offset..offset+span()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BitField {
    pub bit_offset: u32,
    pub width: u32,
    /// Whether reads sign-extend (the declared type is signed; `int x:3` is signed).
    pub signed: bool,
    /// Size in bytes of the declared type (the C storage unit's size).
    pub unit_size: usize,
}

impl BitField {
    /// Number of bytes the field touches (at most 9: a 64-bit field not on a byte).
    pub fn span(&self) -> usize {
        (self.bit_offset + self.width).div_ceil(8) as usize
    }

    fn mask(&self) -> u128 {
        (1u128 << self.width) - 1
    }

    /// Smallest value the field holds.
    pub fn min(&self) -> i128 {
        if self.signed {
            -(1i128 << (self.width - 1))
        } else {
            0
        }
    }

    /// Largest value the field holds.
    pub fn max(&self) -> i128 {
        if self.signed {
            (1i128 << (self.width - 1)) - 1
        } else {
            (1i128 << self.width) - 1
        }
    }

    /// Reads the field from `bytes` (the bytes from the field's `offset`, at least
    /// `span()` of them), sign-extended when the type is signed. `None` if `bytes` is short.
    pub fn extract(&self, bytes: &[u8]) -> Option<i128> {
        let span = bytes.get(..self.span())?;
        let mut raw = 0u128;
        for (i, b) in span.iter().enumerate() {
            raw |= (*b as u128) << (8 * i);
        }
        let v = (raw >> self.bit_offset) & self.mask();
        if self.signed && (v >> (self.width - 1)) & 1 == 1 {
            Some(v as i128 - (1i128 << self.width))
        } else {
            Some(v as i128)
        }
    }

    /// Writes `value` into the field's bits of `bytes`, leaving every other bit as it was.
    /// An error (nothing written) if the value is outside `min()..=max()` or `bytes` is
    /// shorter than `span()`.
    pub fn insert(&self, bytes: &mut [u8], value: i128) -> Result<(), LayoutError> {
        if value < self.min() || value > self.max() {
            return Err(LayoutError::BitfieldValue {
                value,
                width: self.width,
                signed: self.signed,
                min: self.min(),
                max: self.max(),
            });
        }
        let n = self.span();
        let have = bytes.len();
        let span = bytes
            .get_mut(..n)
            .ok_or(LayoutError::BitfieldBytes { need: n, have })?;
        let mut raw = 0u128;
        for (i, b) in span.iter().enumerate() {
            raw |= (*b as u128) << (8 * i);
        }
        let mask = self.mask() << self.bit_offset;
        raw = (raw & !mask) | (((value as u128) & self.mask()) << self.bit_offset);
        for (i, b) in span.iter_mut().enumerate() {
            *b = (raw >> (8 * i)) as u8;
        }
        Ok(())
    }
}
