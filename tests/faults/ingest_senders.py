"""Senders for the intake load test: processes of threads that post signed deliveries to
127.0.0.1 in rounds, every sender of a round released together by one barrier.

Kept apart from the test module so spawned processes import it without Django. Threads of
one process share its interpreter lock, so the senders are spread over processes: what is
measured is the server's answer, not the client's queue for the lock.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.error
import urllib.request

Delivery = tuple[bytes, dict[str, str]]


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float, str]:
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        url, data=body, method="POST", headers={**headers, "Content-Type": "application/json"}
    )
    started = time.monotonic()
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        status, error = 0, repr(exc)
    return status, time.monotonic() - started, error


def sender_process(
    url: str,
    rounds: list[list[Delivery]],
    slots: list[int],
    barrier,
    results,
    warm_url: str,
) -> None:
    """Send rounds[r][slot] for each of `slots`, one thread per slot, round by round; puts
    (status, seconds, error, round) for each on `results`."""
    answers: list[tuple[int, float, str, int]] = []
    lock = threading.Lock()

    def sender(slot: int) -> None:
        # Not measured: the first request of a fresh process loads urllib's machinery.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(warm_url, timeout=10).close()  # noqa: S310 (127.0.0.1)
        for number, sends in enumerate(rounds):
            barrier.wait(120)
            answer = post(url, *sends[slot])
            with lock:
                answers.append((*answer, number))

    threads = [threading.Thread(target=sender, args=(slot,)) for slot in slots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    results.put(answers)
