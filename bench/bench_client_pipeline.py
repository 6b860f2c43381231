"""The client against a served hub: bulk upload rate and upload-to-result latency.

A hub runs in this process on 127.0.0.1 (uvicorn, the local adapters, one segmentation
worker with the ``classical`` model), as ``cellhub serve`` runs it.

- Upload: ``HubClient.upload`` sends 1,000 small PNGs (64 x 64, ~1 kB) through upload plans
  and direct POSTs to the blob endpoint, 8 at a time. Bar: at least 100 files/s. As in the
  cloud, a stored upload's event is queued for the thumbnail step, which runs alongside;
  the table also says when the last of the 1,000 became ``ready``.
- Latency: a WebSocket client subscribed to the project; one 1024 x 1024 image is uploaded,
  its ``image.ready`` event awaited, a ``classical`` job queued for it and its
  ``image.segmented`` event awaited. Five rounds; bar: median total at most 3 s.

Run from the repository root: ``.venv/bin/python bench/bench_client_pipeline.py``; exit
status 1 when a bar is missed.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from argon2 import PasswordHasher
from PIL import Image
from websockets.sync.client import ClientConnection, connect

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT)]

from bench.table import print_table  # noqa: E402
from cellhub.services.passwords import Passwords  # noqa: E402
from cellhub.services.project_models import ProjectModelStore  # noqa: E402
from cellhub_api.app import create_app  # noqa: E402
from cellhub_local.client import HubClient  # noqa: E402
from cellhub_local.loopback import free_port, serving  # noqa: E402
from cellhub_local.queue_pumps import start_pumps, stop_pumps  # noqa: E402
from cellhub_local.wiring import MAX_RECEIVES, build_local_services  # noqa: E402
from cellhub_worker.worker_wiring import project_segmenters  # noqa: E402

EMAIL, PASSWORD = "bench@example.org", "correct horse battery"
SMALL_FILES, ROUNDS = 1_000, 5
MIN_FILES_PER_S, MAX_MEDIAN_S = 100.0, 3.0


@contextmanager
def served_hub(data_dir: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    services = build_local_services(
        data_dir, public_url=url, passwords=cheap, queued_storage_events=True
    )
    user = services.accounts.register(EMAIL, PASSWORD)
    services.users.mark_email_verified(user.id)
    pumps = start_pumps(
        services, project_segmenters(ProjectModelStore(services.blobs)), max_receives=MAX_RECEIVES
    )
    try:
        with serving(create_app(services), port, log_level="error"):
            yield url
    finally:
        stop_pumps(pumps)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def spheroid_image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:1024, :1024]
    pixels = rng.normal(30, 6, (1024, 1024))
    for _ in range(12):
        cy, cx, radius = rng.integers(80, 944), rng.integers(80, 944), rng.integers(20, 60)
        pixels[(yy - cy) ** 2 + (xx - cx) ** 2 < radius**2] += 120
    return np.clip(pixels, 0, 255).astype(np.uint8)


def upload_rate(client: HubClient, folder: Path) -> tuple[float, float, float]:
    """Seconds to upload, files/s, and seconds from the start until every image is ready."""
    project_id = client.create_project("bulk upload")["id"]
    rng = np.random.default_rng(0)
    paths = [
        write_png(folder / f"small-{n:04d}.png", rng.integers(0, 255, (64, 64), np.uint8))
        for n in range(SMALL_FILES)
    ]
    started = time.perf_counter()
    report = client.upload(project_id, paths, parallel=8, wait_ready=False)
    seconds = time.perf_counter() - started
    assert len(report.uploaded) == SMALL_FILES, report.failed[:3]
    while any(image["status"] != "ready" for image in client.images(project_id)):
        time.sleep(0.1)
    return seconds, SMALL_FILES / seconds, time.perf_counter() - started


def await_event(live: ClientConnection, kind: str, image_id: str) -> None:
    while True:
        event = json.loads(live.recv(timeout=60))
        if event["type"] == kind and event.get("image_id") == image_id:
            return
        if event["type"] in ("image.failed", "image.rejected"):
            raise RuntimeError(f"the image did not make it: {event}")


def one_round(
    client: HubClient, live: ClientConnection, project_id: str, path: Path
) -> tuple[float, float, float]:
    started = time.perf_counter()
    (image_id,) = client.upload(project_id, [path]).uploaded
    await_event(live, "image.ready", image_id)
    ready = time.perf_counter()
    client.segment(project_id, image_ids=[image_id], model="classical")
    await_event(live, "image.segmented", image_id)
    return ready - started, time.perf_counter() - ready, time.perf_counter() - started


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cellhub-bench-") as temp:
        folder = Path(temp)
        with served_hub(folder / "hub") as url, HubClient(url) as client:
            token = client.login(EMAIL, PASSWORD)["access_token"]
            seconds, rate, all_ready = upload_rate(client, folder)
            project_id = client.create_project("latency")["id"]
            ws_url = url.replace("http://", "ws://") + "/ws"
            with connect(ws_url, open_timeout=10) as live:
                live.send(json.dumps({"token": token}))
                live.send(json.dumps({"action": "subscribe", "project_id": project_id}))
                json.loads(live.recv(timeout=10))
                paths = [
                    write_png(folder / f"big-{n}.png", spheroid_image(n)) for n in range(ROUNDS)
                ]
                one_round(
                    client, live, project_id, write_png(folder / "warm.png", spheroid_image(99))
                )
                rounds = [one_round(client, live, project_id, p) for p in paths]
    totals = [r[2] for r in rounds]
    median = statistics.median(totals)
    upload_ok, latency_ok = rate >= MIN_FILES_PER_S, median <= MAX_MEDIAN_S
    print_table(
        "client upload of 1,000 small PNGs (8 parallel)",
        ["files", "upload s", "files/s", "bar", "ok", "all thumbnails ready s"],
        [[SMALL_FILES, seconds, rate, f">= {MIN_FILES_PER_S:.0f}", upload_ok, all_ready]],
    )
    print_table(
        "upload -> thumbnail -> segmented (classical, 1024 x 1024) -> event, seconds",
        ["round", "upload to ready", "ready to segmented", "total"],
        [[n + 1, *r] for n, r in enumerate(rounds)],
    )
    print(f"\nmedian total {median:.2f} s (bar <= {MAX_MEDIAN_S:.0f} s): {latency_ok}")
    return 0 if upload_ok and latency_ok else 1


if __name__ == "__main__":
    sys.exit(main())
