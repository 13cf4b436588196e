"""The token buckets behind the abuse limits (pure: the time is passed in)."""

from server.limits import KeyedBuckets, TokenBucket


def test_a_bucket_allows_its_burst_then_its_rate():
    bucket = TokenBucket(rate=2, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after(0.0) == 0.5
    assert bucket.take(0.5) and not bucket.take(0.5)
    assert [bucket.take(10.0) for _ in range(4)] == [True, True, True, False]  # refills to burst


def test_rate_zero_turns_a_limit_off():
    bucket = TokenBucket(rate=0, burst=0, now=0.0)
    assert all(bucket.take(0.0) for _ in range(1000))


def test_keyed_buckets_are_apart_and_forgotten_once_full_again():
    buckets = KeyedBuckets(rate=1, burst=2)
    assert buckets.take("a", 0.0) and buckets.take("a", 0.0) and not buckets.take("a", 0.0)
    assert buckets.take("b", 0.0)  # another key has its own bucket
    assert not buckets.peek("a", 0.5) and buckets.peek("a", 1.0)
    for i in range(1000):  # many keys, each used once, long ago
        buckets.take(f"k{i}", 1.0)
    buckets.take("late", 100.0)  # a sweep: every bucket is full again by now
    assert set(buckets.buckets) == {"late"}
