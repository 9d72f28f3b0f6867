"""docs/benchmarks.md and docs/benchmarks.png from .bench/results.json.

    python -m bench.report [results.json]

Only the part of docs/benchmarks.md between the two `bench:` comment lines is rewritten; the
hand-written analysis around it (profiling, before/after, conditions) is kept.
"""

import json
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOC = BASE_DIR / "docs" / "benchmarks.md"
CHART = BASE_DIR / "docs" / "benchmarks.png"
BEGIN = "<!-- bench:begin (written by bench/report.py; edit outside these lines) -->"
END = "<!-- bench:end -->"

ROWS = [
    ("static", "nginx: static file, home-page size (reference)"),
    ("home", "Home (anonymous, through the microcache)"),
    ("shop_list", "Shop list (anonymous)"),
    ("shop_popular", "Shop page, 100 popular shops (anonymous)"),
    ("shop_detail", "Shop page, random among all 3,200 shops (anonymous, each visited before)"),
    ("bare", "Bare Django view, signed in (reference)"),
    ("mypage", "My page, signed in"),
    ("login_argon2", "Login, Argon2id (configured)"),
    ("login_pbkdf2", "Login, PBKDF2 (Django default)"),
    ("wave_round_page", "Wave: GET round page (public, reloaded until open)"),
    ("wave_confirm", "Wave: POST confirmation (order)"),
    ("pay: GET order pay", "Payments: GET pay (to provider)"),
    ("pay: POST sandbox card", "Payments: POST sandbox card page"),
    ("pay: GET return", "Payments: GET payment return"),
]


def ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def targets(r: dict) -> list[tuple[str, str, str, bool]]:
    e, db = r["endpoints"], r["database"]
    static = e["static"]["rps"]
    h = r["hashers"]
    front_ratio = ratio(
        e["login_argon2"]["logins_per_second"], e["login_pbkdf2"]["logins_per_second"]
    )
    front_cpu_ratio = ratio(server_ms(e["login_pbkdf2"]), server_ms(e["login_argon2"]))
    fivexx = sum(
        n for ep in e.values() for s, n in ep.get("statuses", {}).items() if s.startswith("5")
    )
    leaks = leak_count(r)
    rows = [
        (
            f"{label} ≥ 0.5 × static file",
            f"{e[key]['rps']:,.0f} / {static:,.0f} req/s",
            f"{ratio(e[key]['rps'], static):.2f}",
            ratio(e[key]["rps"], static) >= 0.5,
        )
        for key, label in (
            ("home", "Home"),
            ("shop_list", "Shop list"),
            ("shop_popular", "Shop page, popular shops"),
            ("shop_detail", "Shop page, any of 3,200"),
        )
        if key in e
    ]
    rows += [
        (
            "My page ≥ 0.5 × bare Django view",
            f"{e['mypage']['rps']:,.0f} / {e['bare']['rps']:,.0f} req/s",
            f"{ratio(e['mypage']['rps'], e['bare']['rps']):.2f}",
            ratio(e["mypage"]["rps"], e["bare"]["rps"]) >= 0.5,
        ),
        (
            "≥ 200 purchases per second",
            f"{db['orders']:,} orders in {db['last_order_after_opening_s']:.1f} s after opening",
            f"{db['purchases_per_second']:.0f}/s",
            db["purchases_per_second"] >= 200,
        ),
        (
            "Budget overshoot 0",
            f"¥{db['amount_raised']:,} of ¥{db['budget']:,} (orders hold ¥{db['held_by_orders']:,})",
            f"¥{max(db['overshoot'], db['orders_overshoot']):,}",
            db["overshoot"] == 0 and db["orders_overshoot"] == 0,
        ),
        (
            "Per-person cap violations 0",
            f"max held by one supporter ¥{db['max_held_by_one_person']:,}",
            str(db["person_cap_violations"] + db["application_cap_violations"]),
            db["person_cap_violations"] + db["application_cap_violations"] == 0,
        ),
        (
            "Logins ≥ 10 × PBKDF2: in-process, CPU per check",
            f"{h['configured']['cpu_seconds_per_check'] * 1000:.0f} ms against "
            f"{h['pbkdf2']['cpu_seconds_per_check'] * 1000:.0f} ms "
            f"({h['configured']['per_second']:,.1f} against {h['pbkdf2']['per_second']:,.2f} checks/s measured)",
            f"{ratio(h['pbkdf2']['cpu_seconds_per_check'], h['configured']['cpu_seconds_per_check']):.0f}×",
            ratio(h["pbkdf2"]["cpu_seconds_per_check"], h["configured"]["cpu_seconds_per_check"])
            >= 10,
        ),
        (
            "Logins ≥ 10 × PBKDF2: through the front, server CPU per login",
            f"{server_ms(e['login_argon2']):.0f} ms against {server_ms(e['login_pbkdf2']):.0f} ms",
            f"{front_cpu_ratio:.1f}×",
            front_cpu_ratio >= 10,
        ),
        (
            "Logins ≥ 10 × PBKDF2: through the front, logins per second",
            f"{e['login_argon2']['logins_per_second']:,.1f} against "
            f"{e['login_pbkdf2']['logins_per_second']:,.2f} logins/s",
            f"{front_ratio:.1f}×",
            front_ratio >= 10,
        ),
        *(
            (
                f"{label} at the opening: p50 through the front ≤ 1.5 × straight to gunicorn",
                f"{e[key + '_front']['p50_ms']:,.0f} ms against "
                f"{e[key + '_direct']['p50_ms']:,.0f} ms ({e[key + '_front']['connections']} "
                "at once)",
                f"{ratio(e[key + '_front']['p50_ms'], e[key + '_direct']['p50_ms']):.2f}×",
                ratio(e[key + "_front"]["p50_ms"], e[key + "_direct"]["p50_ms"]) <= 1.5,
            )
            for key, label in (("login_page", "Sign-in page"), ("signup_page", "Sign-up page"))
            if key + "_front" in e
        ),
        ("No 5xx", "all phases", str(fivexx), fivexx == 0),
        (
            "Leaks 0",
            "every signed-in body checked for other supporters' markers",
            str(leaks),
            leaks == 0,
        ),
    ]
    return rows


def leak_count(r: dict) -> int:
    outcomes = r["leaks"]["outcomes"]
    return sum(n for k, n in outcomes.items() if "LEAK" in k)


def server_ms(e: dict, requests: int | None = None) -> float:
    """CPU milliseconds the serving processes (gunicorn, nginx, task worker, PostgreSQL
    backends of the bench database) spent per request in this phase."""
    n = requests if requests is not None else e["requests"]
    return sum(e.get("server_cpu_s", {}).values()) * 1000 / n if n else 0.0


def table(r: dict) -> str:
    lines = [
        "| Endpoint | Tool, concurrency | Requests | req/s | p50 ms | p95 ms | p99 ms | Statuses | Server CPU ms/req | Generator CPU | Machine busy |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for key, label in ROWS:
        e = r["endpoints"].get(key)
        if not e:
            continue
        conc = (
            f"wrk, {e['connections']} conn."
            if e["tool"] == "wrk"
            else f"locust, {e['users']} users"
        )
        statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(e["statuses"].items()))
        if e.get("socket_errors"):
            statuses += f"; socket errors {e['socket_errors']}"
        lines.append(
            f"| {label} | {conc} | {e['requests']:,} | {e['rps']:,.0f} | {e['p50_ms']:.1f} | "
            f"{e['p95_ms']:.1f} | {e['p99_ms']:.1f} | {statuses} | "
            f"{'see below' if key.startswith(('pay', 'wave')) else f'{server_ms(e):.1f}'} | "
            f"{e['generator_cpu_share']:.0%} | {e['machine_cpu_busy']:.0%} |"
        )
    return "\n".join(lines)


def chart(r: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    keys = [k for k, _ in ROWS[:7] if k in r["endpoints"]]
    labels = {
        "static": "static file",
        "home": "home",
        "shop_list": "shop list",
        "shop_popular": "shop page\n(popular)",
        "shop_detail": "shop page\n(any of 3,200)",
        "bare": "bare view",
        "mypage": "My page",
    }
    values = [r["endpoints"][k]["rps"] for k in keys]
    colors = ["#999999", "#2b7bba", "#2b7bba", "#2b7bba", "#2b7bba", "#999999", "#d9822b"]
    bars = left.bar([labels[k] for k in keys], values, color=colors[: len(keys)])
    left.bar_label(bars, fmt="%.0f")
    left.set_ylabel("requests per second (log scale)")
    left.set_yscale("log")
    left.set_title("Throughput (grey: references)")
    left.tick_params(axis="x", rotation=20)

    per_second = {int(k): v for k, v in r["database"]["orders_per_second"].items()}
    if per_second:
        xs = list(range(min(per_second), max(per_second) + 1))
        right.bar(xs, [per_second.get(x, 0) for x in xs], color="#2ba84a")
    right.axhline(200, color="#cc3333", linestyle="--", label="target 200/s")
    right.set_xlabel("seconds after the round opened")
    right.set_ylabel("orders created")
    db = r["database"]
    right.set_title(
        f"Purchase wave: ¥{db['amount_raised']:,} of ¥{db['budget']:,}, overshoot ¥{db['overshoot']}"
    )
    right.legend()
    fig.suptitle(f"kaika launch spike, {r['machine']['nproc']} cores ({r['started_at']})")
    fig.tight_layout()
    fig.savefig(CHART, dpi=100)
    plt.close(fig)


def measured_section(r: dict) -> str:
    m, db, h, w = r["machine"], r["database"], r["hashers"], r["wave"]
    target_lines = ["| Target | Measured | Ratio / value | Met |", "|---|---|---:|:---:|"]
    for name, measured, value, met in targets(r):
        target_lines.append(f"| {name} | {measured} | {value} | {'yes' if met else '**no**'} |")
    outcomes = ", ".join(f"{k}: {v:,}" for k, v in sorted(w["outcomes"].items()))
    window = w.get("window_cpu") or {}
    wave_ms = sum(window.get("cpu_s", {}).values()) * 1000 / max(db["orders"], 1)
    warm = r.get("shop_warmup") or {}
    warm_ms = sum(warm.get("server_cpu_s", {}).values()) * 1000 / max(warm.get("pages", 0), 1)
    e_any = r["endpoints"].get("shop_detail", {}).get("rps", 0)
    popular_met = next((met for name, _, _, met in targets(r) if "popular" in name), False)
    popular = (
        "popular pages can (the phase before)"
        if popular_met
        else "nor, in this run, could the popular pages (the phase before: each of them is"
        " rebuilt about every second, and that rendering took the cores from nginx)"
    )
    lifetime = r.get("shop_page_shared_lifetime", 1)
    shop_seconds = r.get("shop_phase_seconds", r["settings"]["phase_seconds"])
    served = cache_statuses(r["endpoints"].get("shop_detail", {}))
    refreshed = (r["endpoints"].get("shop_detail", {}).get("cache") or {}).get("STALE", 0) / max(
        shop_seconds, 1
    )
    steady = warm.get("pages", 0) / max(lifetime, 1)
    any_met = next((met for name, _, _, met in targets(r) if "any of" in name), False)
    app_s = r["endpoints"].get("shop_detail", {}).get("server_cpu_s", {}).get("app", 0)
    if lifetime <= 1:
        lifetime_note = (
            "With a 1-second lifetime a page asked for less than once a second is rendered for"
            " nearly every request, at the rate Django renders pages"
        )
    elif any_met:
        lifetime_note = (
            f"Rendered once every {lifetime} s, the pages left most of the cores to nginx"
            f" ({app_s:.0f} s of app CPU over the phase)"
        )
    else:
        lifetime_note = (
            f"Even rendered once every {lifetime} s, the pages took {app_s:.0f} s of app CPU"
            " over the phase, more than nginx could spare on this machine"
        )
    pay = r.get("payments") or {}
    pay_ms = (
        sum(pay.get("cpu", {}).get("server_cpu_s", {}).values()) * 1000 / max(pay.get("paid", 0), 1)
    )
    return f"""{BEGIN}

## Measured run: {r["started_at"]}

Command: `make bench` (`python -m bench.run`). Machine: {m["nproc"]} cores ({m["cpu_model"]}),
{m["memory_gib"]} GiB memory, Linux {m["kernel"]}, Python {m["python"]}, PostgreSQL
{m["postgres"]}, {m["nginx"]}. Load average before the run {r["load_before"]}, after
{r["load_after"]}. The load generators ran on the same cores as the stack; their CPU share is
in the table (of all cores, over the phase), next to how busy the whole machine was.

Setup took {r["setup_seconds"]} s (bulk_create, one password hash of each kind copied to
every supporter): see bench/setup_data.py for the counts.
Home page: {r["home_bytes"]:,} bytes; the static reference file has the same size.

### Targets

{chr(10).join(target_lines)}

### Per endpoint

{table(r)}

Latency percentiles: wrk's own (HdrHistogram); for locust, computed from every request's
response time recorded in bench/locustfile.py. Throughput for locust phases is requests over
the time from the start of the test to the last response. "Server CPU ms/req" is the CPU time
of the processes serving the benchmark (gunicorn workers, nginx workers, the task worker and the
PostgreSQL backends of the bench database, read from /proc) over the phase, per request; it
does not depend on what else the machine was running.

### Shop pages

Every one of the {warm.get("pages", 0):,} shop pages was first asked for once, by 4 clients
one page after the other: {warm.get("pages_per_second", 0):,.0f} pages/s, {warm_ms:.1f} ms of server CPU
per page (each request renders its page). Then the random phase above, {shop_seconds} s long:
shop pages are kept **{lifetime} s** by the microcache (`s-maxage={lifetime}`, the setting
`KAIKA_SHOP_PAGE_SHARED_MAX_AGE`; every other public page 1 s), so each copy the warm-up made
expired and was rendered again inside the phase, while each page was asked for about every
{warm.get("pages", 0) / max(e_any, 1):.2f} s. How nginx answered (`X-Cache-Status`): {served}.
A `STALE` answer is the previous copy, sent at once while one request renders the page
again (`proxy_cache_background_update`); nginx keeps that client's connection until the
rendering is done. Pages rendered again in the phase: {refreshed:.0f} a second (in a steady
state, {warm.get("pages", 0):,} pages every {lifetime} s would be {steady:.0f} a second; the
warm-up made its copies within {warm.get("seconds", 0):.0f} s, not spread over the lifetime).
{lifetime_note}; {popular}.

### Purchase wave

The round opened at {w["opened_at"]} ({r["settings"]["opens_after_s"]:.0f} s after the wave's
{r["settings"]["wave_users"]} supporters started reloading the round's public page). Each
then posted the confirmation form as soon as the page said the round was open, again and again
until their personal cap or the budget said no (then the next supporter took the seat). Orders:
{db["orders"]:,}; the first {db["first_order_after_opening_s"]:.2f} s and the last
{db["last_order_after_opening_s"]:.2f} s after the opening: **{db["purchases_per_second"]:.0f}
purchases per second** (orders created, each holding its share of the budget). Budget: ¥{db["amount_raised"]:,} raised of
¥{db["budget"]:,} (overshoot ¥{db["overshoot"]}); counters agree with the orders:
{db["counters_match_orders"]}. Supporters with orders: {db["supporters_with_orders"]:,};
the most held by one: ¥{db["max_held_by_one_person"]:,} (cap ¥100,000); per-person cap
violations {db["person_cap_violations"]}, per-application {db["application_cap_violations"]}.
Outcomes seen by the load generator: {outcomes}.
Wave CPU: generator {w["cpu"]["generator_cpu_share"]:.0%} of all cores, machine busy
{w["cpu"]["machine_cpu_busy"]:.0%}. Between the opening and the last order (sampled from
{window.get("from", 0):.1f} s to {window.get("to", 0):.1f} s) the serving processes spent
{", ".join(f"{k} {v:.1f} s" for k, v in sorted(window.get("cpu_s", {}).items()))} of CPU:
**{wave_ms:.1f} ms of CPU per order**, the refused POSTs of that window (personal cap, budget)
counted in. On {m["nproc"]} cores given to nothing else, that is a ceiling of about
{m["nproc"] * 1000 / wave_ms if wave_ms else 0:.0f} orders per second (a projection from CPU
cost alone: it ignores the waits on the hot rows and the load generator's own CPU).

### Payments

Typing a card takes people longer than the budget lasted, so the orders are paid after the
wave, in a phase of their own ({pay.get("users", 0)} clients): each goes our site → the
sandbox provider's hosted card page → the signed return, which marks the order paid, issues
its tickets and queues the email. {pay.get("paid", 0):,} of {pay.get("orders", 0):,} orders
paid in {pay.get("seconds", 0):.1f} s: **{pay.get("payments_per_second", 0):,.0f} payments per
second**, {pay_ms:.1f} ms of server CPU per payment (its three requests, the task worker's
email included).

### Logins

In-process, one process per core, {h["cores"]} cores: {h["configured"]["algorithm"]}
(Argon2id, kaika.hashers) {h["configured"]["per_second"]:,.1f} checks/s measured,
{h["configured"]["cpu_seconds_per_check"] * 1000:.1f} ms of CPU each ({h["configured"]["per_second_all_cores"]:,.0f}/s
with every core); PBKDF2 ({h["pbkdf2"]["iterations"]:,} iterations) {h["pbkdf2"]["per_second"]:,.2f}
checks/s measured, {h["pbkdf2"]["cpu_seconds_per_check"] * 1000:.0f} ms of CPU each
({h["pbkdf2"]["per_second_all_cores"]:,.1f}/s with every core). Through the front (locust, allauth's
login form, 302 to My page): Argon2id {r["endpoints"]["login_argon2"]["logins_per_second"]:,.1f}
logins/s, PBKDF2 {r["endpoints"]["login_pbkdf2"]["logins_per_second"]:,.2f} logins/s (each PBKDF2
login also re-hashes the password with Argon2id, as Django upgrades it on first login).

### Leaks

{leak_count(r)} leaks. Checked bodies: {", ".join(f"{k}: {v:,}" for k, v in sorted(r["leaks"]["outcomes"].items()) if "checked" in k or "LEAK" in k or "missing" in k)}.

![Throughput and purchase wave](benchmarks.png)

{END}"""


def cache_statuses(endpoint: dict) -> str:
    """`HIT 97.1%, STALE 2.9%`: how the front answered a phase's requests."""
    counts = endpoint.get("cache") or {}
    total = sum(counts.values())
    if not total:
        return "not recorded in this run"
    return ", ".join(
        f"{what} {n / total:.1%} ({n:,})"
        for what, n in sorted(counts.items(), key=lambda item: -item[1])
    )


def write(results: dict) -> None:
    chart(results)
    section = measured_section(results)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"[bench] wrote {DOC} and {CHART}", flush=True)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else BASE_DIR / ".bench" / "results.json"
    write(json.loads(path.read_text()))
