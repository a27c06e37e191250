"""Stream and key names per shard: one hash tag per kommun, so every script touches one cluster slot."""

from redis.crc import key_slot

from iub_contracts import streams


def test_shared_layout_keeps_the_names():
    assert streams.named(streams.REQUESTS, None) == "iub.intake.requested.v1"
    assert streams.keyed("iub:once:x", None) == "iub:once:x"


def test_a_kommun_is_a_hash_tag_in_every_name_and_key():
    stream = streams.named(streams.REQUESTS, "sala")
    assert stream == "iub.{sala}.intake.requested.v1"
    assert streams.shard_of(stream) == "sala" and streams.base_of(stream) == streams.REQUESTS
    keys = [stream, streams.dead_letter_stream(stream), streams.keyed("iub:once:eligibility:r1", "sala"),
            streams.keyed("iub:request:r1", "sala"), streams.named(streams.DECISIONS, "sala")]
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert key_slot(streams.named(streams.REQUESTS, "mellerud").encode()) != key_slot(stream.encode())


def test_every_stream_of_every_shard():
    names = streams.all_named(streams.ALL_STREAMS, ["sala", "mellerud"])
    assert len(names) == 2 * len(streams.ALL_STREAMS)
    assert {streams.base_of(n) for n in names} == set(streams.ALL_STREAMS)
