//! Forward references of one reference parameter: for each document of the source type, the
//! documents of the target type it points at (compressed sparse rows). Small enough to keep in
//! memory (8 bytes per source document), they answer `_include`, chained parameters and `_has`
//! without reading resources.

/// `targets[offsets[doc]..offsets[doc + 1]]` are the targets of `doc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forward {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Forward {
    /// Builds from `(source, target)` pairs for `documents` source documents.
    pub fn from_pairs(documents: u32, mut pairs: Vec<(u32, u32)>) -> Forward {
        pairs.sort_unstable();
        pairs.dedup();
        let mut offsets = Vec::with_capacity(documents as usize + 1);
        let mut targets = Vec::with_capacity(pairs.len());
        let mut next = pairs.iter().peekable();
        for doc in 0..documents {
            offsets.push(targets.len() as u32);
            while let Some((_, target)) = next.next_if(|(source, _)| *source == doc) {
                targets.push(*target);
            }
        }
        offsets.push(targets.len() as u32);
        Forward { offsets, targets }
    }

    pub fn targets(&self, doc: u32) -> &[u32] {
        let (Some(start), Some(end)) = (
            self.offsets.get(doc as usize),
            self.offsets.get(doc as usize + 1),
        ) else {
            return &[];
        };
        &self.targets[*start as usize..*end as usize]
    }

    pub fn documents(&self) -> u32 {
        self.offsets.len().saturating_sub(1) as u32
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * (2 + self.offsets.len() + self.targets.len()));
        out.extend_from_slice(&(self.offsets.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.targets.len() as u32).to_le_bytes());
        for n in self.offsets.iter().chain(&self.targets) {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Forward> {
        let word = |i: usize| {
            Some(u32::from_le_bytes(
                bytes.get(4 * i..4 * i + 4)?.try_into().ok()?,
            ))
        };
        let offsets_len = word(0)? as usize;
        let targets_len = word(1)? as usize;
        if bytes.len() != 4 * (2 + offsets_len + targets_len) {
            return None;
        }
        let offsets = (0..offsets_len)
            .map(|i| word(2 + i))
            .collect::<Option<Vec<_>>>()?;
        let targets = (0..targets_len)
            .map(|i| word(2 + offsets_len + i))
            .collect::<Option<Vec<_>>>()?;
        Some(Forward { offsets, targets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_round_trip() {
        let forward = Forward::from_pairs(4, vec![(2, 7), (0, 5), (2, 6), (0, 5)]);
        assert_eq!(forward.targets(0), [5]);
        assert!(forward.targets(1).is_empty());
        assert_eq!(forward.targets(2), [6, 7]);
        assert!(forward.targets(3).is_empty());
        assert!(forward.targets(9).is_empty());
        assert_eq!(Forward::decode(&forward.encode()), Some(forward));
    }
}
