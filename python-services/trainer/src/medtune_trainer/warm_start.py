"""Warm start for one-job trainers (the Ray path's entrypoint, ray_job.py).

A fresh Python process pays ~10-20 s to import torch / transformers / peft / trl before it can take
a job; the registered worker of the single-host path paid that once. Here one long-lived process
per node and environment (the *warm server*) imports those libraries once, and each job's
entrypoint asks it to fork a child that runs the one-job trainer with them already loaded:

    Ray's job supervisor -> shell -> python -m medtune_trainer.ray_job   (the client: stdlib only)
                                          |  unix socket: argv-free request + its stdin/out/err fds
    warm server (imports done) --fork--> child: ray_job.main() with the client's environment,
                                          working directory, stdout / stderr (so Ray's driver log
                                          is the same), watching the client and its parents

The client stays the Ray job's process: it forwards SIGTERM / SIGINT (Ray's stop) to the child and
exits with the child's exit status, which the server reports when it reaps it. The child exits at
once when the client, the shell or Ray's supervisor is gone (the node was lost, Ray killed the
job), exactly as a cold one-job trainer exits when its parents are gone. Isolation per attempt is
kept where it matters: each attempt is its own process (a crash or a leak ends with it); the server
never runs a job, never initialises CUDA (it refuses to fork if something did, so a child's
CUDA_VISIBLE_DEVICES from Ray always applies) and never imports unsloth (whose import touches the GPU).

The server is keyed by what its imports depend on: the interpreter, sys.path, the trainer's and the
contracts' source files (path, size, mtime) and the environment variables read at import time
(HF_*, TRANSFORMERS_*, TORCH*, PYTORCH_*, OMP_*, MKL_*, TOKENIZERS_*, PYTHON*, LD_*, CUDA_* but
CUDA_VISIBLE_DEVICES, GRPC_*): a job whose key differs gets a server of its own, never stale code or
settings. The first job on a node starts the server and waits for it (what a cold start costs,
once); the server exits after MEDTUNE_TRAINER_WARM_IDLE_S (default 900) without a job.

The socket lives in a 0700 directory of the user (MEDTUNE_TRAINER_WARM_DIR, default the temp
directory) and the server serves only its own uid (SO_PEERCRED). The environment travels over the
socket in memory only; nothing of it is written anywhere (the server's log holds its own output).

Settings: MEDTUNE_TRAINER_WARM_START=0 turns it off (every job imports in its own process, as
before); MEDTUNE_TRAINER_WARM_START_TIMEOUT_S (default 300) bounds the wait for a server that is
starting; any failure before the fork falls back to the cold path with a line in the driver log.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping, Optional

IMPORT_TIME_ENV = ("HF_", "TRANSFORMERS_", "TORCH", "PYTORCH_", "OMP_", "MKL_", "TOKENIZERS_", "PYTHON", "LD_", "CUDA_", "GRPC_", "NVIDIA_")
MAX_MESSAGE = 1 << 20


def enabled(env: Mapping[str, str]) -> bool:
    return env.get("MEDTUNE_TRAINER_WARM_START", "1") != "0"


def _sources() -> list[Path]:
    roots = [Path(__file__).resolve().parent]
    try:
        import importlib.util

        spec = importlib.util.find_spec("medtune")  # the generated contracts (a namespace package)
        roots += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    except (ImportError, ValueError):
        pass
    return sorted(p for r in roots for p in r.rglob("*.py"))


def key(env: Mapping[str, str]) -> str:
    """What the server's imports depend on, hashed (see the module's docstring)."""
    h = hashlib.sha256()
    h.update(sys.executable.encode())
    h.update(repr(sys.path).encode())
    for p in _sources():
        try:
            st = p.stat()
        except OSError:
            continue
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for k in sorted(env):
        if k.startswith(IMPORT_TIME_ENV) and k != "CUDA_VISIBLE_DEVICES":
            h.update(f"{k}={env[k]}\n".encode())
    return h.hexdigest()[:20]


def directory(env: Mapping[str, str]) -> Path:
    """The user's 0700 directory for the servers' sockets, lock files and logs."""
    d = Path(env.get("MEDTUNE_TRAINER_WARM_DIR") or tempfile.gettempdir()) / f"medtune-warm-{os.getuid()}"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = d.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{d} must be a directory of uid {os.getuid()} with mode 0700 (found uid {st.st_uid}, mode {st.st_mode & 0o777:o})")
    return d


def socket_path(env: Mapping[str, str]) -> Path:
    path = directory(env) / f"{key(env)}.sock"
    if len(os.fsencode(path)) > 100:  # a unix socket's path holds 107 bytes: a short one beside it
        alt = hashlib.sha256(os.fsencode(path.parent)).hexdigest()[:12]
        path = directory({"MEDTUNE_TRAINER_WARM_DIR": tempfile.gettempdir()}) / f"{alt}-{path.name}"
    return path


# --- the client: the Ray job's process ---------------------------------------------------------------


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _connect(path: Path) -> Optional[socket.socket]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(str(path))
        return s
    except OSError:
        s.close()
        return None


def _spawn(path: Path) -> None:
    log = open(path.with_suffix(".log"), "ab")  # the server's own output; never the environment
    subprocess.Popen(
        [sys.executable, "-m", "medtune_trainer.warm_start", "serve", str(path)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
        env={**os.environ, "PYTORCH_NVML_BASED_CUDA_CHECK": "1"},
    )
    log.close()


def run(t0: float, say=print) -> Optional[int]:
    """Runs this process's one-job trainer in a warm child; its exit status, or None to run cold."""
    env = os.environ
    try:
        path = socket_path(env)
    except OSError as e:
        say(f"ray_job: warm start unavailable ({e}); starting cold")
        return None
    conn = _connect(path)
    if conn is None:
        _spawn(path)
        say(f"ray_job: warm start: starting this node's warm server {path.stem} (once per node and environment)")
        deadline = time.monotonic() + float(env.get("MEDTUNE_TRAINER_WARM_START_TIMEOUT_S", "300"))
        while conn is None and time.monotonic() < deadline:
            time.sleep(0.2)
            conn = _connect(path)
        if conn is None:
            say(f"ray_job: warm start: no server at {path.name} in time; starting cold")
            return None
    # What the child must watch: this process, the shell Ray runs the entrypoint in, Ray's supervisor.
    ppid = os.getppid()
    watch = [p for p in (os.getpid(), ppid, _parent_of(ppid)) if p > 1]
    request = json.dumps({"env": dict(env), "cwd": os.getcwd(), "watch": watch, "t0": t0}).encode()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        socket.send_fds(conn, [request], [0, 1, 2])
    except OSError as e:
        say(f"ray_job: warm start failed before the fork ({e}); starting cold")
        return None
    finally:
        del request
    try:
        reply = json.loads(conn.recv(MAX_MESSAGE) or b"{}")
    except (OSError, ValueError) as e:  # a child may exist: never start a second trainer beside it
        say(f"ray_job: warm server's answer unreadable ({e}); ending this attempt")
        return 1
    if "pid" not in reply:
        say(f"ray_job: warm start refused ({reply.get('error', 'no answer')}); starting cold")
        conn.close()
        return None
    child = int(reply["pid"])
    say(f"ray_job: warm start: child {child} of warm server {reply.get('server')} ({path.stem})")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: _forward(child, s))
    while True:
        try:
            data = conn.recv(MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:  # the server is gone: the child outlives it, watching this process
            while _alive(child):
                time.sleep(0.5)
            say("ray_job: warm server gone before reporting the child's exit")
            return 1
        msg = json.loads(data)
        if "exit" in msg:
            return int(msg["exit"])


def _forward(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


# --- the server -----------------------------------------------------------------------------------


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _warm_imports() -> None:
    from . import ray_job

    ray_job._warm()
    # The trainer's own modules a job imports (grpc is imported, never started, before a fork).
    import grpc  # noqa: F401

    from . import registration, runner, server  # noqa: F401
    from .backends import hf  # noqa: F401


def _child(conn_fds: list[int], others: list[socket.socket], req: dict) -> None:
    """In the forked child: become the client's process (its fds, environment, directory) and run
    the one-job trainer. Never returns."""
    code = 1
    try:
        for s in others:
            s.close()
        os.setpgid(0, 0)
        for target, fd in enumerate(conn_fds):
            os.dup2(fd, target)
            os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["cwd"])
        from . import ray_job

        code = ray_job.main(watch=[int(p) for p in req["watch"]], t0=float(req["t0"]), warm=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child reports through its exit status and stderr
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(path: Path, idle_s: float) -> int:
    import fcntl

    lock = open(path.with_suffix(".lock"), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server for this key is starting or running
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")  # for tools/infra/ray-cluster.sh down
    lock.flush()
    os.chdir("/")  # the first entrypoint's directory (Ray's job directory) may go before this server
    t = time.time()
    _warm_imports()
    print(f"warm server {os.getpid()}: imports done in {time.time() - t:.1f} s", flush=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(str(tmp))
    os.chmod(tmp, 0o600)
    srv.listen(64)
    os.replace(tmp, path)  # appears only once it accepts
    ino = path.stat().st_ino
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    last = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            for k, _ in sel.select(timeout=0.5):
                if k.fileobj is srv:
                    conn, _ = srv.accept()
                    _accept(conn, srv, children, sel)
                    last = time.monotonic()
                else:  # a client went away: its child watches it and exits by itself
                    sel.unregister(k.fileobj)
            while children:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                conn = children.pop(pid, None)
                if conn is not None:
                    try:
                        conn.send(json.dumps({"exit": _exit_code(status)}).encode())
                    except OSError:
                        pass
                    try:
                        sel.unregister(conn)
                    except (KeyError, ValueError):
                        pass
                    conn.close()
                last = time.monotonic()
            if not children and time.monotonic() - last > idle_s:
                print(f"warm server {os.getpid()}: idle {idle_s:.0f} s, exiting", flush=True)
                return 0
    finally:
        try:
            if path.stat().st_ino == ino:
                path.unlink()
        except OSError:
            pass


def _accept(conn: socket.socket, srv: socket.socket, children: dict, sel) -> None:
    fds: list[int] = []
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():
            conn.send(json.dumps({"error": f"uid {uid} is not this server's"}).encode())
            conn.close()
            return
        conn.settimeout(10)
        msg, fds, _flags, _addr = socket.recv_fds(conn, MAX_MESSAGE, 3)
        req = json.loads(msg)
        if len(fds) != 3:
            raise ValueError(f"3 file descriptors expected, got {len(fds)}")
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_initialized():
            raise RuntimeError("CUDA was initialised in the warm server; a child could not use its own GPUs")
        sys.stdout.flush()
        sys.stderr.flush()
        others = [srv, *children.values(), *(k.fileobj for k in sel.get_map().values())]
        pid = os.fork()
        if pid == 0:
            _child(fds, [s for s in others if s is not conn] + [conn], req)
        for fd in fds:
            os.close(fd)
        conn.send(json.dumps({"pid": pid, "server": os.getpid()}).encode())
        children[pid] = conn
        sel.register(conn, selectors.EVENT_READ)
    except Exception as e:  # noqa: BLE001 - the client falls back to a cold start
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            conn.send(json.dumps({"error": f"{type(e).__name__}: {e}"}).encode())
        except OSError:
            pass
        conn.close()


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "serve":
        return serve(Path(argv[1]), float(os.environ.get("MEDTUNE_TRAINER_WARM_IDLE_S", "900")))
    print("usage: python -m medtune_trainer.warm_start serve SOCKET", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
