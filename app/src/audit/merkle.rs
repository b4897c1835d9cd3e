//! RFC 6962 / RFC 9162 Merkle tree hashing: leaf and node hashes, the
//! compact range ("frontier") that lets the sealer extend the tree in
//! O(new leaves + log n), inclusion proofs and their verification.
//!
//! * leaf hash `SHA-256(0x00 || data)`, node hash `SHA-256(0x01 || left || right)`;
//! * the root of `n` leaves is RFC 6962's MTH: the left subtree holds the
//!   largest power of two smaller than `n`;
//! * the frontier of a tree of `n` leaves is the roots of its perfect
//!   subtrees, one per set bit of `n`, largest (leftmost) first.

use sha2::{Digest as _, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The perfect subtrees of a tree, enough to append leaves and compute the
/// root without reading the earlier leaves again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One hash per set bit of `size`, from the highest bit down.
    subtrees: Vec<Hash>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf (its leaf hash): a binary counter's carry, merging
    /// equal-sized subtrees.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            // A set bit always has its subtree on the stack.
            let Some(left) = self.subtrees.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.subtrees.push(hash);
        self.size += 1;
    }

    /// MTH of the leaves so far: the subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(last) = subtrees.next() else {
            return empty_root();
        };
        subtrees.fold(*last, |right, left| node_hash(left, &right))
    }

    /// The stored form: hex hashes separated by commas (empty for none).
    pub fn encode(&self) -> String {
        self.subtrees
            .iter()
            .map(|h| crate::encoding::hex(h))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form back; `None` when it does not fit `size`.
    pub fn decode(size: u64, text: &str) -> Option<Self> {
        let subtrees = text
            .split(',')
            .filter(|part| !part.is_empty())
            .map(parse_hash)
            .collect::<Option<Vec<_>>>()?;
        (subtrees.len() == size.count_ones() as usize).then_some(Self { size, subtrees })
    }
}

/// A 64-character hex hash.
pub fn parse_hash(text: &str) -> Option<Hash> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0_u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH over leaf hashes.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// RFC 6962 PATH(m, D[n]): the audit path of leaf `index` in the tree of
/// `leaves`, bottom up. Empty when `index` is out of range.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let n = leaves.len();
    if index >= n || n < 2 {
        return Vec::new();
    }
    let k = split(n);
    if index < k {
        let mut path = inclusion_proof(&leaves[..k], index);
        path.push(root_of(&leaves[k..]));
        path
    } else {
        let mut path = inclusion_proof(&leaves[k..], index - k);
        path.push(root_of(&leaves[..k]));
        path
    }
}

/// RFC 9162 section 2.1.3.2: whether `path` proves that `leaf` is leaf
/// `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::hex;

    /// The leaves of RFC 6962's reference tests (certificate-transparency
    /// `merkle_tree_test.cc`, also used by Trillian).
    fn reference_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            (0x50..0x58).collect(),
            (0x60..0x70).collect(),
        ]
    }

    const REFERENCE_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn the_frontier_reproduces_the_rfc_6962_reference_roots() {
        let mut frontier = Frontier::default();
        assert_eq!(
            hex(&frontier.root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for (leaf, expected) in reference_leaves().iter().zip(REFERENCE_ROOTS) {
            frontier.push(leaf_hash(leaf));
            assert_eq!(hex(&frontier.root()), expected, "size {}", frontier.size());
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(i.to_string().as_bytes()))
            .collect()
    }

    #[test]
    fn the_frontier_agrees_with_the_recursive_definition_and_survives_storage() {
        let all = leaves(300);
        let mut frontier = Frontier::default();
        for (n, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.root(), root_of(&all[..=n]), "size {}", n + 1);
            let stored = Frontier::decode(frontier.size(), &frontier.encode()).unwrap();
            assert_eq!(stored, frontier);
        }
        assert!(Frontier::decode(5, &frontier.encode()).is_none());
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_does_not() {
        for n in 1..=70 {
            let all = leaves(n);
            let root = root_of(&all);
            for (m, leaf) in all.iter().enumerate() {
                let path = inclusion_proof(&all, m);
                let (m, size) = (m as u64, n as u64);
                assert!(verify_inclusion(m, size, leaf, &path, &root), "{m} of {n}");
                // (A wrong size alone can still lead to the same root: the
                // signed checkpoint is what binds size and root together.)
                let bigger = root_of(&leaves(n + 1));
                assert!(!verify_inclusion(m, size + 1, leaf, &path, &bigger));
                assert!(!verify_inclusion(m, size, &leaf_hash(b"x"), &path, &root));
                if let Some((_, shorter)) = path.split_last() {
                    assert!(!verify_inclusion(m, size, leaf, shorter, &root));
                }
                if n > 1 {
                    let other = (m + 1) % size;
                    assert!(!verify_inclusion(other, size, leaf, &path, &root));
                }
            }
        }
    }

    #[test]
    fn a_proof_for_the_reference_tree_matches_rfc_6962() {
        // PATH(0, D[8]) of the reference tree: the hashes of leaf 1, of
        // leaves 2-3 and of leaves 4-7.
        let all: Vec<Hash> = reference_leaves().iter().map(|l| leaf_hash(l)).collect();
        let path = inclusion_proof(&all, 0);
        assert_eq!(
            path,
            vec![all[1], node_hash(&all[2], &all[3]), root_of(&all[4..])]
        );
        let root = parse_hash(REFERENCE_ROOTS[7]).unwrap();
        assert!(verify_inclusion(0, 8, &all[0], &path, &root));
    }
}
