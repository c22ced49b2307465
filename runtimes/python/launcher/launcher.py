"""kwhisk ActionLoop launcher for Python.

The protocol is documented in pkg/actionloop/doc.go. In short: load the
action's __main__.py from $__OW_CODE, find its $__OW_MAIN (default "main"),
answer {"ok":true} on fd 3 when ready or {"error":...} and exit when loading
fails; then read one JSON request per line on stdin and write one JSON result
per line on fd 3 once the activation's output is in the stdout and stderr
pipes (no sentinels: the gateway reads the pipes up to the moment the result
came). Run it unbuffered (-u) so logs reach the pipes before the result.
Imports stay minimal: this file is on the cold-start path.
"""
import json
import os
import sys

RESULT_FD = 3


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def dumps(obj):
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates cannot be UTF-8: fall back to \u escapes.
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def fail(msg):
    write_all(RESULT_FD, dumps({"error": msg}) + b"\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def describe(exc, skip_frames):
    import traceback

    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip("\n")


def load():
    code_dir = os.environ.pop("__OW_CODE", "") or os.getcwd()
    name = os.environ.pop("__OW_MAIN", "") or "main"
    path = os.path.join(code_dir, "__main__.py")
    if not os.path.isfile(path):
        fail("Zip file does not include __main__.py")
    with open(path, "rb") as f:
        src = f.read()
    if not src.strip():
        fail("Missing main/no code to execute.")

    sys.path.insert(0, code_dir)
    venv = os.path.join(code_dir, "virtualenv", "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    if os.path.isdir(venv):
        sys.path.insert(1, venv)

    mod = type(sys)("main__")
    mod.__file__ = path
    sys.modules["main__"] = mod
    try:
        exec(compile(src, path, "exec"), mod.__dict__)
    except Exception as exc:  # SystemExit and KeyboardInterrupt end the process
        fail("Initialization has failed due to: " + describe(exc, 1))
    fn = getattr(mod, name, None)
    if not callable(fn):
        fail("Action entrypoint '%s' is not a function." % name)
    return fn


def developer_error(msg):
    return {"error": msg, "__ow_developer_error": True}


def call(fn, value):
    try:
        res = fn(value)
        if hasattr(res, "__await__"):
            import asyncio

            res = asyncio.run(res)
        return res
    except Exception as exc:
        sys.stderr.write(describe(exc, 1) + "\n")
        return developer_error("An error has occurred: " + str(exc))


def load_stem(line):
    """Loads the code a stem cell's first request names (see main)."""
    try:
        value = json.loads(line).get("value") or {}
        env = value.get("env") or {}
        for k, v in env.items():
            os.environ[k] = v if isinstance(v, str) else json.dumps(v)
    except (ValueError, AttributeError) as exc:
        fail("Initialization has failed due to: " + str(exc))
    if value.get("main"):
        os.environ["__OW_MAIN"] = value["main"]
    fn = load()
    sys.stdout.flush()
    sys.stderr.flush()
    write_all(RESULT_FD, b'{"ok":true}\n')
    return fn


def main():
    # Stem cells (local mode's prewarmed launchers, pkg/platform/local/stem.go):
    # started with __OW_STEM=1, the launcher loads no code until its first
    # request, {"value":{"main":"<entry point>","env":{<init parameters>}}},
    # which sets the environment and loads the code as at start, answering
    # {"ok":true} once its output is written, or failing as at start.
    fn = None if os.environ.pop("__OW_STEM", "") == "1" else load()
    write_all(RESULT_FD, b'{"ok":true}\n')
    env = os.environ
    stdin = sys.stdin.buffer
    keys = []
    while True:
        line = stdin.readline()
        if not line:
            return
        if fn is None:
            fn = load_stem(line)
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            res = developer_error("The action input is not valid JSON: " + str(exc))
        else:
            new = []
            for k, v in req.items():
                if k == "value":
                    continue
                ek = "__OW_" + k.upper()
                v = v if isinstance(v, str) else json.dumps(v)
                if env.get(ek) != v:  # putenv only for what changed
                    env[ek] = v
                new.append(ek)
            for k in keys:
                if k not in new:
                    env.pop(k, None)
            keys = new
            res = call(fn, req.get("value", {}))
        try:
            out = dumps(res)
        except (TypeError, ValueError) as exc:
            out = dumps(developer_error("An error has occurred: " + str(exc)))
        sys.stdout.flush()
        sys.stderr.flush()
        write_all(RESULT_FD, out + b"\n")


if __name__ == "__main__":
    main()
