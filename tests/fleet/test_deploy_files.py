"""The container and Kubernetes files under deploy/ (README "Fleet mode", "Containers").

No Docker engine or cluster is needed: the files are parsed and cross-checked, and every command they run in
the project image is run here with `--help` from the project's virtualenv, so a renamed executable, subcommand
or option fails here instead of in a container.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
HOST_SERVICES_FILE = DEPLOY / "docker-compose.host-services.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
ENV_EXAMPLE = DEPLOY / "env.example"
K8S_VALUES = DEPLOY / "k8s" / "values.yaml"
K8S_WORKER = DEPLOY / "k8s" / "worker-deployment.yaml"
VENV_BIN = REPO / ".venv" / "bin" if (REPO / ".venv" / "bin").is_dir() else Path(sys.executable).parent

# Variables the brief of fleet mode requires deploy/env.example to document.
REQUIRED_ENV = ("DARKREACH_PG_HOST", "DARKREACH_PG_PORT", "DARKREACH_PG_USER", "DARKREACH_PG_PASSWORD",
                "DARKREACH_PG_DB", "DARKREACH_STORE_DB", "REDIS_PASSWORD", "DARKREACH_EXECUTOR", "DARKREACH_DATA")
# The fleet's URLs, built by the compose file from the passwords (so a password is set in one place).
COMPOSE_URLS = ("DARKREACH_REGISTRY_URL", "DARKREACH_CHECKPOINTS", "DARKREACH_BROKER", "DARKREACH_BACKEND")
PASSWORDS = ("DARKREACH_PG_PASSWORD", "REDIS_PASSWORD")
INIT_SCRIPT = DEPLOY / "postgres" / "10-darkreach-databases.sh"
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|API_?KEY", re.IGNORECASE)
# Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+x}, $VAR;
# `$$` is a literal dollar (left for the container's shell).
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------- helpers


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


class TaggedDict(dict):
    """A mapping carrying its Compose merge tag (`!reset`, `!override`)."""

    tag = ""


class TaggedList(list):
    tag = ""


class ComposeLoader(yaml.SafeLoader):
    """safe_load plus Compose's merge tags, kept on the value so that the tests can check where they are."""


def _merge_tag(loader: ComposeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        value: Any = TaggedDict(loader.construct_mapping(node, deep=True))
    elif isinstance(node, yaml.SequenceNode):
        value = TaggedList(loader.construct_sequence(node, deep=True))
    else:
        raise AssertionError(f"{node.tag} on a scalar: {node.value!r}")
    value.tag = node.tag
    return value


for _tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(_tag, _merge_tag)


def load_host_services() -> dict[str, Any]:
    return yaml.load(HOST_SERVICES_FILE.read_text(), Loader=ComposeLoader)


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), f"env.example line {number}: not NAME=value: {line!r}"
        assert name not in values, f"env.example defines {name} twice"
        values[name] = value
    return values


def strings(node: Any) -> Iterator[str]:
    """Every string of a parsed YAML document, keys included (comments are gone after parsing)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def interpolated(text: str) -> list[str]:
    return [m.group(1) or m.group(4) for m in INTERPOLATION.finditer(text.replace("$$", ""))]


def substitute(text: str, env: dict[str, str]) -> str:
    """Compose interpolation, then the container shell's expansion of the `$$VAR` left over, with env.example's
    values (or the default given in the file, or a placeholder) - enough to run a command with --help."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        if name in env:
            return env[name]
        if m.group(2) in (":-", "-"):
            return m.group(3)
        return "placeholder"

    once = INTERPOLATION.sub(value, text.replace("$$", "\0"))
    return INTERPOLATION.sub(value, once.replace("\0", "$"))


def services() -> dict[str, dict[str, Any]]:
    return load_compose()["services"]


def project_services() -> dict[str, dict[str, Any]]:
    """Services running the project image (built from deploy/Dockerfile)."""
    return {name: svc for name, svc in services().items() if "build" in svc}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    assert not pending, "Dockerfile ends with a line continuation"
    out = []
    for line in joined:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def dockerfile_stages() -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = []
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append({"base": words[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((instruction, args))
    return stages


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) CMD/HEALTHCHECK CMD argument list."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def k8s_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def worker_deployment() -> dict[str, Any]:
    deployments = [doc for doc in k8s_docs(K8S_WORKER) if doc.get("kind") == "Deployment"]
    assert len(deployments) == 1, "worker-deployment.yaml must hold exactly one Deployment"
    return deployments[0]


def commands_in_project_image() -> list[tuple[str, list[str]]]:
    """(where, argv) of every command the deploy files run in the project image, variables substituted."""
    env = env_example()
    found: list[tuple[str, list[str]]] = []
    for name, svc in project_services().items():
        if "command" in svc:
            command = svc["command"]
            assert isinstance(command, list), f"compose service {name}: use the exec (list) form for command"
            found.append((f"compose {name} command", [substitute(a, env) for a in command]))
        test = (svc.get("healthcheck") or {}).get("test")
        if test and test[0] == "CMD":
            found.append((f"compose {name} healthcheck", [substitute(a, env) for a in test[1:]]))
        elif test and test[0] == "CMD-SHELL":
            found.append((f"compose {name} healthcheck", shlex.split(substitute(test[1], env))))
    last = dockerfile_stages()[-1]["instructions"]
    for instruction, args in last:
        if instruction == "CMD":
            found.append(("Dockerfile CMD", exec_form(args)))
        if instruction == "HEALTHCHECK":
            found.append(("Dockerfile HEALTHCHECK", exec_form(args[args.index("CMD") + 3:].strip())))
    container = worker_deployment()["spec"]["template"]["spec"]["containers"][0]
    found.append(("k8s worker command", container["command"] + container.get("args", [])))
    probe = container.get("livenessProbe", {}).get("exec", {}).get("command")
    if probe:
        assert probe[:2] == ["/bin/sh", "-c"], probe
        found.append(("k8s worker livenessProbe", shlex.split(substitute(probe[2], env))))
    for deployment in yaml.safe_load(K8S_VALUES.read_text())["dagster-user-deployments"]["deployments"]:
        found.append((f"k8s code location {deployment['name']}", ["dagster", "api", "grpc",
                                                                  *deployment["dagsterApiGrpcArgs"]]))
    return found


# ---------------------------------------------------------------------------------------------- compose file


def test_compose_services_and_dependencies():
    svcs = services()
    assert {"postgres", "redis", "webserver", "daemon", "worker"} <= set(svcs)
    for name, svc in svcs.items():
        depends = svc.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on must use the long form with a condition"
        for other, spec in depends.items():
            assert other in svcs, f"{name} depends on {other}, which is not a service"
            condition = spec.get("condition")
            assert condition in ("service_healthy", "service_completed_successfully"), (name, other, condition)
            if condition == "service_healthy":
                image_default = {"test": True} if other in project_services() else {}  # the Dockerfile's
                health = {**image_default, **svcs[other].get("healthcheck", {})}
                assert health.get("test") and not health.get("disable"), \
                    f"{name} waits for {other}'s health, but {other} has no healthcheck"
    for name in ("webserver", "daemon", "worker"):
        assert svcs[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert svcs[name]["depends_on"]["redis"]["condition"] == "service_healthy", name
    assert "pg_isready" in " ".join(svcs["postgres"]["healthcheck"]["test"])
    assert "redis-cli ping | grep -q PONG" in svcs["redis"]["healthcheck"]["test"]
    assert svcs["postgres"]["image"].split(":")[1].startswith("15")


def test_compose_files_it_refers_to_exist():
    for name, svc in project_services().items():
        build = svc["build"]
        assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE, name
    for name, svc in services().items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (COMPOSE_FILE.parent / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in (load_compose().get("volumes") or {}), f"{name}: volume {source} not declared"
    mounts = {v.split(":")[1] for v in project_services()["webserver"]["volumes"]}
    assert "/opt/dagster/home/dagster.yaml" in mounts, "the fleet instance config must reach DAGSTER_HOME"
    for name in ("webserver", "daemon", "worker"):
        svc = project_services()[name]
        data = env_example()["DARKREACH_DATA"]
        assert any(v.split(":")[1] == data for v in svc["volumes"]), f"{name}: DARKREACH_DATA is not a shared volume"


def test_every_compose_variable_is_documented_in_env_example():
    documented = env_example()
    used = {name for doc in (load_compose(), load_host_services()) for text in strings(doc)
            for name in interpolated(text)}
    assert used, "no ${VAR} found: the parser is broken"
    assert sorted(used - set(documented)) == []


def test_env_example_documents_the_fleet_variables():
    documented = env_example()
    assert sorted(set(REQUIRED_ENV) - set(documented)) == []
    assert documented["DARKREACH_EXECUTOR"] == "celery"
    instance = (DEPLOY / "fleet" / "dagster.yaml").read_text()
    assert sorted(set(re.findall(r"\{env: ([A-Z0-9_]+)\}", instance)) - set(documented)) == []
    # and nothing it documents is made up: every name is read by the code, the compose file, the instance
    # config, the postgres image or the postgres init script
    known = set(re.findall(r"DARKREACH_[A-Z0-9_]+", "".join(
        p.read_text() for d in ("darkreach_pipeline", "assets", "resources") for p in (REPO / d).rglob("*.py"))))
    known |= {n for doc in (load_compose(), load_host_services()) for text in strings(doc) for n in interpolated(text)}
    known |= set(re.findall(r"\{env: ([A-Z0-9_]+)\}", instance))
    assert sorted(set(documented) - known) == []


def test_no_secrets_in_compose_file():
    compose = load_compose()
    env = env_example()
    text = COMPOSE_FILE.read_text()
    for name, value in env.items():
        if SECRET_KEY.search(name) and value:
            assert value not in text, f"the value of {name} appears in docker-compose.yml"
    for text_value in strings(compose):
        for match in URL_CREDENTIALS.finditer(text_value):
            assert interpolated(match.group(1)), f"a URL with a literal password: {text_value!r}"

    def check_environment(where: str, environment: Any) -> None:
        items = environment.items() if isinstance(environment, dict) else (
            (e.partition("=")[0], e.partition("=")[2] or None) for e in environment or [])
        for key, value in items:
            if SECRET_KEY.search(str(key)) and value not in (None, ""):
                assert re.fullmatch(r"\$\{[^}]+\}", str(value)), f"{where}: {key} has a literal value"

    for name, svc in compose["services"].items():
        check_environment(name, svc.get("environment"))
    for name in ("postgres", *project_services()):
        env_file = compose["services"][name].get("env_file")
        assert env_file in (".env", [".env"]), f"{name}: credentials must come from env_file .env"


def compose_interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one string: ${VAR:?message} fails when VAR is unset or empty (ValueError with
    the message, as `docker compose up` does), ${VAR:-default} falls back, `$$` stays a literal `$`."""

    def value(m: re.Match[str]) -> str:
        name, operator, argument = m.group(1) or m.group(4), m.group(2), m.group(3)
        current = env.get(name)
        if operator in (":?", "?") and (current is None or (operator == ":?" and current == "")):
            raise ValueError(f"required variable {name} is missing a value: {argument}")
        if operator in (":-", "-") and (current is None or (operator == ":-" and current == "")):
            return argument
        return current or ""

    return INTERPOLATION.sub(value, text.replace("$$", "\0")).replace("\0", "$")


def compose_config(env: dict[str, str]) -> dict[str, Any]:
    """The compose file with every string interpolated (what `docker compose config` prints)."""

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return compose_interpolate(node, env)
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(load_compose())


def test_compose_refuses_to_start_until_the_passwords_are_set():
    """env.example used to ship `change-me` passwords that Compose started with; now it ships none, and Compose
    stops at the first password still empty, naming it."""
    documented = env_example()
    for name in PASSWORDS:
        assert documented[name] == "", f"env.example ships a value for {name}"
        assert re.search(r"\$\{" + name + r":\?[^}]+\}", COMPOSE_FILE.read_text()), f"no ${{{name}:?...}}"
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            assert "change-me" not in path.read_text(errors="replace").lower(), path
    with pytest.raises(ValueError, match="required variable (DARKREACH_PG_PASSWORD|REDIS_PASSWORD)"):
        compose_config(documented)
    for name in PASSWORDS:  # each one alone is enough to refuse
        others = {n: "x" * 48 for n in PASSWORDS if n != name}
        with pytest.raises(ValueError, match=f"required variable {name} is missing a value: set {name} in deploy"):
            compose_config({**documented, **others})


def test_redis_has_a_password_and_every_url_carries_the_passwords():
    pg, redis = "a1" * 24, "b2" * 24
    config = compose_config({**env_example(), "DARKREACH_PG_PASSWORD": pg, "REDIS_PASSWORD": redis})
    svcs = config["services"]
    command = svcs["redis"]["command"]
    assert command[command.index("--requirepass") + 1] == redis
    assert svcs["redis"]["environment"]["REDISCLI_AUTH"] == redis  # the healthcheck's redis-cli
    assert svcs["postgres"]["environment"]["POSTGRES_PASSWORD"] == pg
    for name, svc in svcs.items():
        if "build" not in svc:
            continue
        env = svc["environment"]
        assert sorted(set(COMPOSE_URLS) - set(env)) == [], name
        assert env["DARKREACH_BROKER"] == f"redis://:{redis}@redis:6379/0", name
        assert env["DARKREACH_BACKEND"] == f"redis://:{redis}@redis:6379/1", name
        for url in ("DARKREACH_REGISTRY_URL", "DARKREACH_CHECKPOINTS"):
            assert env[url] == f"postgresql://darkreach:{pg}@postgres:5432/darkreach", (name, url)


@pytest.fixture
def scratch_database():
    """A throw-away database on the local PostgreSQL (trust auth) to play POSTGRES_DB; dropped with every
    database the test created."""
    import uuid

    import psycopg2
    from psycopg2 import sql

    def admin():
        connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
        connection.autocommit = True
        return connection

    name = f"darkreach_init_{uuid.uuid4().hex[:10]}"
    created = [name]
    connection = admin()
    with connection.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    try:
        yield name, created
    finally:
        connection = admin()
        with connection.cursor() as cur:
            for db in created:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        connection.close()


def test_init_script_passes_names_to_sql_as_parameters(scratch_database):
    """A database name holding quotes and statements is created under exactly that name, and nothing of it runs:
    the script used to paste the name into `SELECT ... WHERE datname = '$db'` and `CREATE DATABASE "$db"`."""
    import psycopg2

    admin_db, created = scratch_database
    hostile = "x'; CREATE TABLE pwned (i int); --\"; SELECT 1; --"
    created.append(hostile)
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": "5432", "POSTGRES_USER": "postgres",
           "POSTGRES_DB": admin_db, "DARKREACH_STORE_DB": hostile}
    for _ in range(2):  # the second run finds the database and creates nothing
        proc = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=admin_db)
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname = %s", (hostile,))
            assert cur.fetchall() == [(hostile,)]
            cur.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'pwned'")
            assert cur.fetchone() == (0,)
    finally:
        connection.close()
    same = {**env, "DARKREACH_STORE_DB": admin_db}  # the stores share the Dagster database: nothing to create
    assert subprocess.run(["bash", str(INIT_SCRIPT)], env=same, capture_output=True, timeout=60).returncode == 0


def test_worker_service_scales():
    worker = services()["worker"]
    for key in ("container_name", "ports", "hostname", "network_mode"):
        assert key not in worker, f"worker sets {key}: `docker compose up --scale worker=4` would clash"
    command = worker["command"]
    assert command[:2] == ["darkreach", "worker"]
    # `darkreach worker -n NAME` becomes celery's NAME@%h: the container hostname keeps scaled names unique
    assert "-n" in command and "@" not in command[command.index("-n") + 1]


def published_ports(svc: dict[str, Any]) -> list[tuple[str | None, str]]:
    out = []
    for port in svc.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip"), str(port.get("published"))))
        else:
            parts = str(port).split(":")
            out.append((parts[0] if len(parts) == 3 else None, parts[-2] if len(parts) >= 2 else parts[0]))
    return out


def test_only_the_webserver_publishes_and_on_loopback_only():
    svcs = services()
    assert published_ports(svcs["webserver"]) == [("127.0.0.1", "3000")]
    for name, svc in svcs.items():
        if name != "webserver":
            assert not svc.get("ports"), f"{name} publishes ports"
        assert not svc.get("network_mode"), f"{name}: network_mode bypasses the published-ports rule"
    command = svcs["webserver"]["command"]
    assert command[0] == "dagster-webserver" and command[command.index("-h") + 1] == "0.0.0.0"
    assert command[command.index("-p") + 1] == "3000"


def test_host_services_override_replaces_the_bundled_services():
    """deploy/docker-compose.host-services.yml (run for real by test_container_fleet.py): the project's containers
    on the host's network, using the host's PostgreSQL and broker; the bundled ones are not started."""
    override = load_host_services()["services"]
    assert set(override) == set(services()), "the override names exactly the compose file's services"
    for name in ("postgres", "redis"):
        assert override[name] == {"profiles": ["bundled-services"]}, name
    base_env = {name: svc["environment"] for name, svc in project_services().items()}
    for name in project_services():
        svc = override[name]
        assert svc["network_mode"] == "host", name
        environment = svc["environment"]
        assert set(COMPOSE_URLS) <= set(environment), f"{name}: the bundled services' URLs are not all replaced"
        for url in COMPOSE_URLS:
            assert not re.search(r"@(postgres|redis):", environment[url]), (name, environment[url])
        assert set(base_env[name]) - set(environment) == {"DAGSTER_HOME", "DARKREACH_HOME"}, name
        # !reset: Compose would otherwise merge in the waits for the postgres and redis containers (not started)
        assert svc["depends_on"] == {} and svc["depends_on"].tag == "!reset", f"{name}: depends_on is merged"
    # ... so the migration is a step of its own before `up` (the header's commands say so)
    header = HOST_SERVICES_FILE.read_text()
    assert header.index(" run --rm migrate") < header.index(" up -d"), "the header runs migrate after up"
    # The webserver: no published ports (the host's network), loopback only, its port where its health check asks.
    webserver = override["webserver"]
    assert webserver["ports"] == [] and webserver["ports"].tag == "!reset"
    command = webserver["command"]  # a command replaces the compose file's (no merge tag needed)
    assert command[command.index("-h") + 1] == "127.0.0.1"
    assert command[command.index("-p") + 1] == webserver["environment"]["DAGSTER_WEBSERVER_PORT"]
    health = [args for instr, args in dockerfile_stages()[-1]["instructions"] if instr == "HEALTHCHECK"][0]
    assert "DAGSTER_WEBSERVER_PORT" in health
    # Scaled workers share the host's hostname there: each keeps a random Celery name, which its health check pings.
    worker = override["worker"]
    script = worker["command"][2]
    assert worker["command"][:2] == ["sh", "-c"] and "/dev/urandom" in script and "celery-name" in script, script
    assert 'exec darkreach worker -n "$$(cat' in script and "${DARKREACH_WORKER_CONCURRENCY:-2}" in script, script
    assert worker["healthcheck"].tag == "!override" and "$" not in str(worker["healthcheck"]), "not interpolated"
    ping = worker["healthcheck"]["test"]
    assert ping[:3] == ["CMD", "python", "-c"] and "/celery-name" in ping[3] and "'ping'" in ping[3], ping
    compile(ping[3], "worker healthcheck", "exec")


# --------------------------------------------------------------- commands: executables of the virtualenv, --help


def unique_commands() -> list[Any]:
    seen: dict[tuple[str, ...], str] = {}
    for where, argv in commands_in_project_image():
        seen.setdefault(tuple(argv), where)
    return [pytest.param(where, list(argv), id=where) for argv, where in seen.items()]


def run_help(where: str, argv: list[str]) -> None:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    # click handles --help eagerly after parsing, so unknown options and subcommands still fail here
    proc = subprocess.run([*argv, "--help"], env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"{where}: {' '.join(argv)} --help failed:\n{proc.stdout}\n{proc.stderr}"
    assert "usage" in proc.stdout.lower(), proc.stdout


@pytest.mark.parametrize(("where", "argv"), unique_commands())
def test_command_exists_and_accepts_its_options(where, argv, monkeypatch):
    executable = VENV_BIN / argv[0]
    assert executable.exists(), f"{where}: {argv[0]} is not in {VENV_BIN}"
    if argv[0].startswith("python"):
        assert argv[1] == "-c", argv
        compile(argv[2], f"<{where}>", "exec")  # running it would need the server
        return
    if argv[0] != "darkreach":
        run_help(where, [str(executable), *argv[1:]])
        return
    # argparse stops at --help before it rejects unknown options: parse the real arguments instead, with the
    # final exec replaced, then check the celery command `darkreach worker` would exec with celery's --help.
    run_help(where, [str(executable), *argv[1:2]])
    from darkreach_pipeline import cli

    execs: list[list[str]] = []
    envs: list[dict[str, str]] = []

    def fake_execvpe(file: str, args: list[str], env: dict[str, str]) -> None:
        execs.append(list(args))
        envs.append(dict(env))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvpe", fake_execvpe)
    # no broker or database to wait for here (the start-up wait has its own tests in test_backoff.py)
    monkeypatch.setattr("darkreach_pipeline.fleet.wait_for_services", lambda log, needs: None)
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))  # `darkreach worker` extends it
    broker = "redis://:pw@redis:6379/0"
    monkeypatch.setenv("DARKREACH_BROKER", broker)
    monkeypatch.setenv("DARKREACH_BACKEND", "redis://:pw@redis:6379/1")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv[1:])
    assert exit_info.value.code == 0 and len(execs) == 1, f"{where}: darkreach rejected {argv[1:]}"
    # the broker reaches celery through its environment, not its command line (which `ps` shows)
    assert envs[0]["CELERY_BROKER_URL"] == broker and broker not in " ".join(execs[0])
    run_help(f"{where} (celery)", execs[0])


# ------------------------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_stages():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: a builder and a runtime stage"
    assert all(s["name"] for s in stages), "name every stage (FROM ... AS name)"
    builder, runtime = stages[0], stages[-1]
    pip = [args for instr, args in builder["instructions"] if instr == "RUN" and "pip install" in args]
    assert pip and ".[fleet]" in shlex.split(pip[0]), pip
    copies_from = [args for instr, args in runtime["instructions"] if instr == "COPY" and "--from=" in args]
    assert any(f"--from={builder['name']}" in c for c in copies_from), "the runtime stage copies the builder's venv"
    assert not any(instr == "RUN" and "pip install" in args for instr, args in runtime["instructions"]), \
        "the runtime stage installs nothing"
    users = [args for instr, args in runtime["instructions"] if instr == "USER"]
    assert users, "the last stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users
    envs = " ".join(args for instr, args in runtime["instructions"] if instr == "ENV")
    assert "DAGSTER_HOME=/opt/dagster/home" in envs
    assert any(instr == "WORKDIR" for instr, _ in runtime["instructions"])
    assert any(instr == "COPY" and args.split()[0] == "workspace.yaml" for instr, args in runtime["instructions"])
    assert any(instr == "HEALTHCHECK" for instr, _ in runtime["instructions"])
    cmd = [exec_form(args) for instr, args in runtime["instructions"] if instr == "CMD"][-1]
    assert cmd[0] == "dagster-webserver" and cmd[cmd.index("-h") + 1] == "0.0.0.0"


def test_dockerfile_copies_exist_and_pass_the_dockerignore():
    allowed = {line[1:].rstrip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")}
    for stage in dockerfile_stages():
        for instr, args in stage["instructions"]:
            if instr != "COPY" or args.startswith("--from"):
                continue
            for source in shlex.split(args)[:-1]:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by Dockerfile.dockerignore"


# ------------------------------------------------------------------------------------------------- Kubernetes


def test_k8s_worker_deployment():
    docs = k8s_docs(K8S_WORKER)
    assert all("apiVersion" in d and "kind" in d for d in docs)
    deployment = worker_deployment()
    spec = deployment["spec"]
    assert spec["replicas"] >= 1
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["darkreach", "worker"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    secrets = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    assert secrets, "worker environment from a Secret"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    for env in container.get("env", []):
        assert not SECRET_KEY.search(env["name"]) or "valueFrom" in env, env["name"]
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    declared = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    assert claims <= declared


def test_k8s_helm_values():
    values = yaml.safe_load(K8S_VALUES.read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    assert "postgresqlPassword" not in values["postgresql"], "the password comes from a Secret"
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    deployments = values["dagster-user-deployments"]["deployments"]
    worker = worker_deployment()["spec"]["template"]["spec"]["containers"][0]
    for deployment in deployments:
        image = deployment["image"]
        assert f"{image['repository']}:{image['tag']}" == worker["image"], "code location and workers: one image"
        secrets = {s["name"] for s in deployment["envSecrets"]}
        assert secrets == {e["secretRef"]["name"] for e in worker["envFrom"] if "secretRef" in e}
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert {s["name"] for s in launcher["envSecrets"]} == secrets
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert limits["maxConcurrentRuns"] == 4
    for text in strings(values):
        assert not URL_CREDENTIALS.search(text), f"credentials in values.yaml: {text!r}"


# ------------------------------------------------------------------------------------------------ credentials


def test_env_file_is_not_shipped_and_is_git_ignored():
    assert ENV_EXAMPLE.name != ".env"
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "deploy/.env"], cwd=REPO, capture_output=True, text=True)
    assert tracked.stdout.strip() == "", "deploy/.env is tracked"
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=REPO)
    assert ignored.returncode == 0, "deploy/.env is not git-ignored"
