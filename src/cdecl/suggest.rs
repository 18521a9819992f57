//! "Did you mean": the nearest known name to an unknown one, with the work bounded.

/// Longest name (in characters) a suggestion is looked for, and longest candidate: a typo
/// of a longer name is rare, and the distance costs the product of the two lengths (a
/// 1,000,000-character name against a 100,000-character typedef asked for 800 GB).
const SUGGEST_MAX_CHARS: usize = 64;

/// Most distance cells computed for one suggestion over all candidates: with many
/// typedefs of lengths near the name's, no suggestion rather than a slow error.
const SUGGEST_MAX_CELLS: usize = 1 << 22;

/// The candidate nearest to `name` within `max` edits (ties: the smallest name), with
/// the work bounded: no suggestion for a name longer than [`SUGGEST_MAX_CHARS`], longer
/// candidates and candidates whose length differs by more than `max` are skipped, and
/// past [`SUGGEST_MAX_CELLS`] of work there is no suggestion (the same answer whatever the
/// order of the candidates).
pub fn nearest<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    max: usize,
) -> Option<&'c str> {
    // A character is at most 4 bytes: a quick bound before counting characters.
    if name.len() > 4 * SUGGEST_MAX_CHARS {
        return None;
    }
    let a: Vec<char> = name.chars().collect();
    if a.len() > SUGGEST_MAX_CHARS {
        return None;
    }
    let mut cells = 0usize;
    let mut best: Option<(usize, &str)> = None;
    let mut b: Vec<char> = Vec::new();
    for cand in candidates {
        if cand.len() > 4 * SUGGEST_MAX_CHARS || cand.len() + max < a.len() {
            continue;
        }
        b.clear();
        b.extend(cand.chars());
        if b.len() > SUGGEST_MAX_CHARS || b.len().abs_diff(a.len()) > max {
            continue;
        }
        cells += (a.len() + 1) * (b.len() + 1);
        if cells > SUGGEST_MAX_CELLS {
            return None;
        }
        if let Some(d) = distance_within(&a, &b, max) {
            if best.is_none_or(|(bd, bn)| d < bd || (d == bd && cand < bn)) {
                best = Some((d, cand));
            }
        }
    }
    best.map(|(_, n)| n)
}

/// Edit distance with adjacent transpositions (optimal string alignment), so a swapped
/// pair of characters (`uint23_t` for `uint32_t`) counts as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    distance_within(&a, &b, usize::MAX).unwrap_or(usize::MAX)
}

/// The optimal string alignment distance of `a` and `b` if it is at most `max`, in three
/// rows of memory; stops as soon as every alignment is past `max`.
fn distance_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    let w = b.len() + 1;
    let mut before: Vec<usize> = vec![0; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut row: Vec<usize> = vec![0; w];
    for i in 1..=a.len() {
        row[0] = i;
        let mut least = row[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(before[j - 2] + 1);
            }
            row[j] = v;
            least = least.min(v);
        }
        // A transposition reaches back two rows, but never below the row before's least.
        if least > max && prev.iter().min().is_some_and(|m| *m > max) {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}
