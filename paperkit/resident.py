"""typst's layout kept between builds: one long-lived compiler process per project folder.

typst memoises its layout by content, so a process that has compiled a document once
compiles it again, a sentence changed, in a tenth of a second, where a new process takes
one and a half (a 50-page paper on a small machine): most of what a prose edit waits for
after pandoc. A build's manuscript job is a new process every time, so with
``PAPERKIT_WARM`` set (``make paper``, ``make preview``, ``make diff``: the builds that
use warm workers, paperkit/warm.py) :func:`compile_typst` sends the compile to a resident
process for this folder, started on first use. It ends after :data:`warm.IDLE_S` seconds
without a compile, or as soon as its memory passes :data:`MAX_MB` (typst's caches only
grow, about 15 MB per edit of such a paper); the next compile starts a new one. Without
``PAPERKIT_WARM``, in a cluster job or off Linux, typst compiles in the calling process;
when the resident process cannot start or dies, too, with a warning. The PDF is the same
either way (typst's output depends only on its input; tested byte for byte).

The resident process imports only ``typst`` and runs only :func:`_compile` below: it is
keyed like a warm worker (interpreter, packages, folder, environment) and by this file,
so an edit to the project's own code never meets a process holding the old one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import selectors
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from paperkit import warm

MAX_MB = 640.0
MAX_ENV = "PAPERKIT_RESIDENT_MAX_MB"  # the memory past which the process ends
IDLE_ENV = warm.IDLE_ENV


class CompileError(Exception):
    """typst refused the document: its message and its diagnostic (source excerpt)."""

    def __init__(self, message: str, diagnostic: str) -> None:
        super().__init__(message)
        self.message, self.diagnostic = message, diagnostic


def _compile(typ: str, output: str, root: str, font_paths: list[str], timestamp: int
             ) -> dict[str, Any]:
    """Compile ``typ`` to ``output``; the warnings' messages, or typst's error."""
    import typst

    try:
        _, warnings = typst.compile_with_warnings(
            typ, output=output, root=root, ignore_system_fonts=True, font_paths=font_paths,
            timestamp=timestamp)
    except typst.TypstError as exc:
        return {"error": {"message": str(exc.message), "diagnostic": str(exc.diagnostic)}}
    return {"warnings": [str(getattr(w, "message", w)) for w in warnings]}


def _result(reply: dict[str, Any]) -> list[str]:
    if "error" in reply:
        raise CompileError(reply["error"]["message"], reply["error"]["diagnostic"])
    return list(reply["warnings"])


def compile_typst(typ: Path, output: Path, root: Path, font_paths: list[str],
                  timestamp: int) -> list[str]:
    """Compile a typst file to PDF (in the resident process where the build has one);
    return typst's warnings, raise :class:`CompileError` for its error."""
    request = {"typ": str(Path(typ).resolve()), "output": str(Path(output).resolve()),
               "root": str(Path(root).resolve()), "font_paths": list(font_paths),
               "timestamp": int(timestamp)}
    if warm.warm_build():
        try:
            return _result(_ask(request))
        except (OSError, RuntimeError, ConnectionError) as exc:
            print(f"paperkit.resident: warning: {exc}; typst compiles in this process",
                  file=sys.stderr)
    return _result(_compile(**request))


# ------------------------------------------------------------------------- the job side


def socket_path() -> Path:
    """Where this folder's resident process listens (keyed as a warm worker, and by this
    file)."""
    key = warm.worker_key(["typst"], dict(os.environ), os.getcwd())
    key = hashlib.sha256(f"{key} {warm._stat(__file__)}".encode()).hexdigest()[:20]
    return warm.socket_path(f"typst-{key}")


def _ask(request: dict[str, Any]) -> dict[str, Any]:
    """The resident process's reply to ``request``; its peak memory is recorded where a
    benchmark asks for the build's peaks (``PAPERKIT_WARM_PEAKS``)."""
    path = socket_path()
    conn = warm.connect(path, [sys.executable, "-m", "paperkit.resident", "serve", str(path)])
    with conn:
        warm._send(conn, request)
        reply, _ = warm._recv(conn)
    if "crash" in reply:
        raise RuntimeError(f"the resident typst process failed:\n{reply['crash']}")
    folder = os.environ.get(warm.PEAKS_ENV)
    if folder and reply.get("peak_kib"):
        with contextlib.suppress(OSError):
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"resident-{reply['pid']}.kib").write_text(str(reply["peak_kib"]))
    return reply


# ------------------------------------------------------------------------- the process


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def serve(path: Path) -> None:
    """Compile one request at a time at ``path`` until idle, too big, or its folder or
    socket is gone (``python -m paperkit.resident serve SOCKET``)."""
    import typst  # noqa: F401 - loaded before the first request

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    inode = warm._stat(str(path))
    with contextlib.suppress(FileNotFoundError):
        Path(f"{path}.starting").unlink()
    folder, idle = Path.cwd(), float(os.environ.get(IDLE_ENV) or warm.IDLE_S)
    limit = float(os.environ.get(MAX_ENV) or MAX_MB)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    last = time.monotonic()
    signal.signal(signal.SIGTERM, warm.exit_on_signal)  # `stop`: end as when idle
    try:
        while _rss_mb() <= limit and folder.is_dir() and warm._stat(str(path)) == inode:
            if not sel.select(timeout=min(5.0, idle)):
                if time.monotonic() - last > idle:
                    break
                continue
            conn, _ = listener.accept()
            with conn:
                _answer(conn)
            last = time.monotonic()
    finally:
        if warm._stat(str(path)) == inode:  # not a newer process's socket
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        listener.close()
        warm.drop_empty_log(path)


def _answer(conn: socket.socket) -> None:
    try:
        request, _ = warm._recv(conn)
    except (ConnectionError, ValueError, OSError):
        return
    try:
        reply = _compile(**request)
    except Exception:  # noqa: BLE001 - the job compiles in its own process and shows it
        reply = {"crash": traceback.format_exc()}
    reply |= {"pid": os.getpid(),
              "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    with contextlib.suppress(OSError):
        warm._send(conn, reply)


def main(argv: list[str]) -> int:
    """``python -m paperkit.resident serve SOCKET``."""
    if argv[:1] == ["serve"] and len(argv) == 2:
        serve(Path(argv[1]))
        return 0
    print("usage: python -m paperkit.resident serve SOCKET", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
