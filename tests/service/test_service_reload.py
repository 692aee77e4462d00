"""Hot reload: a new bundle at the watched path is verified and swapped in between batches; one the live-change
rules refuse (it would orphan instances in flight), or that does not verify, leaves the old one running, logged and
counted. The URL source polls with If-None-Match and verifies the same way."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from service_support import Served, make_bundle, metric, quote, wait_for

from journeydsl.runtime.bundle import BundleError, load_bundle
from journeydsl.service.metrics import ServiceMetrics
from journeydsl.service.reload import PathSource, Reloader, UrlSource, digest


def _put(source: Path, target: Path) -> None:
    """Replace the watched bundle the way a deployment should: write beside it, then rename over it."""
    temporary = target.with_suffix(".tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def _revision(served: Served) -> str:
    status, _, raw = served.request("GET", "/readyz")
    assert status == 200
    return str(json.loads(raw)["revision"])


def test_a_new_version_is_swapped_in_and_an_orphaning_one_refused(tmp_path: Path) -> None:
    v1 = make_bundle(tmp_path, 1, tmp_path / "v1.jbundle")
    v2 = make_bundle(tmp_path, 2, tmp_path / "v2.jbundle", keep=v1)  # carries v1: its instances stay pinned
    v3 = make_bundle(tmp_path, 3, tmp_path / "v3.jbundle")  # lacks v1 and v2: would orphan them
    watched = tmp_path / "live.jbundle"
    shutil.copyfile(v1, watched)
    args = ("--clock", "event", "--bundle-path", str(watched), "--reload-interval", "0.1")
    with Served(tmp_path, watched, *args) as served:
        assert _revision(served) == load_bundle(str(v1)).revision
        assert served.post_events([quote(1)])[0] == 202  # in flight on v1
        _put(v2, watched)
        wanted = load_bundle(str(v2)).revision
        wait_for(lambda: _revision(served) == wanted, what="the v2 bundle swapped in")
        assert served.post_events([quote(2)])[0] == 202
        text = served.metrics()
        assert metric(text, "journeydsl_reloads_total", result="ok") == 1
        assert metric(text, "journeydsl_bundle_info", revision=wanted, source=str(watched)) == 1

        _put(v3, watched)
        wait_for(lambda: metric(served.metrics(), "journeydsl_reloads_total", result="failed") == 1, what="v3 refused")
        assert _revision(served) == wanted
        (tmp_path / "garbage").write_bytes(b"not a bundle")
        _put(tmp_path / "garbage", watched)
        wait_for(
            lambda: metric(served.metrics(), "journeydsl_reloads_total", result="failed") == 2,
            what="a file that is no bundle refused",
        )
        assert _revision(served) == wanted
        assert served.post_events([quote(3)])[0] == 202  # the old engine still takes events
        assert served.stop() == 0
    entered = {r["customer_id"]: r["version"] for r in served.records() if r["kind"] == "enter"}
    assert entered == {"c1": 1, "c2": 2, "c3": 2}
    refusals = [entry for entry in served.logs() if "keeps running" in entry["msg"]]
    assert len(refusals) == 2
    assert "lacks versions that instances in the store are on: solar v1" in refusals[0]["reason"]
    assert "not a bundle" in refusals[1]["reason"]


def test_the_path_source_waits_for_a_settled_file_and_reads_each_content_once(tmp_path: Path) -> None:
    v1 = make_bundle(tmp_path, 1, tmp_path / "v1.jbundle")
    v2 = make_bundle(tmp_path, 2, tmp_path / "v2.jbundle")
    watched = tmp_path / "live.jbundle"
    shutil.copyfile(v1, watched)
    source = PathSource(watched, digest(load_bundle(str(v1)).files))
    assert source.poll() is None  # first look: not yet known to be settled
    assert source.poll() is None  # settled, but the bundle already running
    _put(v2, watched)
    assert source.poll() is None  # changed since the last poll: wait one more
    found = source.poll()
    assert found is not None and load_bundle(found.files).revision == load_bundle(str(v2)).revision
    assert source.poll() is None
    watched.unlink()
    with pytest.raises(OSError):
        source.poll()


class _BundleServer(BaseHTTPRequestHandler):
    blob = b""
    etag = '"v1"'
    requests: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests.append(self.headers.get("If-None-Match"))
        if self.headers.get("If-None-Match") == type(self).etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", type(self).etag)
        self.send_header("Content-Length", str(len(type(self).blob)))
        self.end_headers()
        self.wfile.write(type(self).blob)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def bundle_server() -> Iterator[tuple[str, type[_BundleServer]]]:
    handler = type("Handler", (_BundleServer,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bundle", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Worker:
    """A stand-in for ingest.Worker: takes every swap."""

    def __init__(self) -> None:
        self.swapped: list[str] = []

    def submit(self, job: Any) -> None:
        self.swapped.append(job.bundle.revision)
        job.future.set_result(job.bundle.revision)


def test_the_url_source_polls_with_the_etag_and_verifies(
    tmp_path: Path, bundle_server: tuple[str, type[_BundleServer]]
) -> None:
    url, handler = bundle_server
    v1 = make_bundle(tmp_path, 1, tmp_path / "v1.jbundle")
    v2 = make_bundle(tmp_path, 2, tmp_path / "v2.jbundle")
    handler.blob = v2.read_bytes()
    worker = _Worker()
    metrics = ServiceMetrics()
    source = UrlSource(url, digest(load_bundle(str(v1)).files))
    reloader = Reloader(source, cast(Any, worker), metrics, None, interval=60)
    try:
        assert reloader.check() == load_bundle(str(v2)).revision
        assert reloader.check() is None  # 304: nothing fetched
        assert handler.requests == [None, '"v1"']
        handler.blob, handler.etag = b"not a bundle", '"v2"'
        assert reloader.check() is None
        assert metrics.reloads.labels("failed")._value.get() == 1
        # A key the bundle is not signed with: refused by verification, before the worker sees it.
        handler.blob, handler.etag = v1.read_bytes(), '"v3"'
        signed = Reloader(source, cast(Any, worker), metrics, "00" * 32, interval=60)
        assert signed.check() is None
        assert metrics.reloads.labels("failed")._value.get() == 2
        assert worker.swapped == [load_bundle(str(v2)).revision]
    finally:
        source.close()
    down = UrlSource("http://127.0.0.1:9/none", None, timeout=2)
    try:
        with pytest.raises(BundleError, match="127.0.0.1:9"):
            down.poll()
    finally:
        down.close()
