//! HMAC-SHA256 (RFC 2104) over `sha2`'s SHA-256 block function.
//!
//! The key is absorbed once: the inner and outer pad blocks are compressed at keying time
//! and only the two resulting 32-byte states are kept. Each message then starts from a
//! copy of the inner state and streams whole blocks straight from the caller's slices, so
//! a delivery costs the blocks of `timestamp.body` plus one outer block: within a few
//! percent of a bare SHA-256 of the same bytes. The property tests check every output
//! against `ring` and the `hmac` crate.

use sha2::block_api::compress256;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

const BLOCK_LEN: usize = 64;
pub(crate) const TAG_LEN: usize = 32;
const INNER_PAD: u8 = 0x36;
const OUTER_PAD: u8 = 0x5c;
/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const INITIAL_STATE: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A secret keyed into HMAC-SHA256: the states after the inner and the outer pad block.
/// Both are as sensitive as the secret, so they are wiped on drop.
#[derive(Clone)]
pub(crate) struct MacKey {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl MacKey {
    pub(crate) fn new(secret: &[u8]) -> Self {
        // Keys longer than a block are replaced by their digest (RFC 2104, section 2).
        let mut key_block = [0u8; BLOCK_LEN];
        if secret.len() > BLOCK_LEN {
            key_block[..TAG_LEN].copy_from_slice(&Sha256::digest(secret));
        } else {
            key_block[..secret.len()].copy_from_slice(secret);
        }
        let mut pad_block = key_block.map(|byte| byte ^ INNER_PAD);
        let mut inner = INITIAL_STATE;
        compress256(&mut inner, &[pad_block]);
        pad_block = key_block.map(|byte| byte ^ OUTER_PAD);
        let mut outer = INITIAL_STATE;
        compress256(&mut outer, &[pad_block]);
        key_block.zeroize();
        pad_block.zeroize();
        Self { inner, outer }
    }

    /// A fresh MAC computation under this key.
    #[inline]
    pub(crate) fn start(&self) -> Mac {
        Mac {
            state: self.inner,
            outer: self.outer,
            pending: [0; BLOCK_LEN],
            pending_len: 0,
            // The inner pad block is already part of the hashed length.
            hashed_len: BLOCK_LEN as u64,
        }
    }

    /// The tag of the message `prefix`, `separator`, `body` (a signed message's
    /// `timestamp.body` shape) in one pass over borrowed parts: the same bytes as the
    /// streaming [`Mac`], without its per-call bookkeeping, which shows at small bodies.
    #[inline]
    pub(crate) fn tag(&self, prefix: &[u8], separator: u8, body: &[u8]) -> [u8; TAG_LEN] {
        if prefix.len() >= BLOCK_LEN - 1 {
            // Only a header padded past any real timestamp gets here.
            let mut mac = self.start();
            mac.update(prefix);
            mac.update(&[separator]);
            mac.update(body);
            return mac.finalize();
        }
        let mut state = self.inner;
        let mut block = [0u8; BLOCK_LEN];
        copy_short(&mut block[..prefix.len()], prefix);
        block[prefix.len()] = separator;
        let mut filled = prefix.len() + 1;
        let (head, rest) = body.split_at(body.len().min(BLOCK_LEN - filled));
        copy_short(&mut block[filled..filled + head.len()], head);
        filled += head.len();
        if filled == BLOCK_LEN {
            compress256(&mut state, core::slice::from_ref(&block));
            let (blocks, tail) = rest.as_chunks::<BLOCK_LEN>();
            if !blocks.is_empty() {
                compress256(&mut state, blocks);
            }
            // A fresh block, so everything after the tail is already the zero padding.
            block = [0u8; BLOCK_LEN];
            copy_short(&mut block[..tail.len()], tail);
            filled = tail.len();
        }
        let hashed = BLOCK_LEN + prefix.len() + 1 + body.len();
        let inner_digest = finish(&mut state, &mut block, filled, hashed as u64);
        state.zeroize();
        outer_tag(self.outer, &inner_digest)
    }
}

impl Drop for MacKey {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// One MAC computation in progress.
#[derive(Clone)]
pub(crate) struct Mac {
    state: [u32; 8],
    outer: [u32; 8],
    /// Bytes of an incomplete block, waiting for more input or the final padding.
    pending: [u8; BLOCK_LEN],
    pending_len: usize,
    /// Bytes absorbed by the inner hash so far, pad block included.
    hashed_len: u64,
}

impl Mac {
    #[inline]
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.hashed_len = self
            .hashed_len
            .wrapping_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        if self.pending_len > 0 {
            let take = data.len().min(BLOCK_LEN - self.pending_len);
            copy_short(
                &mut self.pending[self.pending_len..self.pending_len + take],
                &data[..take],
            );
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < BLOCK_LEN {
                return;
            }
            compress256(&mut self.state, &[self.pending]);
            self.pending_len = 0;
        }
        let (blocks, rest) = data.as_chunks::<BLOCK_LEN>();
        if !blocks.is_empty() {
            compress256(&mut self.state, blocks);
        }
        copy_short(&mut self.pending[..rest.len()], rest);
        self.pending_len = rest.len();
    }

    /// The 32-byte tag.
    #[inline]
    pub(crate) fn finalize(mut self) -> [u8; TAG_LEN] {
        // `pending` keeps bytes of earlier blocks past `pending_len`.
        clear_from(&mut self.pending, self.pending_len);
        let inner_digest = finish(
            &mut self.state,
            &mut self.pending,
            self.pending_len,
            self.hashed_len,
        );
        outer_tag(self.outer, &inner_digest)
    }
}

/// The outer hash of HMAC: the outer pad block (already in `outer`), then the inner digest.
#[inline]
fn outer_tag(mut outer: [u32; 8], inner_digest: &[u8; TAG_LEN]) -> [u8; TAG_LEN] {
    let mut block = [0u8; BLOCK_LEN];
    block[..TAG_LEN].copy_from_slice(inner_digest);
    pad(&mut block, TAG_LEN, (BLOCK_LEN + TAG_LEN) as u64);
    compress256(&mut outer, core::slice::from_ref(&block));
    // The result is the tag itself, nothing secret is left to wipe.
    big_endian(&outer)
}

impl Drop for Mac {
    fn drop(&mut self) {
        // Both states start as key-derived copies of the `MacKey`'s.
        self.state.zeroize();
        self.outer.zeroize();
    }
}

/// Appends SHA-256 padding after `len` bytes of `block`, ending with `total_len` in bits.
/// The caller guarantees room for the length (`len < 56`) and zeros after `len`.
#[inline]
fn pad(block: &mut [u8; BLOCK_LEN], len: usize, total_len: u64) {
    block[len] = 0x80;
    block[BLOCK_LEN - 8..].copy_from_slice(&total_len.wrapping_mul(8).to_be_bytes());
}

/// Zeroes every byte from `len` on. A fixed-length select instead of a variable-length
/// `fill`, so it compiles to a few vector operations rather than a call to `memset`.
#[inline(always)]
fn clear_from(block: &mut [u8; BLOCK_LEN], len: usize) {
    // Byte-wide indices and a mask, so the loop vectorizes (`len <= BLOCK_LEN`).
    let kept = len as u8;
    for (index, byte) in (0u8..).zip(block.iter_mut()) {
        *byte &= u8::from(index < kept).wrapping_neg();
    }
}

/// `dst.copy_from_slice(src)` for the short copies of block bookkeeping (at most one
/// block): two overlapping fixed-size moves instead of a call to `memmove`, which costs
/// more than the copy at these lengths.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let len = src.len();
    debug_assert!(dst.len() == len && len <= BLOCK_LEN);
    macro_rules! two_windows {
        ($width:literal) => {{
            dst[..$width].copy_from_slice(&src[..$width]);
            dst[len - $width..].copy_from_slice(&src[len - $width..]);
        }};
    }
    match len {
        32.. => two_windows!(32),
        16..32 => two_windows!(16),
        8..16 => two_windows!(8),
        4..8 => two_windows!(4),
        2..4 => two_windows!(2),
        1 => dst[0] = src[0],
        _ => {}
    }
}

/// Pads and compresses the last block(s), returning the digest. `pending` holds `len`
/// message bytes and zeros after them.
#[inline]
fn finish(
    state: &mut [u32; 8],
    pending: &mut [u8; BLOCK_LEN],
    len: usize,
    total: u64,
) -> [u8; TAG_LEN] {
    if len >= BLOCK_LEN - 8 {
        // No room for the length: the 0x80 marker ends this block, the length takes another.
        pending[len] = 0x80;
        compress256(state, core::slice::from_ref(pending));
        let mut last = [0u8; BLOCK_LEN];
        last[BLOCK_LEN - 8..].copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
        compress256(state, &[last]);
    } else {
        pad(pending, len, total);
        compress256(state, core::slice::from_ref(pending));
    }
    big_endian(state)
}

#[inline]
fn big_endian(state: &[u32; 8]) -> [u8; TAG_LEN] {
    // Two words per `u64` byte swap: baseline x86-64 has no byte shuffle, and the
    // vectorized per-word swap the compiler picks otherwise costs more than the four swaps.
    let mut digest = [0u8; TAG_LEN];
    for (bytes, pair) in digest.chunks_exact_mut(8).zip(state.chunks_exact(2)) {
        let joined = (u64::from(pair[0]) << 32) | u64::from(pair[1]);
        bytes.copy_from_slice(&joined.to_be_bytes());
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe") and a key longer than a block (test case 6).
    #[test]
    fn rfc_4231_vectors() {
        let mut mac = MacKey::new(b"Jefe").start();
        mac.update(b"what do ya want ");
        mac.update(b"for nothing?");
        assert_eq!(
            hex::encode(mac.finalize()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut mac = MacKey::new(&[0xaa; 131]).start();
        mac.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex::encode(mac.finalize()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn one_pass_tag_matches_streaming_at_every_prefix_and_body_length() {
        let key = MacKey::new(b"whsec_boundaries");
        let prefix = [b'7'; 70];
        let body: std::vec::Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for prefix_len in 0..prefix.len() {
            for body_len in (0..200).chain([255, 256, 257, 299]) {
                let mut streaming = key.start();
                streaming.update(&prefix[..prefix_len]);
                streaming.update(b".");
                streaming.update(&body[..body_len]);
                assert_eq!(
                    key.tag(&prefix[..prefix_len], b'.', &body[..body_len]),
                    streaming.finalize(),
                    "prefix {prefix_len}, body {body_len}"
                );
            }
        }
    }

    #[test]
    fn every_padding_boundary_matches_a_single_update() {
        let data = [0x5a_u8; 200];
        for len in 0..data.len() {
            let mut whole = MacKey::new(b"k").start();
            whole.update(&data[..len]);
            let mut bytewise = MacKey::new(b"k").start();
            for byte in &data[..len] {
                bytewise.update(core::slice::from_ref(byte));
            }
            assert_eq!(whole.finalize(), bytewise.finalize(), "length {len}");
        }
    }
}
