"""Live preview for authors without Quarto (`make preview`).

Watches the manuscript sources (paper/) and what the pipeline makes from the data, re-renders
the HTML with the self-render and serves it on 127.0.0.1 with automatic reload.

* A prose edit in paper/ takes the fast path: the changed sources are copied into a preview
  copy of the staged project (build/preview/) and only the HTML is rendered, in this
  process (no interpreter or Snakemake start-up).
* A change to data, code or notebooks (``--pipeline-watch``) runs the Snakemake target that
  makes the staged project (``--pipeline-target``) first, then refreshes the generated
  files (variables, tables, executed notebooks) of the preview copy.

A render error is shown in the browser page with the file and line of paper/ to fix; the
page reloads itself when the next render succeeds.
"""

from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from paperkit import warm
from paperkit.quarto import sync_generated
from paperkit.render import RenderError, render_manuscript

HOST = "127.0.0.1"  # never another interface: the preview is for the author's own browser
POLL_S = 0.1
RELOAD_SCRIPT = """
<script>
(function () {
  let seen = null;
  async function poll() {
    try {
      const now = await (await fetch("/__preview_version", {cache: "no-store"})).text();
      if (seen !== null && now !== seen) { location.reload(); }
      seen = now;
    } catch (e) { /* server restarting */ }
    setTimeout(poll, 300);
  }
  poll();
})();
</script>
"""


def snapshot(paths: Sequence[Path]) -> dict[Path, float]:
    """Modification times of every file under ``paths`` (files or folders)."""
    times: dict[Path, float] = {}
    for root in paths:
        if root.is_file():
            times[root] = root.stat().st_mtime
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    times[path] = path.stat().st_mtime
    return times


def changed(before: dict[Path, float], after: dict[Path, float]) -> list[Path]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


class Preview:
    """The preview copy of the staged project, its renders and their version number."""

    def __init__(self, source: Path, stage: Path, work: Path, generated: Sequence[str],
                 pipeline: Callable[[], bool] | None = None) -> None:
        self.source, self.stage, self.work = Path(source), Path(stage), Path(work)
        self.generated = list(generated)
        self.pipeline = pipeline
        self.out = self.work / "_manuscript"
        self.version = 0
        self.error: str | None = None
        self.lock = threading.Lock()

    def sources(self) -> list[Path]:
        """The author's files: everything in the source folder but generated files."""
        skip = set(self.generated) | {"_manuscript", ".quarto"}
        return [p for p in self.source.iterdir() if p.name not in skip]

    def refresh_sources(self) -> None:
        for path in self.sources():
            target = self.work / path.name
            if path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)

    def refresh_generated(self) -> None:
        sync_generated(self.stage, self.work, self.generated)

    def render(self) -> None:
        """Render the HTML; keep the error for the page when the sources are broken."""
        try:
            render_manuscript(self.work, ["html"], out_dir=self.out, engine="self",
                              source_dir=self.source)
            error = None
        except RenderError as exc:
            error = str(exc)
        with self.lock:
            self.error = error
            self.version += 1

    def rebuild(self, pipeline: bool) -> None:
        if pipeline and self.pipeline is not None and not self.pipeline():
            with self.lock:
                self.error = "the pipeline failed; see the terminal"
                self.version += 1
            return
        if pipeline:
            self.refresh_generated()
        self.refresh_sources()
        self.render()

    def page(self) -> bytes:
        """index.html with the reload script, or the error page."""
        with self.lock:
            error = self.error
        if error is not None:
            body = (f"<h1>The paper does not render</h1><pre>{html.escape(error)}</pre>"
                    f"<p>Fix the source; this page reloads by itself.</p>")
            return f"<!doctype html><html><body>{body}{RELOAD_SCRIPT}</body></html>".encode()
        text = (self.out / "index.html").read_text(encoding="utf-8")
        return text.replace("</body>", RELOAD_SCRIPT + "</body>").encode()


def watch(preview: Preview, pipeline_paths: Sequence[Path], stop: threading.Event) -> None:
    """Poll the sources and the pipeline's inputs; rebuild on every change."""
    sources = snapshot(preview.sources())
    inputs = snapshot(pipeline_paths)
    while not stop.wait(POLL_S):
        now_sources, now_inputs = snapshot(preview.sources()), snapshot(pipeline_paths)
        pipeline = bool(changed(inputs, now_inputs))
        if pipeline or changed(sources, now_sources):
            start = time.perf_counter()
            preview.rebuild(pipeline)
            took = time.perf_counter() - start
            print(f"preview: {'error' if preview.error else 'updated'} after {took:.1f} s"
                  + (f"\n{preview.error}" if preview.error else ""), flush=True)
            sources, inputs = snapshot(preview.sources()), snapshot(pipeline_paths)


class Handler(SimpleHTTPRequestHandler):
    """Static files of the preview's output folder, the page with reload, the version."""

    preview: Preview

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?")[0] == "/__preview_version":
            self._send(str(self.preview.version).encode(), "text/plain")
        elif self.path.split("?")[0] in ("/", "/index.html"):
            self._send(self.preview.page(), "text/html; charset=utf-8")
        else:
            super().do_GET()

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet: the terminal shows renders
        return


def serve(preview: Preview, port: int) -> ThreadingHTTPServer:
    handler = type("PreviewHandler", (Handler,), {"preview": preview})
    server = ThreadingHTTPServer((HOST, port),
                                 partial(handler, directory=str(preview.out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """python -m paperkit.preview --source paper --stage build/paper --generated ..."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the folder authors edit")
    parser.add_argument("--stage", type=Path, required=True, help="the pipeline's staged copy")
    parser.add_argument("--work", type=Path, default=Path("build/preview"))
    parser.add_argument("--generated", nargs="+", required=True,
                        help="files/folders of the staged copy the pipeline makes")
    parser.add_argument("--pipeline-target", default=None, help="Snakemake target to remake")
    parser.add_argument("--pipeline-watch", nargs="*", type=Path, default=[],
                        help="files/folders whose change reruns the pipeline target")
    parser.add_argument("--port", type=int, default=4848)
    args = parser.parse_args(argv)

    def pipeline() -> bool:
        if not args.pipeline_target:
            return True
        # through the warm launcher: Snakemake forked from a worker that loaded it once
        return subprocess.run(warm.snakemake_argv(["--cores", "2", args.pipeline_target]),
                              check=False).returncode == 0

    preview = Preview(args.source, args.stage, args.work, args.generated, pipeline)
    preview.work.mkdir(parents=True, exist_ok=True)
    preview.rebuild(pipeline=True)
    server = serve(preview, args.port)
    print(f"preview: http://{HOST}:{args.port}/ (Ctrl-C stops it)", flush=True)
    stop = threading.Event()
    try:
        watch(preview, args.pipeline_watch, stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
