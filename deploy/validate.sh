#!/usr/bin/env bash
# Validate the operator artifacts in deploy/ with whatever tools are present.
#
#   bash deploy/validate.sh            # from anywhere
#   STRICT=1 bash deploy/validate.sh   # a missing tool is a failure too (CI)
#   TF_PLUGIN_DIR=/path bash deploy/validate.sh   # offline provider mirror for terraform init
#   VANGUARD_SERVER_BIN=target/release/server bash deploy/validate.sh
#                                      # also scrape a live /metrics of that binary
#   METRICS_URL=http://host:3000/metrics bash deploy/validate.sh   # or of a running server
#   ALLOW_SKIP="terraform init"        # with STRICT=1: skips naming this are accepted
#
# Always (python3): every *.json parses (json.tool); every *.yml parses (PyYAML);
# the metric names used by the alerts and the dashboard are in the contract;
# dashboard structure; ECS task definitions against invariants (and against
# the ECS API model when botocore is installed).
# With promtool: `check rules`, `test rules` (alerts.test.yml), and the
# dashboard's PromQL parsed as rules. With terraform: fmt, init (in a scratch
# copy; nothing is written into deploy/terraform), validate, test (mocked AWS).
#
# Live: every metric the alerts and the dashboard use is in a real scrape.
# Shutdown budgets: ECS stopTimeout > VANGUARD_DRAIN_DELAY_MS +
# VANGUARD_SHUTDOWN_TIMEOUT_MS (as the task definition sets them, else the
# Dockerfile's), the ALB deregistration delay (Terraform) < stopTimeout,
# Railway's drainingSeconds above the same budget, and the health checks of
# the Dockerfile, the task definition and the target group agree.
#
# Exit status: 0 when every check that ran passed, 1 otherwise.
set -uo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STRICT="${STRICT:-0}"
failures=0
skips=0
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

pass() { printf 'PASS  %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failures=$((failures + 1)); }
ALLOW_SKIP="${ALLOW_SKIP:-}"
skip() {
    if [ -n "$ALLOW_SKIP" ] && [[ "$1" == *"$ALLOW_SKIP"* ]]; then
        printf 'SKIP  %s (accepted: ALLOW_SKIP)\n' "$1"
    else
        printf 'SKIP  %s\n' "$1"; skips=$((skips + 1))
    fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# run NAME CMD...: run a check, show its output indented only when it fails.
run() {
    local name="$1"; shift
    local out
    if out="$("$@" 2>&1)"; then
        pass "$name"
    else
        fail "$name"
        local rc=1
        # Blank, repeated and box-drawing-only lines and Terraform's CLI-config
        # warning dropped; long lines cut.
        printf '%s\n' "$out" \
            | grep -v -e 'CLI configuration' -e 'terraformrc' -e '^[[:space:]╷╵│]*$' \
            | awk '!seen[$0]++' | cut -c1-200 | head -n 40 | sed 's/^/      /'
        return "$rc"
    fi
}

if ! have python3; then
    echo "python3 is required" >&2
    exit 1
fi

# --- JSON ---------------------------------------------------------------------
while IFS= read -r -d '' f; do
    run "json parse  ${f#"$DEPLOY"/}" python3 -m json.tool "$f" /dev/null
done < <(find "$DEPLOY" -name '*.json' -not -path '*/.terraform/*' -print0 | sort -z)

# --- YAML ---------------------------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null; then
    while IFS= read -r -d '' f; do
        run "yaml parse  ${f#"$DEPLOY"/}" python3 -c '
import sys, yaml
try:
    yaml.safe_load(open(sys.argv[1]))
except yaml.YAMLError as e:
    sys.exit(str(e))' "$f"
    done < <(find "$DEPLOY" \( -name '*.yml' -o -name '*.yaml' \) -print0 | sort -z)
else
    skip "yaml parse (PyYAML missing: pip install pyyaml)"
fi


# --- Live /metrics scrape ----------------------------------------------------------
# A real scrape, so that the rules and the dashboard cannot name a metric the
# server does not export. The server runs on a throwaway SQLite database and
# answers a few requests first (the request metrics have samples only then).
METRICS_FILE=""
scrape_live() {
    local bin="$1" port="${VALIDATE_PORT:-3960}" data="$SCRATCH/server-data" pid
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is in use; set VALIDATE_PORT"; return 1
    fi
    mkdir -p "$data"
    LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$SCRATCH/site" VANGUARD_DATA_DIR="$data" \
        DATABASE_URL="" VANGUARD_ENV=development "$bin" serve >"$SCRATCH/server.log" 2>&1 &
    pid=$!
    local ok=""
    for _ in $(seq 1 120); do
        if curl -fsS --max-time 2 "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then ok=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if [ -n "$ok" ]; then
        curl -s -o /dev/null "http://127.0.0.1:$port/health/live" || true
        curl -s -o /dev/null "http://127.0.0.1:$port/no-such-page" || true
        curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$SCRATCH/metrics.txt" || ok=""
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ -z "$ok" ]; then tail -n 20 "$SCRATCH/server.log"; return 1; fi
}
if [ -n "${METRICS_URL:-}" ]; then
    run "live /metrics scrape of $METRICS_URL" curl -fsS --max-time 10 -o "$SCRATCH/metrics.txt" "$METRICS_URL" \
        && METRICS_FILE="$SCRATCH/metrics.txt"
elif [ -n "${VANGUARD_SERVER_BIN:-}" ]; then
    mkdir -p "$SCRATCH/site"
    run "live /metrics scrape of $VANGUARD_SERVER_BIN" scrape_live "$VANGUARD_SERVER_BIN" \
        && METRICS_FILE="$SCRATCH/metrics.txt"
else
    skip "live /metrics scrape (set VANGUARD_SERVER_BIN or METRICS_URL)"
fi
export METRICS_FILE

# --- Metric contract, dashboard structure, ECS invariants (python) --------------
python3 - "$DEPLOY" "$SCRATCH" <<'PY'
import json, os, re, sys

deploy, scratch = sys.argv[1], sys.argv[2]
failures = 0
skips = 0

def report(ok, name, detail=""):
    global failures
    print(("PASS  " if ok else "FAIL  ") + name)
    if not ok:
        failures += 1
        for line in str(detail).strip().splitlines()[:20]:
            print("      " + line)

def guarded(name):
    """Run a group of checks; a file that does not load fails the group, not the script."""
    def wrap(fn):
        try:
            fn()
        except Exception as e:  # the parse checks above already show the details
            report(False, name, f"{type(e).__name__}: {e}")
        return fn
    return wrap

def load_json(rel):
    return json.load(open(os.path.join(deploy, rel)))

CONTRACT = {
    "vanguard_http_requests_total", "vanguard_http_request_duration_seconds",
    "vanguard_http_requests_in_flight", "vanguard_ready",
    "vanguard_db_pool_connections", "vanguard_db_pool_max_connections",
    "vanguard_db_pool_acquire_wait_seconds_total",
    "vanguard_outbox_jobs", "vanguard_outbox_oldest_pending_age_seconds",
    "vanguard_claims_ingested_total", "vanguard_claims_decided_total",
    "vanguard_policies_created_total",
}
HISTOGRAMS = {"vanguard_http_request_duration_seconds"}
REFERENCED = {}  # "alerts" / "dashboard" -> PromQL expressions

def unknown_metrics(text):
    bad = set()
    for name in re.findall(r"\bvanguard_[a-z0-9_]+", text):
        base = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
                base = name[: -len(suffix)]
        if base not in CONTRACT:
            bad.add(name)
    return bad

@guarded("alerts: rules load")
def alerts():
    text = open(os.path.join(deploy, "prometheus/alerts.yml")).read()
    try:
        import yaml
    except ImportError:
        exprs = [text]  # no YAML parser: scan the whole file for metric names
    else:
        doc = yaml.safe_load(text)
        rules = [r for g in doc["groups"] for r in g["rules"]]
        exprs = [r["expr"] for r in rules]
        missing = [r.get("alert") for r in rules
                   if not (r.get("for") and r.get("labels", {}).get("severity")
                           and {"summary", "description", "runbook"} <= set(r.get("annotations", {})))]
        report(not missing, f"alerts: all {len(rules)} rules have for, severity, summary/description/runbook",
               "incomplete: " + ", ".join(map(str, missing)))
    REFERENCED["alerts"] = exprs
    bad = set().union(*(unknown_metrics(e) for e in exprs))
    report(not bad, "alerts: metric names are in the /metrics contract", "unknown: " + ", ".join(sorted(bad)))

@guarded("dashboard: loads")
def dashboard():
    dash = load_json("grafana/vanguard-dashboard.json")
    problems = []
    if dash.get("schemaVersion") != 39:
        problems.append("schemaVersion is not 39")
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no Prometheus datasource variable named 'datasource'")
    ids, exprs = set(), []
    for p in dash.get("panels", []):
        if p.get("id") in ids:
            problems.append(f"duplicate panel id {p.get('id')}")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            problems.append(f"panel {p.get('title')!r} has no gridPos")
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {p.get('title')!r} does not use ${{datasource}}")
        if not p.get("targets"):
            problems.append(f"panel {p.get('title')!r} has no query")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                problems.append(f"panel {p.get('title')!r} query {t.get('refId')} does not use ${{datasource}}")
            exprs.append(t["expr"])
    report(not problems, f"dashboard: structure ({len(ids)} panels, schemaVersion {dash.get('schemaVersion')})",
           "\n".join(problems))
    REFERENCED["dashboard"] = exprs
    bad = set().union(*(unknown_metrics(e) for e in exprs))
    report(not bad, "dashboard: metric names are in the /metrics contract", "unknown: " + ", ".join(sorted(bad)))
    # Grafana variables replaced by sample values so that promtool can parse the PromQL.
    with open(os.path.join(scratch, "dashboard-exprs.rules.yml"), "w") as out:
        out.write("groups:\n  - name: dashboard-exprs\n    rules:\n")
        for i, e in enumerate(exprs):
            e = (e.replace("$__rate_interval", "5m").replace("$__range", "6h")
                  .replace("$__interval", "1m").replace("$instance", ".*"))
            out.write(f"      - record: dashboard:expr_{i}\n        expr: {json.dumps(e)}\n")


@guarded("live /metrics: loads")
def live_metrics():
    path = os.environ.get("METRICS_FILE")
    if not path:
        return
    exported = set()
    for line in open(path):
        m = re.match(r"# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ", line) or re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", line)
        if m:
            exported.add(m.group(1))
    histograms = {line.split()[2] for line in open(path) if line.startswith("# TYPE ") and line.split()[3:4] == ["histogram"]}
    report(set(CONTRACT) <= exported, f"live /metrics: exports the whole contract ({len(exported)} names)",
           "missing: " + ", ".join(sorted(set(CONTRACT) - exported)))
    report(HISTOGRAMS <= histograms, "live /metrics: the duration is a histogram", "histograms: " + ", ".join(sorted(histograms)))
    for what, exprs in sorted(REFERENCED.items()):
        names = set()
        for e in exprs:
            names |= set(re.findall(r"\bvanguard_[a-z0-9_]+", e))
        missing = {n for n in names if n not in exported}
        report(not missing, f"live /metrics: all {len(names)} metrics the {what} use are exported",
               "not in the scrape: " + ", ".join(sorted(missing)))

def dockerfile_runtime():
    """ENV, USER and HEALTHCHECK of the Dockerfile's runtime stage."""
    text = open(os.path.join(deploy, "..", "Dockerfile")).read().replace("\\\n", " ")
    stage = text[text.index(" AS runtime"):]
    env = {}
    for line in stage.splitlines():
        if line.startswith("ENV "):
            env.update(re.findall(r"([A-Z_]+)=(\S+)", line))
    user = re.search(r"^USER (\S+)", stage, re.M).group(1)
    health = json.loads(re.search(r"^HEALTHCHECK .*CMD (\[.*\])", stage, re.M).group(1))
    return env, user, health

IMAGE_ENV, IMAGE_USER, IMAGE_HEALTH = dockerfile_runtime()
FACTS = {}
STOP = {}  # role -> (stopTimeout s, worst-case shutdown ms)

FARGATE_MEMORY = {"256": range(512, 2049, 512), "512": range(1024, 4097, 1024),
                  "1024": range(2048, 8193, 1024), "2048": range(4096, 16385, 1024),
                  "4096": range(8192, 30721, 1024)}

def ecs_invariants(name, role):
    td = load_json(f"ecs/{name}")
    c = td["containerDefinitions"][0]
    env = {e["name"]: e["value"] for e in c.get("environment", [])}
    p = []
    if td.get("networkMode") != "awsvpc" or td.get("requiresCompatibilities") != ["FARGATE"]:
        p.append("must be FARGATE / awsvpc")
    if int(td["memory"]) not in FARGATE_MEMORY.get(td["cpu"], ()):
        p.append(f"cpu {td['cpu']} / memory {td['memory']} is not a Fargate combination")
    if td.get("runtimePlatform") != {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}:
        p.append("runtimePlatform must be LINUX/X86_64")
    if c.get("user") != "10001:10001" or c.get("readonlyRootFilesystem") is not True:
        p.append("must run as 10001:10001 with a read-only root filesystem")
    if c.get("entryPoint") != ["/app/server"]:
        p.append("entryPoint must be /app/server (the image has no ENTRYPOINT)")
    if env.get("VANGUARD_ENV") != "production":
        p.append("VANGUARD_ENV must be production")
    if not env.get("VANGUARD_STORAGE_URL", "").startswith("s3://"):
        p.append("VANGUARD_STORAGE_URL must be s3:// (read-only root filesystem)")
    secrets = {s["name"] for s in c.get("secrets", [])}
    if secrets != {"DATABASE_URL", "VANGUARD_MASTER_KEY", "VANGUARD_JWT_SECRET"}:
        p.append(f"secrets must be DATABASE_URL, VANGUARD_MASTER_KEY, VANGUARD_JWT_SECRET, got {sorted(secrets)}")
    if secrets & set(env):
        p.append("a secret is also set as plain environment")
    if any(not s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in c.get("secrets", [])):
        p.append("secrets must come from Secrets Manager ARNs")
    if c.get("logConfiguration", {}).get("logDriver") != "awslogs":
        p.append("logDriver must be awslogs")
    # Worst-case shutdown after SIGTERM (server/src/startup.rs, serve.rs, cli.rs):
    # web = drain delay + shutdown timeout (in-flight requests and in-process
    # workers share it); worker = shutdown timeout.
    stop = c.get("stopTimeout", 30)
    drain_ms = int(env.get("VANGUARD_DRAIN_DELAY_MS", IMAGE_ENV["VANGUARD_DRAIN_DELAY_MS"]))
    shutdown_ms = int(env.get("VANGUARD_SHUTDOWN_TIMEOUT_MS", IMAGE_ENV["VANGUARD_SHUTDOWN_TIMEOUT_MS"]))
    if role == "web":
        budget_ms = drain_ms + shutdown_ms
    else:
        budget_ms = shutdown_ms
    if not budget_ms / 1000 < stop <= 120:
        p.append(f"stopTimeout {stop}s must exceed the worst-case shutdown {budget_ms}ms and be <= 120")
    STOP[role] = (stop, budget_ms)
    if role == "web":
        ports = [m["containerPort"] for m in c.get("portMappings", [])]
        if ports != [3000]:
            p.append(f"web must map exactly port 3000, got {ports}")
        if env.get("LEPTOS_SITE_ADDR") != "0.0.0.0:3000":
            p.append("LEPTOS_SITE_ADDR must be 0.0.0.0:3000")
        if c.get("command") != ["serve"]:
            p.append("web command must be [serve]")
        hc = c.get("healthCheck", {})
        if hc.get("command") != ["CMD", "/app/server", "healthcheck"]:
            p.append("healthCheck must run /app/server healthcheck")
        interval, timeout = hc.get("interval", 30), hc.get("timeout", 5)
        if not (5 <= interval <= 300 and 2 <= timeout <= 60 and timeout < interval
                and 1 <= hc.get("retries", 3) <= 10 and 0 <= hc.get("startPeriod", 0) <= 300):
            p.append("healthCheck interval/timeout/retries/startPeriod out of ECS limits")
    else:
        if c.get("portMappings"):
            p.append("worker must not map ports")
        if c.get("command") != ["worker"]:
            p.append("worker command must be [worker]")
    report(not p, f"ecs: {name} invariants", "\n".join(p))

for name, role in (("task-definition.json", "web"), ("worker-task-definition.json", "worker")):
    guarded(f"ecs: {name} loads")(lambda: ecs_invariants(name, role))

@guarded("shutdown budgets and health checks: load")
def budgets():
    p = []
    if IMAGE_USER != "10001:10001":
        p.append(f"Dockerfile USER is {IMAGE_USER}, the task definitions run 10001:10001")
    web = load_json("ecs/task-definition.json")["containerDefinitions"][0]
    if ["CMD"] + IMAGE_HEALTH != web.get("healthCheck", {}).get("command"):
        p.append(f"the task definition's healthCheck differs from the Dockerfile's HEALTHCHECK {IMAGE_HEALTH}")
    tfdir = os.path.join(deploy, "terraform")
    tf = "\n".join(open(os.path.join(tfdir, f)).read() for f in sorted(os.listdir(tfdir)) if f.endswith(".tf"))
    tg = re.search(r'resource "aws_lb_target_group" "web" \{(.*?)\n\}', tf, re.S)
    if not tg:
        p.append('terraform: no aws_lb_target_group "web"')
    else:
        delay = re.search(r"deregistration_delay\s*=\s*(\d+)", tg.group(1))
        path = re.search(r'path\s*=\s*"([^"]+)"', tg.group(1))
        stop, budget_ms = STOP.get("web", (None, None))
        FACTS["deregistration"] = delay.group(1) if delay else "?"
        if not delay:
            p.append("terraform: the web target group must set deregistration_delay (a literal)")
        elif stop is not None and not int(delay.group(1)) < stop:
            p.append(f"ALB deregistration_delay {delay.group(1)}s must be < stopTimeout {stop}s")
        if not path or path.group(1) != "/health/ready":
            p.append("terraform: the target group must probe /health/ready")
    railway = load_json("../railway.json")["deploy"]
    _, budget_ms = STOP.get("web", (None, None))
    if budget_ms is not None and not railway.get("drainingSeconds", 0) > budget_ms / 1000:
        p.append(f"railway.json drainingSeconds {railway.get('drainingSeconds')} must exceed {budget_ms}ms")
    if railway.get("healthcheckPath") != "/health/ready":
        p.append("railway.json healthcheckPath must be /health/ready")
    web_stop, web_budget = STOP.get("web", ("?", 0))
    report(not p, f"budgets: web stopTimeout {web_stop}s > drain + shutdown {web_budget / 1000:g}s, "
           f"ALB deregistration {FACTS.get('deregistration')}s < stopTimeout, Railway drainingSeconds "
           f"{railway.get('drainingSeconds')}s; Dockerfile, task definition and target group health checks agree",
           "\n".join(p))

@guarded("terraform: references resolve (offline)")
def terraform_refs():
    """What `terraform validate` would catch first, without the providers:
    every resource, data source, variable and local that is referenced is
    declared (and every declared variable is used)."""
    tfdir = os.path.join(deploy, "terraform")
    text = ""
    for name in sorted(os.listdir(tfdir)):
        if name.endswith(".tf"):
            text += open(os.path.join(tfdir, name)).read() + "\n"
    code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    resources = set(re.findall(r'^resource "([a-z0-9_]+)" "([a-z0-9_]+)"', code, re.M))
    datas = set(re.findall(r'^data "([a-z0-9_]+)" "([a-z0-9_]+)"', code, re.M))
    variables = set(re.findall(r'^variable "([a-z0-9_]+)"', code, re.M))
    local_names = set()
    for block in re.findall(r"^locals \{\n(.*?)^\}", code, re.M | re.S):
        local_names |= set(re.findall(r"^  ([a-z0-9_]+)\s*=", block, re.M))
    p = []
    for t, n in set(re.findall(r"(?<![\w.\"])((?:aws|random)_[a-z0-9_]+)\.([a-z0-9_]+)", code)):
        if (t, n) not in resources:
            p.append(f"undeclared resource {t}.{n}")
    for t, n in set(re.findall(r"\bdata\.([a-z0-9_]+)\.([a-z0-9_]+)", code)):
        if (t, n) not in datas:
            p.append(f"undeclared data source {t}.{n}")
    used_vars = set(re.findall(r"\bvar\.([a-z0-9_]+)", code))
    p += [f"undeclared variable {v}" for v in sorted(used_vars - variables)]
    p += [f"unused variable {v}" for v in sorted(variables - used_vars)]
    p += [f"undeclared local {v}" for v in sorted(set(re.findall(r"\blocal\.([a-z0-9_]+)", code)) - local_names)]
    report(not p, f"terraform: {len(resources)} resources, {len(datas)} data sources, {len(variables)} variables: "
           "every reference is declared (offline; not terraform validate)", "\n".join(sorted(p)))

try:
    import botocore.session
    from botocore.validate import ParamValidator
except ImportError:
    print("SKIP  ecs: API model check (botocore missing: pip install botocore)")
    skips += 1
else:
    shape = (botocore.session.get_session().get_service_model("ecs")
             .operation_model("RegisterTaskDefinition").input_shape)
    for name in ("task-definition.json", "worker-task-definition.json"):
        @guarded(f"ecs: {name} loads")
        def model():
            result = ParamValidator().validate(load_json(f"ecs/{name}"), shape)
            report(not result.has_errors(),
                   f"ecs: {name} matches the RegisterTaskDefinition API model (botocore {botocore.__version__})",
                   result.generate_report() if result.has_errors() else "")

with open(os.path.join(scratch, "python-counts"), "w") as f:
    f.write(f"{failures} {skips}\n")
PY
py_rc=$?
if [ "$py_rc" -ne 0 ]; then
    fail "python checks crashed (exit $py_rc)"
else
    read -r py_failures py_skips < "$SCRATCH/python-counts"
    failures=$((failures + py_failures))
    skips=$((skips + py_skips))
fi

# --- promtool -------------------------------------------------------------------
if have promtool; then
    run "promtool check rules prometheus/alerts.yml" promtool check rules "$DEPLOY/prometheus/alerts.yml"
    run "promtool test rules prometheus/alerts.test.yml" \
        bash -c 'cd "$1/prometheus" && promtool test rules alerts.test.yml' _ "$DEPLOY"
    if [ -f "$SCRATCH/dashboard-exprs.rules.yml" ]; then
        run "promtool parses every dashboard query" promtool check rules "$SCRATCH/dashboard-exprs.rules.yml"
    fi
else
    skip "promtool (Debian: apt-get install prometheus; or a Prometheus release tarball)"
fi

# --- terraform -----------------------------------------------------------------
if have terraform; then
    run "terraform fmt -check" terraform fmt -check -recursive -diff "$DEPLOY/terraform"
    # Work on a scratch copy so no .terraform/ or lock file lands in the repository.
    cp -r "$DEPLOY/terraform" "$DEPLOY/ecs" "$SCRATCH/"
    init_args=(-backend=false -input=false -no-color)
    # The registry is unreachable on the CI machines; this one has a mirror
    # of hashicorp/aws there (the module needs no other provider).
    if [ -z "${TF_PLUGIN_DIR:-}" ] && [ -d /opt/tf-plugins ]; then TF_PLUGIN_DIR=/opt/tf-plugins; fi
    [ -n "${TF_PLUGIN_DIR:-}" ] && init_args+=(-plugin-dir="$TF_PLUGIN_DIR")
    if init_out="$(cd "$SCRATCH/terraform" && TF_IN_AUTOMATION=1 terraform init "${init_args[@]}" 2>&1)"; then
        run "terraform validate" bash -c 'cd "$1" && terraform validate -no-color' _ "$SCRATCH/terraform"
        run "terraform test (mocked AWS provider)" bash -c 'cd "$1" && terraform test -no-color' _ "$SCRATCH/terraform"
    else
        skip "terraform init failed (no registry access? set TF_PLUGIN_DIR to a provider mirror): validate and test not run"
        printf '%s\n' "$init_out" | grep -i error | head -3 | sed 's/^/      /'
    fi
else
    skip "terraform (not installed: https://developer.hashicorp.com/terraform/install)"
fi

echo
echo "failures: $failures, skipped: $skips"
if [ "$failures" -gt 0 ]; then
    exit 1
fi
if [ "$STRICT" = "1" ] && [ "$skips" -gt 0 ]; then
    echo "STRICT=1: skipped checks count as failures"
    exit 1
fi
exit 0
