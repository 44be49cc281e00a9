"""The event-stream reader under the OpenAI provider: line ends, fields, reads."""

from __future__ import annotations

from tui_chat.providers._common import SSEParser


async def reads(*chunks: bytes) -> list[list[bytes]]:
    """The payloads of each read that completed events."""
    parser = SSEParser()
    return [payloads for payloads in map(parser.feed, chunks) if payloads]


async def test_one_list_per_read_of_the_events_it_completes() -> None:
    assert await reads(b"data: a\n\ndata: b\n\ndata: c", b"\n\n") == [[b"a", b"b"], [b"c"]]


async def test_crlf_cr_and_lf_line_ends_also_split_between_reads() -> None:
    assert await reads(b"data: a\r\n\r\ndata: b\r", b"\n\r", b"\ndata: c\r\rdata: d\n\n") == [
        [b"a"], [b"b"], [b"c", b"d"]]


async def test_a_crlf_split_between_reads_is_one_line_end() -> None:
    # data: x, CR | LF, data: y, CR | LF, CR | LF: one event with two data lines
    assert await reads(b"data: x\r", b"\ndata: y\r", b"\n\r", b"\n") == [[b"x\ny"]]


async def test_fields_comments_and_multi_line_data() -> None:
    stream = b": keep-alive\n\nevent: message\nid: 7\nretry: 100\ndata:first\ndata: second\n\n"
    assert await reads(stream) == [[b"first\nsecond"]]


async def test_an_event_split_anywhere_arrives_whole() -> None:
    event = "data: {\"text\": \"naïve 😀\"}\n\n".encode()
    for cut in range(1, len(event)):
        assert await reads(event[:cut], event[cut:]) == [[event[6:-2]]]


async def test_an_unfinished_event_is_dropped() -> None:
    assert await reads(b"data: done\n\ndata: half") == [[b"done"]]
    assert await reads(b"data: done\n\ndata: half\n") == [[b"done"]]
