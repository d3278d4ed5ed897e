//! A counting scatter of items into buckets by the top bits of a hash: stable into a new
//! buffer, or in place.
//!
//! Sorting millions of items by comparison only to bring equal keys together cost more
//! than the work done on them afterwards, in three places: a day's duplicate-id search
//! ([`crate::days`]), building the request register, and ordering a day's register
//! look-ups ([`crate::ledger`]). Each instead scatters its items into cache-sized buckets
//! in two linear passes and works bucket by bucket.

/// How many top hash bits split `n` items into buckets of about `2^per_bucket` each; at
/// most 16, so that the bucket counts stay in the L2 cache.
pub(crate) fn bits_for(n: usize, per_bucket: u32) -> u32 {
    (usize::BITS - (n >> per_bucket).leading_zeros()).min(16)
}

/// The bucket of hash `h` among `2^bits`: its top `bits` bits (bucket 0 when `bits` is 0).
#[inline]
pub(crate) fn top(h: u64, bits: u32) -> usize {
    h.checked_shr(u64::BITS - bits).unwrap_or(0) as usize
}

/// `items` scattered into `buckets` buckets by `bucket_of`, in their own order within each
/// bucket, with where each bucket starts: `buckets + 1` offsets, the last the length. An
/// index past the last bucket counts as the last.
pub(crate) fn scatter<T: Copy>(
    items: Vec<T>,
    buckets: usize,
    bucket_of: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<usize>) {
    let buckets = buckets.max(1);
    let Some(&fill) = items.first() else {
        return (items, vec![0; buckets + 1]);
    };
    let at = |t: &T| bucket_of(t).min(buckets - 1);
    let starts = starts_of(&items, buckets, at);
    let mut next = starts.clone();
    let mut out = vec![fill; items.len()];
    for t in items {
        let b = at(&t);
        if let Some(slot) = out.get_mut(next[b]) {
            *slot = t;
        }
        next[b] += 1;
    }
    (out, starts)
}

/// `items` put in bucket order where they lie, with the bucket starts as [`scatter`] gives
/// them. Unlike `scatter`, the order within a bucket is not kept, but no second buffer is
/// allocated: for the request register, the largest thing tenken holds, that copy was
/// half of the peak of loading it.
pub(crate) fn scatter_in_place<T>(
    items: &mut [T],
    buckets: usize,
    bucket_of: impl Fn(&T) -> usize,
) -> Vec<usize> {
    let buckets = buckets.max(1);
    let at = |t: &T| bucket_of(t).min(buckets - 1);
    let starts = starts_of(items, buckets, at);
    // Slots before `next[b]` in bucket `b` hold its items; each swap settles one item.
    let mut next = starts.clone();
    for b in 0..buckets {
        while next[b] < starts[b + 1] {
            let i = next[b];
            let to = at(&items[i]);
            if to != b {
                items.swap(i, next[to]);
            }
            next[to] += 1;
        }
    }
    starts
}

/// Where each of `buckets` buckets starts once `items` are in bucket order (`at` already
/// in range), and the length last: the counting pass both scatters share.
fn starts_of<T>(items: &[T], buckets: usize, at: impl Fn(&T) -> usize) -> Vec<usize> {
    let mut starts = vec![0usize; buckets + 1];
    for t in items {
        starts[at(t) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_bits_name_the_bucket() {
        assert_eq!(top(u64::MAX, 0), 0);
        assert_eq!(top(u64::MAX, 3), 7);
        assert_eq!(top(1 << 61, 3), 1);
        assert_eq!(bits_for(0, 8), 0);
        assert_eq!(bits_for(255, 8), 0);
        assert_eq!(bits_for(256, 8), 1);
        assert_eq!(bits_for(usize::MAX, 0), 16);
    }

    #[test]
    fn nothing_scatters_into_empty_buckets() {
        let (out, starts) = scatter(Vec::<u8>::new(), 4, |&x| x as usize);
        assert!(out.is_empty());
        assert_eq!(starts, vec![0; 5]);
    }

    proptest::proptest! {
        /// In place, each bucket holds the same items as the stable scatter's, and the
        /// starts are the same.
        #[test]
        fn scatter_in_place_fills_the_same_buckets(
            items in proptest::collection::vec((0..12usize, proptest::prelude::any::<u16>()), 0..200),
            buckets in 0..10usize,
        ) {
            let (stable, expected) = scatter(items.clone(), buckets, |&(b, _)| b);
            let mut moved = items.clone();
            let starts = scatter_in_place(&mut moved, buckets, |&(b, _)| b);
            proptest::prop_assert_eq!(&starts, &expected);
            for w in starts.windows(2) {
                let mut got = moved[w[0]..w[1]].to_vec();
                let mut want = stable[w[0]..w[1]].to_vec();
                got.sort_unstable();
                want.sort_unstable();
                proptest::prop_assert_eq!(got, want);
            }
        }

        /// The scatter is the stable sort by bucket, and `starts` bounds each bucket.
        #[test]
        fn scatter_is_a_stable_sort_by_bucket(
            items in proptest::collection::vec((0..12usize, proptest::prelude::any::<u16>()), 0..200),
            buckets in 0..10usize,
        ) {
            let last = buckets.max(1) - 1;
            let (out, starts) = scatter(items.clone(), buckets, |&(b, _)| b);
            let mut expected = items.clone();
            expected.sort_by_key(|&(b, _)| b.min(last));
            proptest::prop_assert_eq!(&out, &expected);
            proptest::prop_assert_eq!(starts.len(), buckets.max(1) + 1);
            proptest::prop_assert_eq!(starts[buckets.max(1)], items.len());
            for (b, w) in starts.windows(2).enumerate() {
                proptest::prop_assert!(out[w[0]..w[1]].iter().all(|&(x, _)| x.min(last) == b));
            }
        }
    }
}
