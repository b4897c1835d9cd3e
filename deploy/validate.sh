#!/usr/bin/env bash
# Validate the operator artifacts in deploy/ with whatever tools are present.
#
#   bash deploy/validate.sh            # from anywhere
#   STRICT=1 bash deploy/validate.sh   # a missing tool is a failure too (CI)
#   TF_PLUGIN_DIR=/path bash deploy/validate.sh   # offline provider mirror for terraform init
#
# Always (python3): every *.json parses (json.tool); every *.yml parses (PyYAML);
# the metric names used by the alerts and the dashboard are in the contract;
# dashboard structure; ECS task definitions against invariants (and against
# the ECS API model when botocore is installed).
# With promtool: `check rules`, `test rules` (alerts.test.yml), and the
# dashboard's PromQL parsed as rules. With terraform: fmt, init (in a scratch
# copy; nothing is written into deploy/terraform), validate, test (mocked AWS).
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
skip() { printf 'SKIP  %s\n' "$1"; skips=$((skips + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }

# run NAME CMD...: run a check, show its output indented only when it fails.
run() {
    local name="$1"; shift
    local out
    if out="$("$@" 2>&1)"; then
        pass "$name"
    else
        fail "$name"
        # Blank, repeated and box-drawing-only lines and Terraform's CLI-config
        # warning dropped; long lines cut.
        printf '%s\n' "$out" \
            | grep -v -e 'CLI configuration' -e 'terraformrc' -e '^[[:space:]╷╵│]*$' \
            | awk '!seen[$0]++' | cut -c1-200 | head -n 40 | sed 's/^/      /'
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
    bad = set().union(*(unknown_metrics(e) for e in exprs))
    report(not bad, "dashboard: metric names are in the /metrics contract", "unknown: " + ", ".join(sorted(bad)))
    # Grafana variables replaced by sample values so that promtool can parse the PromQL.
    with open(os.path.join(scratch, "dashboard-exprs.rules.yml"), "w") as out:
        out.write("groups:\n  - name: dashboard-exprs\n    rules:\n")
        for i, e in enumerate(exprs):
            e = (e.replace("$__rate_interval", "5m").replace("$__range", "6h")
                  .replace("$__interval", "1m").replace("$instance", ".*"))
            out.write(f"      - record: dashboard:expr_{i}\n        expr: {json.dumps(e)}\n")

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
    drain_ms = int(env.get("VANGUARD_DRAIN_DELAY_MS", "5000"))  # the image's defaults
    shutdown_ms = int(env.get("VANGUARD_SHUTDOWN_TIMEOUT_MS", "20000"))
    if role == "web":
        budget_ms = drain_ms + shutdown_ms
    else:
        budget_ms = shutdown_ms
    if not budget_ms / 1000 < stop <= 120:
        p.append(f"stopTimeout {stop}s must exceed the worst-case shutdown {budget_ms}ms and be <= 120")
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
