"""CharacterFlow against the real sandbox over a real socket, with the real client."""

from __future__ import annotations

import _thread
import asyncio
import dataclasses
import io
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from aurous_nb.client import AurousClient
from aurous_nb.errors import (
    APIConnectionError,
    FlowCancelled,
    FlowError,
    ImageCheckError,
    InternalServerError,
)
from aurous_nb.flow import CharacterFlow, FlowEvent
from aurous_nb.sandbox import Sandbox
from tests.support.sandbox import routes
from tests.support.waiting import wait_for

POSES = ["front", "side", "back", "portrait", "closeup", "profile"]


def write_refs(tmp_path: Path, n: int, side: int = 300) -> list[Path]:
    """n small JPEGs whose names the sandbox classifies (front, side, back, portrait...)."""
    out = []
    for i, word in enumerate(POSES[:n]):
        img = Image.new("RGB", (side, side + 100), (40 * i, 90, 160))
        path = tmp_path / f"hero_{word}.jpg"
        img.save(path, "JPEG")
        out.append(path)
    return out


def wait_for_threads_to_end(prefixes: tuple[str, ...] = ("aurous-ref", "aurous-create")) -> None:
    def alive() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith(prefixes)]

    wait_for(lambda: not alive(), 5, "the flow's worker threads to end", show=alive)


# ---- the happy path, in parallel ----------------------------------------------------------------


def test_six_refs_in_parallel(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    aurous_sandbox.configure(latency_ms=30)  # so overlapping requests are visible in the log
    paths = write_refs(tmp_path, 6)
    flow = CharacterFlow(client, "Aurora", paths, attributes={"hair_color": "black"})
    events: list[FlowEvent] = []
    flow.subscribe(events.append)
    character = flow.run_sync()

    assert character.status == "ready" and flow.state == "done"
    assert character.poses == ("front", "side", "back", "portrait", "portrait", "side")
    assert character.attributes == {"hair_color": "black"}
    # and the team, asked for once beside the first PUT: the journal keeps tickets per team
    assert routes(aurous_sandbox) == {
        "team": 1,
        "init": 6,
        "upload": 6,
        "classify": 6,
        "create": 1,
    }
    assert [r.state for r in flow.refs] == ["consumed"] * 6
    assert [r.pose for r in flow.refs] == ["front", "side", "back", "portrait", "portrait", "side"]
    for ref in flow.refs:
        states = [e.state for e in events if e.ref is ref]
        assert states[0] == "minted" and states[-1] == "consumed"  # "checked" came at add()
        for step in ("minted", "uploading", "uploaded", "classified"):
            assert step in states, (ref.name, states)
    assert [e.state for e in events if e.kind == "flow"] == ["running", "creating", "done"]
    assert [e.state for e in events if e.kind == "character"] == ["ready"]
    # parallel: more than one init reached the sandbox before the first PUT
    log = aurous_sandbox.requests
    first_put = next(i for i, r in enumerate(log) if r.route == "upload")
    assert sum(r.route == "init" for r in log[:first_put]) >= 2
    # a finished flow does not create twice
    assert flow.run_sync() is character
    assert routes(aurous_sandbox)["create"] == 1


def test_critical_path_ratio(aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path) -> None:
    """Six refs cost about what one ref costs: init, PUT, classify per ref overlap."""
    aurous_sandbox.configure(latency_ms=100)
    paths = write_refs(tmp_path, 6)
    CharacterFlow(client, "warm-up", paths[:1]).run_sync()  # connections, JIT of Pillow

    t0 = time.perf_counter()
    CharacterFlow(client, "one", paths[:1]).run_sync()
    one = time.perf_counter() - t0  # the four-round-trip critical path, measured
    t0 = time.perf_counter()
    CharacterFlow(client, "six", paths).run_sync()
    six = time.perf_counter() - t0

    ratio = six / one
    print(
        f"\ncritical path (1 ref, 4 round trips @100 ms): {one * 1000:.0f} ms; "
        f"6 refs: {six * 1000:.0f} ms; ratio {ratio:.2f} (vs 4×100 ms: {six / 0.4:.2f})"
    )
    assert one >= 0.4
    assert ratio < 3.0  # generous: sequential refs would be ~5.5×


# ---- resumability -------------------------------------------------------------------------------


def test_failed_classify_keeps_the_others_and_rerun_redoes_only_it(
    aurous_sandbox: Sandbox, strict_client: AurousClient, tmp_path: Path
) -> None:
    flow = CharacterFlow(strict_client, "Resume", write_refs(tmp_path, 4))
    aurous_sandbox.inject("classify", status=500, times=1)
    with pytest.raises(InternalServerError) as info:
        flow.run_sync()
    assert str(info.value).startswith("500 ")
    assert flow.state == "failed" and flow.character is None
    failed = [r for r in flow.refs if r.state == "failed"]
    assert len(failed) == 1 and failed[0].ticket is not None and failed[0].uploaded
    assert "500" in (failed[0].error_message or "")
    tickets = {r.index: r.ticket for r in flow.refs}
    assert all(r.state == "classified" for r in flow.refs if r is not failed[0])
    assert routes(aurous_sandbox)["create"] == 0

    aurous_sandbox.clear_log()
    character = flow.run_sync()
    assert routes(aurous_sandbox) == {"classify": 1, "create": 1}  # nothing else redone
    assert {r.index: r.ticket for r in flow.refs} == tickets
    assert len(character.refs) == 4 and failed[0].error is None


def test_retry_one_ref(
    aurous_sandbox: Sandbox, strict_client: AurousClient, tmp_path: Path
) -> None:
    flow = CharacterFlow(strict_client, "Retry", write_refs(tmp_path, 3))
    aurous_sandbox.inject("upload", status=503, times=1)
    with pytest.raises(InternalServerError):
        flow.prepare().result(timeout=10)
    (bad,) = [r for r in flow.refs if r.state == "failed"]
    assert bad.state == "failed" and bad.ticket is not None and not bad.uploaded
    aurous_sandbox.clear_log()
    flow.retry(bad).result(timeout=10)
    assert bad.state == "classified"
    assert routes(aurous_sandbox) == {"upload": 1, "classify": 1}  # the ticket was reused
    flow.run_sync()
    assert routes(aurous_sandbox)["create"] == 1


def test_expired_url_is_reminted(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    flow = CharacterFlow(client, "Slow", write_refs(tmp_path, 1))
    advanced = []

    def late(event: FlowEvent) -> None:
        if event.state == "minted" and not advanced:
            advanced.append(aurous_sandbox.advance(16 * 60))  # URL TTL is 15 min

    flow.subscribe(late)
    flow.run_sync()
    uploads = [r.status for r in aurous_sandbox.requests if r.route == "upload"]
    assert uploads == [403, 200]
    assert routes(aurous_sandbox)["init"] == 2
    assert flow.refs[0].notice == "upload URL expired; minted a new one"


def test_expired_ticket_at_create_is_uploaded_again(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    flow = CharacterFlow(client, "Tomorrow", write_refs(tmp_path, 3))
    flow.prepare().result(timeout=10)
    old = [r.ticket.upload_id for r in flow.refs if r.ticket]
    aurous_sandbox.advance(25 * 3600)  # every ticket is past its 24 h
    aurous_sandbox.clear_log()

    character = flow.run_sync()
    creates = [r for r in aurous_sandbox.requests if r.route == "create"]
    assert [r.status for r in creates] == [400, 201]
    # the body changed (new upload ids), so the second create has a new key
    keys = [r.headers.get("Idempotency-Key") for r in creates]
    assert keys[0] and keys[1] and keys[0] != keys[1]
    assert flow.idempotency_key == keys[1]
    assert routes(aurous_sandbox) == {"create": 2, "init": 3, "upload": 3, "classify": 3}
    assert not {r.ticket.upload_id for r in flow.refs if r.ticket} & set(old)
    assert character.poses == ("front", "side", "back")


def test_ticket_past_its_local_deadline_is_uploaded_again(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    flow = CharacterFlow(client, "Deadline", write_refs(tmp_path, 2))
    flow.prepare().result(timeout=10)
    first = flow.refs[0]
    assert first.ticket is not None
    # as if this ref had been minted yesterday: the flow sees it before sending anything
    first.ticket = dataclasses.replace(
        first.ticket, minted_at=first.ticket.minted_at - timedelta(hours=24)
    )
    aurous_sandbox.clear_log()
    flow.run_sync()
    assert routes(aurous_sandbox) == {"init": 1, "upload": 1, "classify": 1, "create": 1}
    assert first.notice == "ticket expired; uploading again"


def test_expired_ticket_at_classify_is_uploaded_again(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    flow = CharacterFlow(client, "Gap", write_refs(tmp_path, 1))
    flow.subscribe(
        lambda e: (
            aurous_sandbox.advance(25 * 3600)
            if e.state == "uploaded" and routes(aurous_sandbox)["upload"] == 1
            else None
        )
    )
    flow.run_sync()
    classify = [r.status for r in aurous_sandbox.requests if r.route == "classify"]
    assert classify == [400, 200]
    assert routes(aurous_sandbox)["init"] == 2


def test_create_retried_after_a_lost_response_reuses_its_key(
    aurous_sandbox: Sandbox, strict_client: AurousClient, tmp_path: Path
) -> None:
    flow = CharacterFlow(strict_client, "Once", write_refs(tmp_path, 2))
    aurous_sandbox.inject("create", drop=True, times=1)
    with pytest.raises(APIConnectionError):
        flow.run_sync()
    key = flow.idempotency_key
    assert key
    character = flow.run_sync()
    creates = [r for r in aurous_sandbox.requests if r.route == "create"]
    assert [r.headers.get("Idempotency-Key") for r in creates] == [key, key]
    assert flow.character is character


# ---- cancelling ---------------------------------------------------------------------------------


def test_cancel_is_prompt_and_resumable(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    aurous_sandbox.configure(latency_ms=800)
    flow = CharacterFlow(client, "Stop", write_refs(tmp_path, 4))
    minted = threading.Event()
    flow.subscribe(lambda e: minted.set() if e.state == "minted" else None)
    future = flow.start()
    assert minted.wait(10)
    t0 = time.perf_counter()
    cancelled_at = aurous_sandbox.clock.now()
    flow.cancel()
    assert isinstance(future.exception(timeout=5), FlowCancelled)
    took = time.perf_counter() - t0
    assert took < 0.6, f"cancel waited {took:.2f}s for requests in flight (800 ms each)"
    assert flow.state == "cancelled"

    wait_for_threads_to_end()
    late = [r for r in aurous_sandbox.requests if r.time > cancelled_at + 0.1]
    assert late == [], "a request started after cancel()"
    assert all(r.state != "failed" for r in flow.refs)
    before = routes(aurous_sandbox)

    aurous_sandbox.configure(latency_ms=0)
    flow.run_sync()
    after = routes(aurous_sandbox)
    assert after["init"] == 4  # no ticket minted before the cancel was minted again
    assert after["create"] == 1 and before["create"] == 0


def test_keyboard_interrupt_in_run_sync_cancels(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    aurous_sandbox.configure(latency_ms=150)
    flow = CharacterFlow(client, "Ctrl-C", write_refs(tmp_path, 3))
    sent = []

    def interrupt(event: FlowEvent) -> None:
        if event.state == "minted" and not sent:
            sent.append(1)
            _thread.interrupt_main()  # what Ctrl-C / the kernel's interrupt does

    unsubscribe = flow.subscribe(interrupt)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        flow.run_sync()
    assert time.perf_counter() - t0 < 1.0
    assert flow.state == "cancelled"
    unsubscribe()
    wait_for_threads_to_end()
    aurous_sandbox.configure(latency_ms=0)
    assert len(flow.run_sync().refs) == 3


# ---- event loops --------------------------------------------------------------------------------


def test_await_run_inside_a_running_loop(client: AurousClient, tmp_path: Path) -> None:
    flow = CharacterFlow(client, "Async", write_refs(tmp_path, 3))

    async def main() -> tuple[str, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        character = await flow.run()
        task.cancel()
        return character.status, ticks

    status, ticks = asyncio.run(main())
    assert status == "ready"
    assert ticks > 1  # the loop kept running while the flow worked


def test_run_sync_inside_a_running_loop_and_from_a_thread(
    client: AurousClient, tmp_path: Path
) -> None:
    paths = write_refs(tmp_path, 2)

    async def cell() -> str:  # like a notebook cell: the kernel's loop is running
        return CharacterFlow(client, "Blocking", paths).run_sync().status

    assert asyncio.run(cell()) == "ready"

    results: list[object] = []

    def other_thread() -> None:
        loop = asyncio.new_event_loop()
        try:
            results.append(loop.run_until_complete(cell()))
        except BaseException as exc:  # surfaced below
            results.append(exc)
        finally:
            loop.close()

    t = threading.Thread(target=other_thread)
    t.start()
    t.join(30)
    assert results == ["ready"]


# ---- local checks and limits --------------------------------------------------------------------


def test_bad_ref_fails_before_any_request(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    paths = write_refs(tmp_path, 2)
    heic = tmp_path / "front.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32)
    flow = CharacterFlow(client, "Bad", [*paths, heic])
    assert flow.refs[2].state == "failed"  # checked when added
    with pytest.raises(ImageCheckError, match="front.heic: cannot be decoded as HEIC"):
        flow.run_sync()
    assert aurous_sandbox.requests == []

    flow.remove(flow.refs[2])
    assert [r.index for r in flow.refs] == [0, 1]
    assert len(flow.run_sync().refs) == 2


def test_two_bad_refs_are_named_in_one_line(client: AurousClient, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_text("hello")
    flow = CharacterFlow(client, "Bad", [tmp_path / "a.png", tmp_path / "missing.png"])
    with pytest.raises(FlowError) as info:
        flow.run_sync()
    message = str(info.value)
    assert message.startswith("2 of 2 refs failed local checks: a.png: a text file")
    assert "missing.png: no such file" in message and "\n" not in message


def test_the_same_image_twice_is_refused_before_any_request(
    aurous_sandbox: Sandbox, client: AurousClient, tmp_path: Path
) -> None:
    front, side = write_refs(tmp_path, 2)
    link = tmp_path / "link.jpg"
    link.symlink_to(front)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(front.read_bytes())
    cases = [
        (front, "hero_front.jpg: the same file as hero_front.jpg (ref 1), listed twice"),
        (tmp_path / "." / front.name, "the same file as hero_front.jpg (ref 1), listed twice"),
        (link, "link.jpg: the same file as hero_front.jpg (ref 1), listed twice"),
        (copy, "copy.jpg: the same image as hero_front.jpg (ref 1): identical bytes"),
        (front.read_bytes(), "image3: the same image as hero_front.jpg (ref 1): identical"),
    ]
    for source, expected in cases:
        flow = CharacterFlow(client, "Twice", [front, side, source])
        assert [r.state for r in flow.refs] == ["checked", "checked", "failed"]  # at add()
        with pytest.raises(ImageCheckError) as info:
            flow.run_sync()
        message = str(info.value)
        assert expected in message and message.endswith(" — remove one of them")
        assert "\n" not in message and info.value.source == flow.refs[2].name
        assert aurous_sandbox.requests == []
    flow.remove(flow.refs[0])  # the first of the two goes: the other one is fine now
    assert len(flow.run_sync().refs) == 2


def test_refs_are_checked_in_parallel_bounded(client: AurousClient, tmp_path: Path) -> None:
    from aurous_nb.flow._checks import MAX_CHECK_WORKERS, check_workers

    workers = check_workers(6)
    assert workers == min(6, os.cpu_count() or 2, MAX_CHECK_WORKERS) and check_workers(1) == 1
    together = threading.Barrier(workers)
    running, peak, lock = [0], [0], threading.Lock()

    class Photo(io.BytesIO):
        """A file object whose read() waits until ``workers`` checks are reading at once."""

        def read(self, size: int | None = -1) -> bytes:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            together.wait(timeout=10)  # raises BrokenBarrierError if they never overlap
            with lock:
                running[0] -= 1
            return super().read(size)

    photos = [Photo(p.read_bytes()) for p in write_refs(tmp_path, 6)]
    flow = CharacterFlow(client, "Parallel", photos)
    assert [r.state for r in flow.refs] == ["checked"] * 6
    assert peak[0] == workers  # never more at once than the bound


def test_refs_failing_the_same_way_are_named_once_with_the_message_once(
    aurous_sandbox: Sandbox, tmp_path: Path
) -> None:
    key = aurous_sandbox.add_key()
    paths = write_refs(tmp_path, 3)
    with AurousClient(api_key=key, base_url=aurous_sandbox.url, max_retries=0) as client:
        flow = CharacterFlow(client, "Locked out", paths)
        aurous_sandbox.revoke_key(key)
        with pytest.raises(FlowError) as info:
            flow.run_sync()
    message = str(info.value)
    assert message.startswith(
        "3 of 3 refs failed: hero_front.jpg, hero_side.jpg, hero_back.jpg: 401 revoked_api_key: "
    )
    assert message.endswith(" — check the API key") and "\n" not in message
    assert message.count("401") == 1 and "request_id" not in message
    assert info.value.fix == "check the API key" and len(info.value.errors) == 3
    assert routes(aurous_sandbox) == {"init": 3}


def test_refs_failing_different_ways_are_grouped_by_message(
    aurous_sandbox: Sandbox, strict_client: AurousClient, tmp_path: Path
) -> None:
    aurous_sandbox.inject("classify", status=503, times=2)
    flow = CharacterFlow(strict_client, "Mixed", write_refs(tmp_path, 3))
    with pytest.raises(FlowError) as info:
        flow.run_sync()
    failed = [r.name for r in flow.refs if r.state == "failed"]
    message = str(info.value)
    assert message.startswith(f"2 of 3 refs failed: {', '.join(failed)}: 503 ")
    assert message.count("503 ") == 1 and message.endswith(
        " — run it again to resume (finished refs are kept)"
    )
    # local checks: each file named once, a shared problem stated once
    for name in ("a.gif", "b.gif"):
        (tmp_path / name).write_bytes(b"GIF89a" + b"\x00" * 32)
    (tmp_path / "c.png").write_text("hello")
    flow = CharacterFlow(strict_client, "Bad", [tmp_path / n for n in ("a.gif", "c.png", "b.gif")])
    with pytest.raises(FlowError) as info:
        flow.run_sync()
    assert str(info.value) == (
        "3 of 3 refs failed local checks: a.gif, b.gif: GIF is not accepted — use JPEG, PNG, "
        "WebP, HEIC or AVIF; c.png: a text file, not an image — use JPEG, PNG, WebP, HEIC or AVIF"
    )


def test_ref_count_limits(client: AurousClient, tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="^no reference images: add 1–6"):
        CharacterFlow(client, "Empty").run_sync()
    paths = write_refs(tmp_path, 6)
    with pytest.raises(FlowError, match="^7 reference images: a character takes 1–6 — remove 1$"):
        CharacterFlow(client, "Seven", [*paths, paths[0]])
    flow = CharacterFlow(client, "Six", paths)
    with pytest.raises(FlowError, match="^7 reference images"):
        flow.add(paths[0])
    flow.run_sync()
    with pytest.raises(FlowError, match="already being created"):
        flow.remove(flow.refs[0])


def test_sources_of_every_kind(client: AurousClient, tmp_path: Path) -> None:
    path, other = write_refs(tmp_path, 2)
    buf = io.BytesIO()
    Image.new("RGB", (200, 300), "red").save(buf, "PNG")
    with open(other, "rb") as fh:
        flow = CharacterFlow(
            client,
            "Mixed",
            [str(path), buf.getvalue(), fh, Image.new("RGB", (300, 300), "blue")],
        )
    assert [r.name for r in flow.refs] == [
        "hero_front.jpg",
        "image2",
        "hero_side.jpg",
        "image4.png",
    ]
    character = flow.run_sync()
    assert character.poses[0] == "front" and len(character.refs) == 4


def test_progress_events_are_throttled(client: AurousClient, tmp_path: Path) -> None:
    big = tmp_path / "front.png"
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(big, compress_level=1)
    size = big.stat().st_size
    flow = CharacterFlow(client, "Big", [big])
    sent: list[int] = []
    flow.subscribe(
        lambda e: sent.append(e.ref.bytes_sent) if e.ref and e.state == "uploading" else None
    )
    flow.subscribe(lambda e: 1 / 0)  # a broken subscriber is logged, not fatal
    flow.run_sync()
    assert sent[0] == 0 and sent[-1] == size
    assert sent == sorted(sent)
    assert len(sent) <= size // (64 * 1024) + 2


def test_importing_the_engine_stays_light() -> None:
    code = (
        "import sys, aurous_nb.flow, aurous_nb.display\n"
        "heavy = {'PIL', 'IPython', 'ipywidgets', 'werkzeug'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
